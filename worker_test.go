package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/validate"
)

type countArgs struct {
	N int `json:"n"`
}

var noBackoff = func(int) time.Duration { return 0 }

func TestRetriesThenDeadLetterWithOrderedHistory(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		sluice.Handle(b.client, "flaky", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			return fmt.Errorf("failure on attempt %d", job.Attempts)
		}, &sluice.TypeOptions{MaxAttempts: 3, Backoff: noBackoff})
		b.start(t)
		job := b.enqueue(t, "flaky", countArgs{N: 1})
		dead := b.waitForDead(t, job.ID.String())

		if dead.Attempts != 3 || len(dead.ErrorHistory) != 3 {
			t.Fatalf("attempts %d, history %d; want 3 and 3", dead.Attempts, len(dead.ErrorHistory))
		}
		for i, rec := range dead.ErrorHistory {
			if want := fmt.Sprintf("failure on attempt %d", i+1); rec.Error != want {
				t.Errorf("history[%d] = %q, want %q", i, rec.Error, want)
			}
			if i > 0 && rec.Timestamp < dead.ErrorHistory[i-1].Timestamp {
				t.Errorf("history out of order at %d", i)
			}
		}
		if dead.AppID != b.app.ID || dead.Type != "flaky" || string(dead.Payload) != `{"n": 1}` && string(dead.Payload) != `{"n":1}` {
			t.Errorf("entry lost job fields: %+v", dead)
		}
		if _, err := b.client.GetJob(b.ctx, job.ID); !errors.Is(err, sluice.ErrNotFound) {
			t.Errorf("dead-lettered job still in jobs: %v", err)
		}
	})
}

func TestPermanentErrorSkipsRetries(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		sluice.Handle(b.client, "doomed", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			return sluice.Permanent(errors.New("card declined"))
		}, &sluice.TypeOptions{MaxAttempts: 10})
		b.start(t)
		dead := b.waitForDead(t, b.enqueue(t, "doomed", countArgs{}).ID.String())
		if dead.Attempts != 1 || len(dead.ErrorHistory) != 1 || dead.ErrorHistory[0].Error != "card declined" {
			t.Fatalf("got %+v", dead)
		}
	})
}

func TestUndecodablePayloadIsPermanent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		sluice.Handle(b.client, "typed", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			return nil
		}, &sluice.TypeOptions{MaxAttempts: 10})
		b.start(t)
		dead := b.waitForDead(t, b.enqueue(t, "typed", map[string]string{"n": "not a number"}).ID.String())
		if dead.Attempts != 1 || !strings.Contains(dead.LastError(), "payload does not decode") {
			t.Fatalf("got %+v", dead)
		}
	})
}

func TestPanicIsRecordedWithStack(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		sluice.Handle(b.client, "panicky", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			var m map[string]int
			m["x"] = 1 // nil map write
			return nil
		}, &sluice.TypeOptions{MaxAttempts: 1})
		b.start(t)
		dead := b.waitForDead(t, b.enqueue(t, "panicky", countArgs{}).ID.String())
		msg := dead.LastError()
		if !strings.HasPrefix(msg, "panic: assignment to entry in nil map") || !strings.Contains(msg, "goroutine ") {
			t.Fatalf("panic text lacks value or stack: %q", msg)
		}
		if len(msg) > validate.MaxErrorBytes+validate.MaxStackBytes+1 {
			t.Fatalf("panic text is %d bytes, over the bound", len(msg))
		}
	})
}

func TestHugeDirtyErrorStillReachesTheDLQ(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		huge := strings.Repeat("x\x00\xff", 10<<20/3) // 10 MB with NUL bytes and invalid UTF-8
		sluice.Handle(b.client, "noisy", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			return errors.New(huge)
		}, &sluice.TypeOptions{MaxAttempts: 2, Backoff: noBackoff})
		b.start(t)
		dead := b.waitForDead(t, b.enqueue(t, "noisy", countArgs{}).ID.String())
		if len(dead.ErrorHistory) != 2 {
			t.Fatalf("history has %d entries, want 2", len(dead.ErrorHistory))
		}
		for _, rec := range dead.ErrorHistory {
			if len(rec.Error) > validate.MaxErrorBytes || strings.Contains(rec.Error, "\x00") || !utf8.ValidString(rec.Error) {
				t.Fatalf("error text not cleaned: %d bytes", len(rec.Error))
			}
			if !strings.Contains(rec.Error, "[truncated ") {
				t.Fatalf("truncation marker missing")
			}
		}
	})
}

