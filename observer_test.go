package sluice_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
)

// recorder is an Observer that keeps every event.
type recorder struct {
	mu        sync.Mutex
	enqueued  map[uuid.UUID]int
	started   map[uuid.UUID]int
	finished  map[uuid.UUID][]sluice.Outcome
	negative  int // finished attempts reported with a negative duration
	retried   int
	rescued   int // dead-lettered by the rescuer
	cancelled int // cancelled by the rescuer (an operator had asked)
	replayed  []int
}

func newRecorder() *recorder {
	return &recorder{enqueued: map[uuid.UUID]int{}, started: map[uuid.UUID]int{}, finished: map[uuid.UUID][]sluice.Outcome{}}
}

func (r *recorder) JobEnqueued(job *sluice.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.enqueued[job.ID]++
}

func (r *recorder) AttemptStarted(job *sluice.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started[job.ID]++
}

func (r *recorder) AttemptFinished(job *sluice.Job, outcome sluice.Outcome, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished[job.ID] = append(r.finished[job.ID], outcome)
	if d < 0 {
		r.negative++
	}
}

func (r *recorder) LeasesRescued(retried, deadLettered, cancelled int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retried += retried
	r.rescued += deadLettered
	r.cancelled += cancelled
}

func (r *recorder) DeadReplayed(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replayed = append(r.replayed, n)
}

// outcomes returns a copy of the outcomes reported per job.
func (r *recorder) outcomes() map[uuid.UUID][]sluice.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[uuid.UUID][]sluice.Outcome, len(r.finished))
	for id, o := range r.finished {
		out[id] = slices.Clone(o)
	}
	return out
}

// firstRunOnly fails a job's first run as fail says, and completes it when it runs again as
// a replay: a dead-letter entry that, once replayed, completes.
func firstRunOnly(fail func() error) sluice.HandlerFunc[countArgs] {
	return func(ctx context.Context, job *sluice.Job, a countArgs) error {
		if job.ReplayedFrom != nil {
			return nil
		}
		return fail()
	}
}

