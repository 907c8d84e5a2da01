package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/pgstore"
)

// rawSQL runs backend-specific SQL against a test database, for faults the API cannot cause.
type rawSQL struct {
	// stealLease makes the job's running lease expired and held by an unknown token, as if
	// this worker had been paused past its lease.
	stealLease string
	// refuseDLQInsert makes every job_dlq insert fail; allowDLQInsert undoes it.
	refuseDLQInsert, allowDLQInsert string
}

var backendSQL = map[string]rawSQL{
	"sqlite": {
		stealLease:      `UPDATE jobs SET lease_token = '00000000-0000-4000-8000-000000000000', lease_expires_at = 1 WHERE id = '%s'`,
		refuseDLQInsert: `CREATE TRIGGER refuse_dlq BEFORE INSERT ON job_dlq BEGIN SELECT RAISE(ABORT, 'job_dlq insert refused by test trigger'); END`,
		allowDLQInsert:  `DROP TRIGGER refuse_dlq`,
	},
	"postgres": {
		stealLease: `UPDATE jobs SET lease_token = gen_random_uuid(), lease_expires_at = now() - interval '1 second' WHERE id = '%s'`,
		refuseDLQInsert: `CREATE FUNCTION refuse_dlq() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'job_dlq insert refused by test trigger'; END $$;
			CREATE TRIGGER refuse_dlq BEFORE INSERT ON job_dlq FOR EACH ROW EXECUTE FUNCTION refuse_dlq();`,
		allowDLQInsert: `DROP TRIGGER refuse_dlq ON job_dlq`,
	},
}

// logSignal is a slog handler that closes a channel the first time a record's message
// contains a given text: a test signal from the engine without sleeping.
type logSignal struct {
	slog.Handler
	text string
	once sync.Once
	seen chan struct{}
}

func newLogSignal(text string) *logSignal {
	return &logSignal{Handler: slog.DiscardHandler, text: text, seen: make(chan struct{})}
}

func (l *logSignal) Enabled(context.Context, slog.Level) bool { return true }

func (l *logSignal) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, l.text) {
		l.once.Do(func() { close(l.seen) })
	}
	return nil
}

func (l *logSignal) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSignal) WithGroup(string) slog.Handler      { return l }

func TestLostLeaseCancelsTheAttemptAndDropsItsOutcome(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		cfg := fastConfig()
		cfg.HeartbeatInterval = 20 * time.Millisecond
		b := setup(t, url, cfg)
		started := make(chan struct{})
		cause := make(chan error, 1)
		sluice.Handle(b.client, "long", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			if job.Attempts == 1 {
				close(started)
				<-ctx.Done()
				cause <- context.Cause(ctx)
				return errors.New("late failure from the stale attempt")
			}
			return nil
		}, &sluice.TypeOptions{MaxAttempts: 5, Backoff: noBackoff})
		b.start(t)
		job := b.enqueue(t, "long", countArgs{})
		<-started
		b.execSQL(t, sprintf(backendSQL[backendOf(url)].stealLease, job.ID))

		if err := <-cause; err == nil || !strings.Contains(err.Error(), "lease lost") {
			t.Fatalf("stale attempt's context ended with %v, want the lease-lost cause", err)
		}
		got := b.waitForStatus(t, job, sluice.StatusCompleted)
		if got.Attempts != 2 || len(got.ErrorHistory) != 1 || got.ErrorHistory[0].Error != store.RescueError(1) {
			t.Fatalf("want attempt 2 completed with only the rescue in the history; got attempts %d, history %+v", got.Attempts, got.ErrorHistory)
		}
	})
}

func TestRefusedDeadLetterInsertLosesNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		giveUp := newLogSignal("giving up writing an outcome")
		cfg := fastConfig()
		cfg.LeaseDuration = time.Second
		cfg.Logger = slog.New(giveUp)
		b := setup(t, url, cfg)
		sql := backendSQL[backendOf(url)]
		b.execSQL(t, sql.refuseDLQInsert)
		sluice.Handle(b.client, "fatal", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			return errors.New("always")
		}, &sluice.TypeOptions{MaxAttempts: 1})
		b.start(t)
		job := b.enqueue(t, "fatal", countArgs{})
		<-giveUp.seen

		got, err := b.client.GetJob(b.ctx, job.ID)
		if err != nil || got.Status != sluice.StatusRunning {
			t.Fatalf("after the refused move the job is %+v, %v; want it still in jobs, running", got, err)
		}
		if page, _ := b.client.DLQ().List(b.ctx, sluice.Filter{}, sluice.ListOptions{All: true}); len(page.Items) != 0 {
			t.Fatalf("a refused insert left %d entries", len(page.Items))
		}
		b.execSQL(t, sql.allowDLQInsert)
		dead := b.waitForDead(t, job.ID.String())
		if _, err := b.client.GetJob(b.ctx, job.ID); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("job in both tables: %v", err)
		}
		if dead.Attempts != 1 || len(dead.ErrorHistory) != 1 {
			t.Fatalf("entry %+v", dead)
		}
	})
}

func TestLongJobKeepsItsLeaseByHeartbeat(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		cfg := fastConfig()
		// Long enough that a loaded CI machine cannot stall a heartbeat (every second) past it.
		cfg.LeaseDuration = 3 * time.Second
		b := setup(t, url, cfg)
		sluice.Handle(b.client, "marathon", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			select {
			case <-time.After(3 * cfg.LeaseDuration): // the work outlasts several leases
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}, &sluice.TypeOptions{MaxAttempts: 1})
		b.start(t)
		got := b.waitForStatus(t, b.enqueue(t, "marathon", countArgs{}), sluice.StatusCompleted)
		if got.Attempts != 1 || len(got.ErrorHistory) != 0 {
			t.Fatalf("a heartbeating job was rescued: %+v", got)
		}
	})
}

func TestNotificationWakesAnotherClientsWorker(t *testing.T) {
	t.Parallel()
	url := backends["postgres"](t)
	listening := newLogSignal("listening for job notifications")
	cfg := fastConfig()
	cfg.PollInterval = time.Hour // only a notification can wake it after start-up
	cfg.Logger = slog.New(listening)
	worker := setup(t, url, cfg)
	ran := make(chan struct{})
	sluice.Handle(worker.client, "ping", func(ctx context.Context, job *sluice.Job, a countArgs) error {
		close(ran)
		return nil
	}, nil)
	worker.start(t)
	<-listening.seen
	schema := worker.client.Store().(*pgstore.Store).Schema()
	waitFor(t, "the LISTEN to take effect", func() bool {
		return queryInt(t, url, fmt.Sprintf(`SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN "sluice_jobs.%s"'`, schema)) == 1
	})

	producer, err := sluice.Open(worker.ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close(worker.ctx)
	if _, err := producer.Enqueue(worker.ctx, sluice.NewJob{App: worker.app.Name, Type: "ping", Payload: countArgs{}}); err != nil {
		t.Fatal(err)
	}
	<-ran
}
