package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/metrics"
	"github.com/sluicehq/sluice/store"
)

// TestRetentionMetrics: the observer counts rows retention deleted by kind and un-replayed
// entries trimmed by app (named) and type; the scrape reads the undismissed trim reports.
func TestRetentionMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		m := metrics.New(st, nil)
		ctx := context.Background()
		app, err := st.CreateApp(ctx, store.App{ID: uuid.Must(uuid.NewV7()), Name: "alpha"})
		if err != nil {
			t.Fatal(err)
		}
		obs, ok := m.Observer().(sluice.RetentionObserver)
		if !ok {
			t.Fatal("the metrics observer is not a sluice.RetentionObserver")
		}
		if v := value(t, scrape(t, m.Handler()), "sluice_retention_reports_undismissed", labels{}); v != 0 {
			t.Fatalf("undismissed reports = %v, want 0", v)
		}
		obs.RetentionDeleted(sluice.RetainCompleted, 1000)
		obs.RetentionDeleted(sluice.RetainUnreplayed, 3)
		obs.DeadTrimmed(app.ID, "email.send", 3)

		// A trim report, as retention writes one: alpha's entry deleted by a 1ms max age once
		// the database clock has passed it (the client reports to no observer).
		c, err := sluice.NewClient(st, &sluice.Config{Retention: sluice.RetentionConfig{Disabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		sluice.Handle(c, "email.send", func(context.Context, *sluice.Job, struct{}) error {
			return sluice.Permanent(context.Canceled)
		}, nil)
		if _, err := c.Enqueue(ctx, sluice.NewJob{App: "alpha", Type: "email.send", Payload: map[string]int{}}); err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the job to be dead-lettered", func() bool {
			n, err := st.CountDead(ctx, store.DeadFilter{})
			return err == nil && n == 1
		})
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SetRetention(ctx, sluice.Policy{Kind: sluice.RetainUnreplayed, MaxAge: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "retention to delete the entry", func() bool {
			res, err := c.RunRetention(ctx, sluice.RetentionOptions{})
			return err == nil && res.Deleted[sluice.RetainUnreplayed] == 1
		})

		families := scrape(t, m.Handler())
		if v := value(t, families, "sluice_retention_deleted_total", labels{"kind": "completed"}); v != 1000 {
			t.Fatalf("completed deleted = %v, want 1000", v)
		}
		if v := value(t, families, "sluice_dlq_trimmed_total", labels{"app": "alpha", "type": "email.send"}); v != 3 {
			t.Fatalf("trimmed = %v, want 3", v)
		}
		if v := value(t, families, "sluice_retention_reports_undismissed", labels{}); v != 1 {
			t.Fatalf("undismissed reports = %v, want 1", v)
		}
	})
}
