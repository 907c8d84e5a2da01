// Command worker is a Sluice worker process for the fault-injection tests in test/chaos. It
// works the "chaos.work" job type and appends every handler start and end to a history file
// (one JSON line per event), which the tests' checker reads after killing, pausing and
// restarting workers.
//
// It is configured by environment variables:
//
//	CHAOS_DATABASE_URL  the store's URL
//	CHAOS_HISTORY       the history file
//	CHAOS_CONCURRENCY   jobs at once (default 8)
//	CHAOS_LEASE         Config.LeaseDuration (default 1s)
//	CHAOS_POLL          Config.PollInterval (default 50ms)
//	CHAOS_RESCUE        Config.RescueInterval (default 100ms)
//	CHAOS_CANCEL_GRACE  Config.CancelGrace (default the engine's)
//	CHAOS_BACKOFF       the wait before a failed job's next attempt (default 0)
//	CHAOS_STOP_GRACE    how long a SIGTERM waits for running jobs before cancelling them
//	                    (default 10s)
//	CHAOS_CLOCK_SKEW    moves this process's clock (internal/clock) by a duration: "+10m"
//	CHAOS_DB_CLOCK      "1": read the database clock as each handler starts, into the history
//
// Logs go to stderr as JSON, at debug level.
//
// With CHAOS_MODE=enqueue it is a producer instead: it enqueues batches of ten quick chaos
// jobs into the app CHAOS_APP for as long as it lives, pausing CHAOS_ENQUEUE_PAUSE (default
// none) between batches, and appends each acknowledged job id to the file CHAOS_ACKS only
// after its enqueue returned. A failed enqueue is logged and tried again with new ids: the
// database may be restarting, and an enqueue whose answer was lost may have committed.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the driver of the SQLite clock reader

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/store/sqlitestore"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	if skew := os.Getenv("CHAOS_CLOCK_SKEW"); skew != "" {
		d, err := time.ParseDuration(skew)
		if err != nil {
			return fmt.Errorf("CHAOS_CLOCK_SKEW: %w", err)
		}
		clock.Skew(d)
	}
	if os.Getenv("CHAOS_MODE") == "enqueue" {
		return enqueueForever()
	}
	history, err := os.OpenFile(os.Getenv("CHAOS_HISTORY"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	rec := &recorder{f: history, pid: os.Getpid()}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := &sluice.Config{
		Queues:         map[string]sluice.QueueConfig{"default": {Concurrency: envInt("CHAOS_CONCURRENCY", 8)}},
		LeaseDuration:  envDuration("CHAOS_LEASE", time.Second),
		PollInterval:   envDuration("CHAOS_POLL", 50*time.Millisecond),
		RescueInterval: envDuration("CHAOS_RESCUE", 100*time.Millisecond),
		CancelGrace:    envDuration("CHAOS_CANCEL_GRACE", 0),
		Logger:         logger,
	}
	ctx := context.Background()
	client, err := sluice.Open(ctx, os.Getenv("CHAOS_DATABASE_URL"), cfg)
	if err != nil {
		return err
	}
	if os.Getenv("CHAOS_DB_CLOCK") == "1" {
		if rec.dbNow, err = dbClock(client); err != nil {
			return err
		}
	}
	backoff := envDuration("CHAOS_BACKOFF", 0)
	sluice.Handle(client, "chaos.work", func(ctx context.Context, job *sluice.Job, a event.Args) error {
		rec.start(ctx, job)
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
				rec.end(ctx, job)
				return ctx.Err()
			}
		}
		rec.end(ctx, job)
		if job.Attempts <= a.FailAttempts || (a.FailUnlessReplayed && job.ReplayedFrom == nil) {
			return fmt.Errorf("chaos: attempt %d fails on purpose", job.Attempts)
		}
		return nil
	}, &sluice.TypeOptions{Backoff: func(int) time.Duration { return backoff }})
	if err := client.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, `{"msg":"chaos worker ready"}`)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	fmt.Fprintln(os.Stderr, `{"msg":"chaos worker stopping"}`)
	stopCtx, cancel := context.WithTimeout(ctx, envDuration("CHAOS_STOP_GRACE", 10*time.Second))
	defer cancel()
	err = client.Close(stopCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // a hard stop is an expected outcome of a grace period that ran out
	}
	return err
}