func TestSnoozeSpendsNoAttempt(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		var runs atomic.Int32
		sluice.Handle(b.client, "sleepy", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			if runs.Add(1) < 3 {
				return sluice.Snooze(0)
			}
			return nil
		}, &sluice.TypeOptions{MaxAttempts: 1})
		b.start(t)
		done := b.waitForStatus(t, b.enqueue(t, "sleepy", countArgs{}), sluice.StatusCompleted)
		if runs.Load() != 3 || done.Attempts != 1 || len(done.ErrorHistory) != 0 {
			t.Fatalf("runs %d, attempts %d, history %d; want 3, 1, 0", runs.Load(), done.Attempts, len(done.ErrorHistory))
		}
	})
}

func TestSnoozeDelaysTheJob(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		snoozed := make(chan struct{})
		sluice.Handle(b.client, "later", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			close(snoozed)
			return sluice.Snooze(time.Hour)
		}, nil)
		b.start(t)
		job := b.enqueue(t, "later", countArgs{})
		<-snoozed
		got := b.waitForStatus(t, job, sluice.StatusPending)
		if got.Attempts != 0 || time.Until(got.RunAt) < 50*time.Minute {
			t.Fatalf("snoozed job: attempts %d, due in %s", got.Attempts, time.Until(got.RunAt))
		}
	})
}

func TestTimeoutFailsTheAttempt(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		sluice.Handle(b.client, "slow", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			<-ctx.Done()
			return ctx.Err()
		}, &sluice.TypeOptions{MaxAttempts: 1, Timeout: 20 * time.Millisecond})
		b.start(t)
		dead := b.waitForDead(t, b.enqueue(t, "slow", countArgs{}).ID.String())
		if !strings.HasPrefix(dead.LastError(), "attempt timed out after 20ms: ") {
			t.Fatalf("got %q", dead.LastError())
		}
	})
}

func TestCancelEndsTheJob(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		sluice.Handle(b.client, "moot", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			return sluice.Cancel(errors.New("order was withdrawn"))
		}, &sluice.TypeOptions{MaxAttempts: 5})
		b.start(t)
		got := b.waitForStatus(t, b.enqueue(t, "moot", countArgs{}), sluice.StatusCancelled)
		if got.LastError != "order was withdrawn" || got.CompletedAt == nil || got.Attempts != 1 {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestRetryWaitsTheBackoff(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		sluice.Handle(b.client, "backoff", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			return errors.New("not yet")
		}, &sluice.TypeOptions{MaxAttempts: 5, Backoff: func(attempts int) time.Duration { return time.Duration(attempts) * time.Hour }})
		b.start(t)
		job := b.enqueue(t, "backoff", countArgs{})
		var got sluice.Job
		waitFor(t, "the first failure", func() bool {
			got, _ = b.client.GetJob(b.ctx, job.ID)
			return got.Status == sluice.StatusPending && got.Attempts == 1
		})
		if got.LastError != "not yet" || time.Until(got.RunAt) < 50*time.Minute {
			t.Fatalf("retry due in %s with last error %q", time.Until(got.RunAt), got.LastError)
		}
	})
}

func TestOnlyRegisteredTypesAreClaimed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		ran := make(chan struct{}, 1)
		sluice.Handle(b.client, "known", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			ran <- struct{}{}
			return nil
		}, nil)
		b.start(t)
		orphan := b.enqueue(t, "unknown", countArgs{})
		b.waitForStatus(t, b.enqueue(t, "known", countArgs{}), sluice.StatusCompleted)
		<-ran
		got, err := b.client.GetJob(b.ctx, orphan.ID)
		if err != nil || got.Status != sluice.StatusPending || got.Attempts != 0 {
			t.Fatalf("a job without a handler was touched: %+v %v", got, err)
		}
	})
}

func TestQueuesHaveTheirOwnConcurrency(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		cfg := fastConfig()
		cfg.Queues = map[string]sluice.QueueConfig{"narrow": {Concurrency: 2}, "default": {Concurrency: 10}}
		b := setup(t, url, cfg)
		var inFlight, peak atomic.Int32
		release := make(chan struct{})
		sluice.Handle(b.client, "gate", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			inFlight.Add(-1)
			return nil
		}, &sluice.TypeOptions{Queue: "narrow"})
		b.start(t)
		var jobs []sluice.Job
		for i := range 6 {
			jobs = append(jobs, b.enqueue(t, "gate", countArgs{N: i}))
		}
		waitFor(t, "two jobs running", func() bool { return inFlight.Load() == 2 })
		// These jobs are slow (they wait for release): none is claimed ahead.
		page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Status: sluice.StatusRunning}, sluice.ListOptions{})
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("running jobs: %d, %v", len(page.Items), err)
		}
		close(release)
		for _, j := range jobs {
			b.waitForStatus(t, j, sluice.StatusCompleted)
		}
		if peak.Load() != 2 {
			t.Fatalf("peak concurrency %d, want 2", peak.Load())
		}
	})
}

