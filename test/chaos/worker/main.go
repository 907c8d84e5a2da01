// Command worker is a Sluice worker process for the fault-injection tests in test/chaos. It
// works the "chaos.work" job type and appends every handler start and end to a history file
// (one JSON line per event), which the tests' checker reads after killing, pausing and
// restarting workers.
//
// It is configured by environment variables: CHAOS_DATABASE_URL, CHAOS_HISTORY (the history
// file), CHAOS_CONCURRENCY (default 8), CHAOS_LEASE (default 1s), CHAOS_STOP_GRACE (how long a
// SIGTERM waits for running jobs, default 10s). Logs go to stderr as JSON.
//
// With CHAOS_MODE=enqueue it is a producer instead: it enqueues batches of chaos jobs into
// the app CHAOS_APP for as long as it lives, appending each acknowledged job id to the file
// CHAOS_ACKS only after its enqueue returned.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	if os.Getenv("CHAOS_MODE") == "enqueue" {
		return enqueueForever()
	}
	history, err := os.OpenFile(os.Getenv("CHAOS_HISTORY"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	rec := &recorder{f: history, pid: os.Getpid()}
	lease := envDuration("CHAOS_LEASE", time.Second)
	cfg := &sluice.Config{
		Queues:         map[string]sluice.QueueConfig{"default": {Concurrency: envInt("CHAOS_CONCURRENCY", 8)}},
		LeaseDuration:  lease,
		PollInterval:   50 * time.Millisecond,
		RescueInterval: 100 * time.Millisecond,
		Logger:         slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	ctx := context.Background()
	client, err := sluice.Open(ctx, os.Getenv("CHAOS_DATABASE_URL"), cfg)
	if err != nil {
		return err
	}
	sluice.Handle(client, "chaos.work", func(ctx context.Context, job *sluice.Job, a event.Args) error {
		rec.record(job, "start")
		if a.CrashProcess {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		sleep := a.SleepMs
		if job.Attempts == 1 && a.FirstAttemptSleepMs > 0 {
			sleep = a.FirstAttemptSleepMs
		}
		t := time.NewTimer(time.Duration(sleep) * time.Millisecond)
		if a.IgnoreContext {
			<-t.C
		} else {
			select {
			case <-t.C:
			case <-ctx.Done():
				rec.record(job, "end")
				return ctx.Err()
			}
		}
		rec.record(job, "end")
		if job.Attempts <= a.FailAttempts {
			return fmt.Errorf("chaos: attempt %d fails on purpose", job.Attempts)
		}
		return nil
	}, &sluice.TypeOptions{Backoff: func(int) time.Duration { return 0 }})
	if err := client.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, `{"msg":"chaos worker ready"}`)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	stopCtx, cancel := context.WithTimeout(ctx, envDuration("CHAOS_STOP_GRACE", 10*time.Second))
	defer cancel()
	err = client.Close(stopCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // a hard stop is an expected outcome of a grace period that ran out
	}
	return err
}

type recorder struct {
	mu  sync.Mutex
	f   *os.File
	pid int
}

// record appends one event with a single write, so concurrent processes never interleave.
func (r *recorder) record(job *sluice.Job, what string) {
	line, _ := json.Marshal(event.Event{Job: job.ID.String(), Attempt: job.Attempts, PID: r.pid, Event: what, At: time.Now().UnixNano()})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f.Write(append(line, '\n'))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// enqueueForever enqueues batches of ten quick jobs until the process is killed, recording
// every acknowledged id.
func enqueueForever() error {
	acks, err := os.OpenFile(os.Getenv("CHAOS_ACKS"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	ctx := context.Background()
	client, err := sluice.Open(ctx, os.Getenv("CHAOS_DATABASE_URL"), nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, `{"msg":"chaos enqueuer ready"}`)
	for {
		batch := make([]sluice.NewJob, 10)
		for i := range batch {
			batch[i] = sluice.NewJob{App: os.Getenv("CHAOS_APP"), Type: "chaos.work", Payload: event.Args{SleepMs: 1}, MaxAttempts: 5}
		}
		res, err := client.EnqueueMany(ctx, batch)
		if err != nil {
			return err
		}
		var lines []byte
		for _, r := range res {
			lines = append(lines, r.Job.ID.String()+"\n"...)
		}
		if _, err := acks.Write(lines); err != nil {
			return err
		}
	}
}
