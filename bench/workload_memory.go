package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// memoryWorkload is issue 5's workload 8: the peak resident memory of a worker process
// draining jobs at 1,000 concurrency.
func memoryWorkload(ctx context.Context, env *Env) *Section {
	n := env.opts.MemoryJobs
	s := &Section{Title: fmt.Sprintf("8. Memory: peak RSS of the worker process draining %s jobs at 1,000 concurrency", fmtInt(float64(n))),
		About: []string{fmt.Sprintf("The bench inserts %s jobs, then starts itself again as a child process in worker mode (`-worker SYSTEM`), which opens only a worker client, drains them as workload 1 does, and reports; the parent then reads the child's `VmHWM` (peak resident set) and `VmRSS` from /proc/PID/status before letting it exit. Sluice runs at its defaults but for the queue's concurrency (1,000); River tuned with MaxWorkers 1,000; Asynq with Concurrency 1,000. The child's drain rate is shown too.", fmtInt(float64(n)))}}
	systems := env.pick(sysSluiceC1000, sysRiverTuned1000, sysAsynq1000)
	m, notes := runMatrix(ctx, env, "memory", systems, false, func(ctx context.Context, sys System, run int) (map[string]float64, error) {
		return memoryOnce(ctx, env, sys, n)
	})
	rows := m.rows(systems, sysSluiceC1000)
	s.Tables = append(s.Tables, &Table{Columns: []Column{
		{Header: "peak RSS (VmHWM)", Metric: "hwm", Format: fmtMB},
		{Header: "Sluice/peer (peak RSS; < 1 is better)", Metric: "hwm", Ratio: true},
		{Header: "RSS at the end", Metric: "rss", Format: fmtMB},
		{Header: "work jobs/s (child)", Metric: "work", Format: fmtInt},
	}, Rows: rows})
	s.Notes = append(s.Notes, notes...)
	return s
}

// workerReport is what the child worker process prints, as one JSON line, when it has
// drained its jobs.
type workerReport struct {
	Jobs    int     `json:"jobs"`
	Seconds float64 `json:"seconds"`
}

// memoryOnce inserts n jobs, runs a child worker process on them, and reads its memory.
func memoryOnce(ctx context.Context, env *Env, sys System, n int) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	in, err := sys.Open(ctx, env, Spec{Role: RoleProducer})
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer in.Close(context.Background())
	if _, err := insertAll(ctx, in, n); err != nil {
		return nil, err
	}
	if err := env.quiesce(ctx); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-worker", sys.Name, "-worker-db", in.Database(), "-worker-jobs", strconv.Itoa(n),
		"-pg", env.opts.PostgresURL, "-redis", env.opts.RedisAddr)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("worker process: %w", err)
	}
	var rep workerReport
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("worker process said %q: %w", line, err)
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	hwm, rss := procField(status, "VmHWM"), procField(status, "VmRSS")
	if hwm == 0 {
		return nil, errors.New("cannot read the worker's " + status)
	}
	if err := verifyOutcomes(ctx, in, n, false); err != nil {
		return nil, err
	}
	return map[string]float64{
		"hwm":  float64(hwm) / 1024,
		"rss":  float64(rss) / 1024,
		"work": float64(rep.Jobs) / rep.Seconds,
	}, nil
}

// runWorkerProcess is the child side of the memory workload: attach a worker to the
// database, drain the jobs, print a workerReport, and wait for the parent to close stdin
// (so that it can read this process's memory first).
func runWorkerProcess(ctx context.Context, o *Options) error {
	sys, err := systemByName(o.workerSystem)
	if err != nil {
		return err
	}
	env := &Env{opts: o, start: time.Now()}
	handler, calls, done := countingHandler(int64(o.workerJobs), false)
	in, err := sys.Open(ctx, env, Spec{Handler: handler, Role: RoleWorker, Database: o.workerDatabase})
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer in.Close(context.Background())
	start := time.Now()
	if err := in.Start(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("only %d of %d jobs ran: %w", calls.Load(), o.workerJobs, ctx.Err())
	}
	if err := waitFor(ctx, drained(in)); err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := in.Stop(ctx); err != nil {
		return err
	}
	if err := json.NewEncoder(os.Stdout).Encode(workerReport{Jobs: o.workerJobs, Seconds: elapsed.Seconds()}); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}
