// Package periodic tests periodic schedules across real OS processes: two ticker processes
// (./ticker) share one database and tick one schedule by a fake clock the test moves over
// their stdin, starting at the same moment, one lagging behind the other, and restarting
// after a long gap. Every tick must enqueue exactly one job.
package periodic

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
)

var tickerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-periodic-")
	if err != nil {
		panic(err)
	}
	tickerBin = filepath.Join(dir, "ticker")
	build := exec.Command("go", "build", "-race", "-o", tickerBin, "./ticker")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the ticker:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ticker is one running ticker process.
type ticker struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its stdout, line by line; closed when it exits
}

// startTicker starts a ticker process whose fake clock first reads start.
func startTicker(t *testing.T, name, url, app string, start time.Time) *ticker {
	t.Helper()
	log, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	tk := &ticker{t: t, name: name, cmd: exec.Command(tickerBin), lines: make(chan string, 16)}
	tk.cmd.Env = append(os.Environ(), "PERIODIC_DATABASE_URL="+url, "PERIODIC_APP="+app, "PERIODIC_START="+start.Format(time.RFC3339))
	tk.cmd.Stderr = log
	stdout, err := tk.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if tk.stdin, err = tk.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := tk.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(tk.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			tk.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if tk.cmd.ProcessState == nil {
			tk.cmd.Process.Kill()
			tk.cmd.Wait()
		}
		if t.Failed() {
			raw, _ := os.ReadFile(log.Name())
			t.Logf("%s's log (last 4 KiB):\n%s", name, tail(raw, 4096))
		}
	})
	return tk
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// expect waits for the process to print want.
func (tk *ticker) expect(want string) {
	tk.t.Helper()
	select {
	case line, ok := <-tk.lines:
		if !ok {
			tk.t.Fatalf("%s exited before printing %q", tk.name, want)
		}
		if line != want {
			tk.t.Fatalf("%s printed %q, want %q", tk.name, line, want)
		}
	case <-time.After(2 * time.Minute):
		tk.t.Fatalf("%s did not print %q within 2 minutes", tk.name, want)
	}
}

// send writes one command line.
func (tk *ticker) send(line string) {
	tk.t.Helper()
	if _, err := io.WriteString(tk.stdin, line+"\n"); err != nil {
		tk.t.Fatalf("%s: %v", tk.name, err)
	}
}

// at moves the process's clock to t without waiting for it.
func (tk *ticker) at(t time.Time) string {
	s := t.UTC().Format(time.RFC3339)
	tk.send("at " + s)
	return "ok " + s
}

// quit stops the process and waits for it to exit 0.
func (tk *ticker) quit() {
	tk.t.Helper()
	tk.send("quit")
	for range tk.lines {
	}
	if err := tk.cmd.Wait(); err != nil {
		tk.t.Fatalf("%s: %v", tk.name, err)
	}
}

// TestTwoProcessesTickOnce: two processes tick one every-minute schedule on one database.
// Both start at the same moment; then 24 ticks pass, the two seeing each tick at once or one
// after the other; then both stop, and both start again at once 5 hours later. Each tick
// enqueues exactly one job (their jobs complete at once, so their unique keys are free again:
// only the schedule's last tick keeps a tick from being enqueued twice), and the gap enqueues
// one job for its latest tick and skips the rest (CatchUpLatest).
func TestTwoProcessesTickOnce(t *testing.T) {
	for name, newURL := range map[string]func(testing.TB) string{"postgres": testdb.Postgres, "sqlite": testdb.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := newURL(t)
			client, err := sluice.Open(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close(ctx)
			if _, err := client.Store().MigrateUp(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := client.CreateApp(ctx, "clocks"); err != nil {
				t.Fatal(err)
			}
			// jobs returns the schedule's jobs by unique key, failing on a key seen twice.
			jobs := func() map[string]bool {
				t.Helper()
				page, err := client.ListJobs(ctx, sluice.JobFilter{App: "clocks", Type: "periodic.tick"}, sluice.ListOptions{Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				keys := map[string]bool{}
				for _, j := range page.Items {
					if keys[j.UniqueKey] {
						t.Fatalf("tick %s was enqueued twice", j.UniqueKey)
					}
					keys[j.UniqueKey] = true
				}
				return keys
			}

			t0 := time.Date(2026, 11, 27, 12, 0, 30, 0, time.UTC)
			a := startTicker(t, "a", url, "clocks", t0)
			b := startTicker(t, "b", url, "clocks", t0)
			a.expect("ready")
			b.expect("ready")
			if n := len(jobs()); n != 0 {
				t.Fatalf("%d jobs before the first tick, want 0 (a new schedule starts with its next tick)", n)
			}
			const ticks = 24
			for k := 1; k <= ticks; k++ {
				now := t0.Add(time.Duration(k) * time.Minute)
				switch k % 3 {
				case 0: // together
					wa, wb := a.at(now), b.at(now)
					a.expect(wa)
					b.expect(wb)
				case 1: // a first, b catching up
					a.expect(a.at(now))
					b.expect(b.at(now))
				case 2: // b first, a catching up
					b.expect(b.at(now))
					a.expect(a.at(now))
				}
				keys := jobs()
				if len(keys) != k || !keys[sluice.TickKey("every-minute", now.Truncate(time.Minute))] {
					t.Fatalf("after tick %d (%s): %d jobs, want %d with the tick's key", k, now, len(keys), k)
				}
			}
			a.quit()
			b.quit()

			// Both come back 5 hours later, at the same moment: one job for the latest tick.
			back := t0.Add(ticks*time.Minute + 5*time.Hour)
			a = startTicker(t, "a2", url, "clocks", back)
			b = startTicker(t, "b2", url, "clocks", back)
			a.expect("ready")
			b.expect("ready")
			keys := jobs()
			if len(keys) != ticks+1 || !keys[sluice.TickKey("every-minute", back.Truncate(time.Minute))] {
				t.Fatalf("after a 5h gap: %d jobs, want %d (one for the tick at %s)", len(keys), ticks+1, back.Truncate(time.Minute))
			}
			for k := 1; k <= 3; k++ {
				now := back.Add(time.Duration(k) * time.Minute)
				wa, wb := a.at(now), b.at(now)
				a.expect(wa)
				b.expect(wb)
			}
			if n := len(jobs()); n != ticks+4 {
				t.Fatalf("%d jobs at the end, want %d", n, ticks+4)
			}
			schedules, err := client.Schedules(ctx, "clocks")
			if err != nil || len(schedules) != 1 {
				t.Fatalf("Schedules = %v, %v", schedules, err)
			}
			if s := schedules[0]; s.TicksEnqueued != ticks+4 || s.TicksSkipped != 5*60-1 {
				t.Fatalf("the schedule counts %d enqueued and %d skipped ticks, want %d and %d", s.TicksEnqueued, s.TicksSkipped, ticks+4, 5*60-1)
			}
			a.quit()
			b.quit()
		})
	}
}