func TestStopWaitsForRunningJobs(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		started, release := make(chan struct{}), make(chan struct{})
		sluice.Handle(b.client, "steady", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			close(started)
			<-release
			return nil
		}, nil)
		b.start(t)
		job := b.enqueue(t, "steady", countArgs{})
		<-started
		stopped := make(chan error)
		go func() { stopped <- b.client.Stop(context.Background()) }()
		close(release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		got, _ := b.client.GetJob(b.ctx, job.ID)
		if got.Status != sluice.StatusCompleted {
			t.Fatalf("after a graceful stop the job is %s, want completed", got.Status)
		}
	})
}

func TestHardStopReleasesInterruptedJobs(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		started := make(chan struct{})
		sluice.Handle(b.client, "stubborn", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}, nil)
		b.start(t)
		job := b.enqueue(t, "stubborn", countArgs{})
		<-started
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no grace at all: cancel handlers at once
		if err := b.client.Stop(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Stop = %v, want context.Canceled", err)
		}
		got, _ := b.client.GetJob(b.ctx, job.ID)
		if got.Status != sluice.StatusPending || got.Attempts != 0 || len(got.ErrorHistory) != 0 || got.LeaseExpiresAt != nil {
			t.Fatalf("interrupted job not released cleanly: %+v", got)
		}
	})
}

func TestRestartedClientRunsReleasedJobs(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		var runs atomic.Int32
		sluice.Handle(b.client, "again", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			runs.Add(1)
			return nil
		}, nil)
		b.start(t)
		if err := b.client.Stop(b.ctx); err != nil {
			t.Fatal(err)
		}
		job := b.enqueue(t, "again", countArgs{})
		b.start(t)
		b.waitForStatus(t, job, sluice.StatusCompleted)
		if runs.Load() != 1 {
			t.Fatalf("ran %d times", runs.Load())
		}
	})
}

func TestStartRefusesUnmigratedSchemaAndUnknownQueue(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		c, err := sluice.Open(ctx, url, &sluice.Config{Queues: map[string]sluice.QueueConfig{"default": {}}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if err := c.Start(ctx); err == nil || !strings.Contains(err.Error(), "migrate up") {
			t.Fatalf("Start on an empty database = %v", err)
		}
		if _, err := c.Store().MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		sluice.Handle(c, "elsewhere", func(context.Context, *sluice.Job, countArgs) error { return nil }, &sluice.TypeOptions{Queue: "mail"})
		var fe *sluice.FieldError
		if err := c.Start(ctx); !errors.As(err, &fe) || fe.Field != "Queues" {
			t.Fatalf("Start with a handler on an unconfigured queue = %v", err)
		}
	})
}

func TestQuickJobsAreClaimedAheadAndGivenBackUnstartedOnStop(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		cfg := fastConfig()
		cfg.Queues = map[string]sluice.QueueConfig{"default": {Concurrency: 2}}
		b := setup(t, url, cfg)
		var inFlight, peak atomic.Int32
		release := make(chan struct{})
		sluice.Handle(b.client, "burst", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if a.N >= 100 { // the blocking ones
				<-release
			}
			return nil
		}, nil)
		b.start(t)
		// Quick jobs first, so the client learns they are quick.
		for i := range 10 {
			b.waitForStatus(t, b.enqueue(t, "burst", countArgs{N: i}), sluice.StatusCompleted)
		}
		var blocking []sluice.NewJob
		for i := range 12 {
			blocking = append(blocking, sluice.NewJob{App: b.app.Name, Type: "burst", Payload: countArgs{N: 100 + i}})
		}
		if _, err := b.client.EnqueueMany(b.ctx, blocking); err != nil {
			t.Fatal(err)
		}
		// Two run; six more are claimed ahead (four per slot in all); four stay pending.
		waitFor(t, "eight jobs held", func() bool {
			page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Status: sluice.StatusRunning}, sluice.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Items) == 8 && inFlight.Load() == 2
		})
		stopped := make(chan error)
		go func() { stopped <- b.client.Stop(context.Background()) }()
		// The six waiting for a slot are given back as the client stops, before the running two end.
		waitFor(t, "the jobs claimed ahead to be given back", func() bool {
			page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Status: sluice.StatusPending}, sluice.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Items) == 10
		})
		close(release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if peak.Load() > 2 {
			t.Fatalf("%d handlers ran at once with concurrency 2", peak.Load())
		}
		page, _ := b.client.ListJobs(b.ctx, sluice.JobFilter{Status: sluice.StatusPending}, sluice.ListOptions{})
		for _, j := range page.Items {
			if j.Attempts != 0 || len(j.ErrorHistory) != 0 {
				t.Fatalf("a job given back unstarted spent an attempt: %+v", j)
			}
		}
		done, _ := b.client.ListJobs(b.ctx, sluice.JobFilter{Status: sluice.StatusCompleted}, sluice.ListOptions{})
		if len(page.Items) != 10 || len(done.Items) != 12 {
			t.Fatalf("%d pending and %d completed, want 10 and 12", len(page.Items), len(done.Items))
		}
	})
}