type recorder struct {
	mu    sync.Mutex
	f     *os.File
	pid   int
	dbNow func(context.Context) (time.Time, error) // nil unless CHAOS_DB_CLOCK=1
}

// start records a handler's start, with the job's times as its claim returned them and, when
// asked for, the database clock.
func (r *recorder) start(ctx context.Context, job *sluice.Job) {
	e := event.Event{Event: "start", RunAt: job.RunAt.UnixNano()}
	if job.StartedAt != nil {
		e.StartedAt = job.StartedAt.UnixNano()
	}
	if r.dbNow != nil {
		now, err := r.dbNow(context.WithoutCancel(ctx))
		if err != nil {
			// The checker insists on the reading: a start without one fails the test.
			fmt.Fprintf(os.Stderr, "{\"msg\":\"chaos: reading the database clock failed\",\"error\":%q}\n", err)
		} else {
			e.DBAt = now.UnixNano()
		}
	}
	r.record(job, e)
}

// end records a handler's end, with the cause of its context's end if it ended.
func (r *recorder) end(ctx context.Context, job *sluice.Job) {
	e := event.Event{Event: "end"}
	if ctx.Err() != nil {
		e.Cause = context.Cause(ctx).Error()
	}
	r.record(job, e)
}

// record appends one event with a single write, so concurrent processes never interleave.
func (r *recorder) record(job *sluice.Job, e event.Event) {
	e.Job, e.Attempt, e.PID, e.At = job.ID.String(), job.Attempts, r.pid, time.Now().UnixNano()
	line, _ := json.Marshal(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f.Write(append(line, '\n'))
}

// dbClock returns a reader of the database clock: PostgreSQL's clock_timestamp() through the
// store's pool, or SQLite's unixepoch() on a connection of its own to the same file (SQLite's
// clock is the system clock as the SQLite library reads it, which internal/clock never moves).
func dbClock(client *sluice.Client) (func(context.Context) (time.Time, error), error) {
	switch st := client.Store().(type) {
	case *pgstore.Store:
		return func(ctx context.Context) (time.Time, error) {
			var now time.Time
			err := st.Pool().QueryRow(ctx, "SELECT clock_timestamp()").Scan(&now)
			return now, err
		}, nil
	case *sqlitestore.Store:
		db, err := sql.Open("sqlite", st.Path()+"?_pragma="+url.QueryEscape("query_only(1)"))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (time.Time, error) {
			var ms int64
			err := db.QueryRowContext(ctx, "SELECT CAST(round(unixepoch('subsec') * 1000) AS INTEGER)").Scan(&ms)
			return time.UnixMilli(ms), err
		}, nil
	}
	return nil, fmt.Errorf("no database clock for a %T", client.Store())
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
	pause := envDuration("CHAOS_ENQUEUE_PAUSE", 0)
	fmt.Fprintln(os.Stderr, `{"msg":"chaos enqueuer ready"}`)
	for {
		batch := make([]sluice.NewJob, 10)
		for i := range batch {
			batch[i] = sluice.NewJob{App: os.Getenv("CHAOS_APP"), Type: "chaos.work", Payload: event.Args{SleepMs: 1}, MaxAttempts: 5}
		}
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := client.EnqueueMany(callCtx, batch)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "{\"msg\":\"chaos: enqueue failed; trying again\",\"error\":%q}\n", err)
			time.Sleep(50 * time.Millisecond) // the retry's cadence
			continue
		}
		var lines []byte
		for _, r := range res {
			lines = append(lines, r.Job.ID.String()+"\n"...)
		}
		if _, err := acks.Write(lines); err != nil {
			return err
		}
		if pause > 0 {
			time.Sleep(pause) // the enqueue rate, not a synchronisation
		}
	}
}
