package sluice_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
)

// TestCancelRunningJob cancels a job while its handler runs, from another client (as
// `sluice serve` or the CLI would), end to end. The worker's heartbeat is an hour apart, so
// only the notice (NOTIFY on PostgreSQL, this process's notices on SQLite) can tell it: a
// broken notice path hangs the test into its deadline instead of passing late.
func TestCancelRunningJob(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		cfg := fastConfig()
		cfg.LeaseDuration = 3 * time.Hour
		cfg.HeartbeatInterval = time.Hour
		b := setup(t, url, cfg)
		started := make(chan struct{})
		var cause atomic.Value
		sluice.Handle(b.client, "long", func(ctx context.Context, job *sluice.Job, _ struct{}) error {
			close(started)
			<-ctx.Done()
			cause.Store(context.Cause(ctx))
			return ctx.Err()
		}, &sluice.TypeOptions{Timeout: 2 * time.Hour}) // the cause reaches through the attempt's timeout
		b.start(t)
		job := b.enqueue(t, "long", struct{}{})
		<-started

		operator, err := sluice.Open(b.ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { operator.Close(context.Background()) })
		marked, err := operator.CancelJob(b.ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if marked.Status != sluice.StatusRunning || marked.CancelRequestedAt == nil {
			t.Fatalf("CancelJob of a running job returned %+v", marked)
		}
		got := b.waitForStatus(t, job, sluice.StatusCancelled)
		if c, _ := cause.Load().(error); !errors.Is(c, sluice.ErrCancelRequested) {
			t.Fatalf("the handler's context ended with cause %v, want ErrCancelRequested", c)
		}
		if n := len(got.ErrorHistory); n != 1 || !strings.HasPrefix(got.LastError, "cancelled by an operator while it ran") {
			t.Fatalf("the cancelled job's history: %+v", got.ErrorHistory)
		}
		if _, err := operator.CancelJob(b.ctx, job.ID); !errors.Is(err, sluice.ErrConflict) {
			t.Fatalf("cancelling a cancelled job: %v, want ErrConflict", err)
		}
	})
}

// TestPauseAndDisable: a paused queue's and a disabled app's jobs wait, others run; resume
// and enable let them run; a disabled app's enqueue is refused naming the app.
func TestPauseAndDisable(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		other, err := b.client.CreateApp(b.ctx, "other-"+t.Name())
		if err != nil {
			t.Fatal(err)
		}
		ran := make(chan string, 10)
		sluice.Handle(b.client, "note", func(ctx context.Context, job *sluice.Job, args struct{ N string }) error {
			ran <- args.N
			return nil
		}, nil)
		if _, err := b.client.Pause(b.ctx, sluice.Scope{App: b.app.Name, Type: "note"}); err != nil {
			t.Fatal(err)
		}
		b.start(t)
		held, err := b.client.Enqueue(b.ctx, sluice.NewJob{App: b.app.Name, Type: "note", Payload: map[string]string{"N": "held"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.Enqueue(b.ctx, sluice.NewJob{App: other.Name, Type: "note", Payload: map[string]string{"N": "free"}}); err != nil {
			t.Fatal(err)
		}
		// The other app's job runs; by then the claims have passed the paused one over.
		if n := <-ran; n != "free" {
			t.Fatalf("ran %q first, want the unpaused app's job", n)
		}
		if j, _ := b.client.GetJob(b.ctx, held.Job.ID); j.Status != sluice.StatusPending {
			t.Fatalf("a paused job is %s", j.Status)
		}
		if _, err := b.client.Resume(b.ctx, sluice.Scope{App: b.app.Name, Type: "note"}); err != nil {
			t.Fatal(err)
		}
		if n := <-ran; n != "held" {
			t.Fatalf("after Resume ran %q", n)
		}

		if _, err := b.client.DisableApp(b.ctx, other.Name); err != nil {
			t.Fatal(err)
		}
		_, err = b.client.Enqueue(b.ctx, sluice.NewJob{App: other.Name, Type: "note", Payload: map[string]string{"N": "refused"}})
		var fe *sluice.FieldError
		if !errors.As(err, &fe) || fe.Field != "app" || !errors.Is(err, sluice.ErrAppDisabled) {
			t.Fatalf("enqueue into a disabled app: %v, want a FieldError on app wrapping ErrAppDisabled", err)
		}
		if _, err := b.client.Pause(b.ctx, sluice.Scope{}); err == nil || !strings.Contains(err.Error(), "scope") {
			t.Fatalf("Pause of an empty scope: %v", err)
		}
		if _, err := b.client.Pause(b.ctx, sluice.Scope{App: "no-such-app"}); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("Pause of an unknown app: %v", err)
		}
	})
}