func TestObserverSeesEachEventOnce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		rec := newRecorder()
		cfg := fastConfig()
		cfg.Observer = rec
		b := setup(t, url, cfg)
		app := b.app.ID.String()
		noRetry := &sluice.TypeOptions{MaxAttempts: 1}
		sluice.Handle(b.client, "ok", func(ctx context.Context, job *sluice.Job, a countArgs) error { return nil }, nil)
		sluice.Handle(b.client, "flaky", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			if job.Attempts == 1 {
				return errors.New("first attempt fails")
			}
			return nil
		}, &sluice.TypeOptions{Backoff: noBackoff})
		sluice.Handle(b.client, "doomed", firstRunOnly(func() error { return sluice.Permanent(errors.New("no")) }), nil)
		sluice.Handle(b.client, "panicky", firstRunOnly(func() error { panic("boom") }), noRetry)
		sluice.Handle(b.client, "quitter", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			return sluice.Cancel(errors.New("not wanted"))
		}, nil)
		var snoozed sync.Map
		sluice.Handle(b.client, "snoozy", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			if _, again := snoozed.LoadOrStore(job.ID, true); !again {
				return sluice.Snooze(0)
			}
			return nil
		}, nil)
		b.start(t)

		ok := b.enqueue(t, "ok", countArgs{})
		many, err := b.client.EnqueueMany(b.ctx, []sluice.NewJob{
			{App: app, Type: "ok", Payload: countArgs{}}, {App: app, Type: "ok", Payload: countArgs{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		tx, commit, _ := b.beginTx(t)
		inTx, err := b.client.EnqueueTx(b.ctx, tx, sluice.NewJob{App: app, Type: "ok", Payload: countArgs{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := commit(); err != nil {
			t.Fatal(err)
		}
		flaky := b.enqueue(t, "flaky", countArgs{})
		doomed := b.enqueue(t, "doomed", countArgs{})
		panicky := b.enqueue(t, "panicky", countArgs{})
		quitter := b.enqueue(t, "quitter", countArgs{})
		snoozy := b.enqueue(t, "snoozy", countArgs{})
		// A type nobody handles: enqueued twice under one unique key, inserted once.
		held := sluice.NewJob{App: app, Type: "held", Payload: countArgs{}, UniqueKey: "only-one"}
		first, err := b.client.Enqueue(b.ctx, held)
		if err != nil {
			t.Fatal(err)
		}
		if dup, err := b.client.Enqueue(b.ctx, held); err != nil || !dup.Duplicate {
			t.Fatalf("second enqueue of a unique key: %+v, %v", dup, err)
		}
		// Two jobs claimed behind the engine's back whose leases expire at once: the rescuer
		// retries one and dead-letters the other, which has no attempt left.
		orphans, err := b.client.EnqueueMany(b.ctx, []sluice.NewJob{
			{App: app, Type: "orphan", Payload: countArgs{}, MaxAttempts: 2},
			{App: app, Type: "orphan", Payload: countArgs{}, MaxAttempts: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := b.client.Store().ClaimJobs(b.ctx, store.ClaimParams{Queue: "default", Types: []string{"orphan"},
			Limit: 2, LeaseToken: uuid.New(), LeaseDuration: time.Millisecond})
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claiming the orphans: %d, %v", len(claimed), err)
		}

		// Replay the two dead entries, one alone and one in bulk; both then complete.
		doomedDead := b.waitForDead(t, doomed.ID.String())
		replayedDoomed, err := b.client.DLQ().Replay(b.ctx, doomedDead.ID)
		if err != nil {
			t.Fatal(err)
		}
		b.waitForDead(t, panicky.ID.String())
		if res, err := b.client.DLQ().ReplayMany(b.ctx, sluice.Filter{Type: "panicky"}, sluice.ReplayOptions{}); err != nil || res.Replayed != 1 {
			t.Fatalf("ReplayMany: %+v, %v", res, err)
		}
		page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Type: "panicky"}, sluice.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var replayedPanicky sluice.Job
		for _, j := range page.Items {
			if j.ReplayedFrom != nil {
				replayedPanicky = j
			}
		}

		want := map[uuid.UUID][]sluice.Outcome{
			ok.ID:              {sluice.OutcomeComplete},
			many[0].Job.ID:     {sluice.OutcomeComplete},
			many[1].Job.ID:     {sluice.OutcomeComplete},
			inTx[0].Job.ID:     {sluice.OutcomeComplete},
			flaky.ID:           {sluice.OutcomeRetry, sluice.OutcomeComplete},
			doomed.ID:          {sluice.OutcomeDeadLetter},
			replayedDoomed.ID:  {sluice.OutcomeComplete},
			panicky.ID:         {sluice.OutcomeDeadLetter},
			replayedPanicky.ID: {sluice.OutcomeComplete},
			quitter.ID:         {sluice.OutcomeCancel},
			snoozy.ID:          {sluice.OutcomeSnooze, sluice.OutcomeComplete},
		}
		waitFor(t, "every attempt and both rescues to be reported", func() bool {
			rec.mu.Lock()
			rescued := rec.retried+rec.rescued == 2
			rec.mu.Unlock()
			return rescued && maps.EqualFunc(rec.outcomes(), want, slices.Equal)
		})
		stopCtx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		if err := b.client.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}

		// Stopped: nothing more can arrive, and each event was reported exactly once.
		if got := rec.outcomes(); !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("outcomes after Stop = %v, want %v", got, want)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		wantEnqueued := map[uuid.UUID]int{}
		for _, id := range []uuid.UUID{ok.ID, many[0].Job.ID, many[1].Job.ID, inTx[0].Job.ID, flaky.ID, doomed.ID,
			panicky.ID, quitter.ID, snoozy.ID, first.Job.ID, orphans[0].Job.ID, orphans[1].Job.ID} {
			wantEnqueued[id] = 1
		}
		if !maps.Equal(rec.enqueued, wantEnqueued) {
			t.Errorf("enqueued = %v, want %v (no duplicate, no replay)", rec.enqueued, wantEnqueued)
		}
		wantStarted := map[uuid.UUID]int{}
		for id, outcomes := range want {
			wantStarted[id] = len(outcomes)
		}
		if !maps.Equal(rec.started, wantStarted) {
			t.Errorf("started = %v, want %v", rec.started, wantStarted)
		}
		if rec.retried != 1 || rec.rescued != 1 {
			t.Errorf("rescues: %d retried, %d dead-lettered; want 1 and 1", rec.retried, rec.rescued)
		}
		if !slices.Equal(rec.replayed, []int{1, 1}) {
			t.Errorf("replays reported: %v, want [1 1]", rec.replayed)
		}
		if rec.negative != 0 {
			t.Errorf("%d attempts reported a negative run time", rec.negative)
		}
	})
}

// logRecorder is a slog handler that keeps every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// find returns the attributes of the records with this message.
func (l *logRecorder) find(msg string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.records {
		if r.Message != msg {
			continue
		}
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, attrs)
	}
	return out
}

func TestDeadLetterAndPanicLogsNameTheJob(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		logs := &logRecorder{}
		cfg := fastConfig()
		cfg.Logger = slog.New(logs)
		cfg.Queues = map[string]sluice.QueueConfig{"q": {}}
		b := setup(t, url, cfg)
		sluice.Handle(b.client, "panicky", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			panic("boom")
		}, &sluice.TypeOptions{MaxAttempts: 1, Queue: "q"})
		b.start(t)
		job := b.enqueue(t, "panicky", countArgs{})
		b.waitForDead(t, job.ID.String())
		want := map[string]string{"job_id": job.ID.String(), "app_id": b.app.ID.String(), "type": "panicky", "queue": "q", "attempt": "1"}
		for _, msg := range []string{"sluice: handler panicked", "sluice: job dead-lettered"} {
			var got []map[string]string
			waitFor(t, "the log "+msg, func() bool {
				got = logs.find(msg)
				return len(got) > 0
			})
			if len(got) != 1 {
				t.Fatalf("%q logged %d times, want once", msg, len(got))
			}
			for k, v := range want {
				if got[0][k] != v {
					t.Errorf("%q: %s = %q, want %q", msg, k, got[0][k], v)
				}
			}
		}
	})
}

func TestStartWarnsOfWeakenedDurability(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	logs := &logRecorder{}
	cfg := fastConfig()
	cfg.Logger = slog.New(logs)
	b := setup(t, u.String(), cfg)
	b.start(t)
	warnings := logs.find("sluice: the database runs with weakened durability")
	var found bool
	for _, w := range warnings {
		found = found || w["backend"] == "postgres" && len(w["warning"]) > 0
	}
	if !found {
		t.Fatalf("no start-up warning for synchronous_commit=off; got %v", warnings)
	}
}
