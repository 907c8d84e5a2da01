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

// TestPeriodicMetrics: the observer counts ticks enqueued and skipped by app (named) and
// schedule, and keeps the lag of the last enqueued tick.
func TestPeriodicMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		m := metrics.New(st, nil)
		app, err := st.CreateApp(context.Background(), store.App{ID: uuid.Must(uuid.NewV7()), Name: "alpha"})
		if err != nil {
			t.Fatal(err)
		}
		obs, ok := m.Observer().(sluice.PeriodicObserver)
		if !ok {
			t.Fatal("the metrics observer is not a sluice.PeriodicObserver")
		}
		obs.TickEnqueued(app.ID, "nightly", 3*time.Second)
		obs.TickEnqueued(app.ID, "nightly", 1500*time.Millisecond)
		obs.TicksSkipped(app.ID, "nightly", 179)
		families := scrape(t, m.Handler())
		if v := value(t, families, "sluice_periodic_ticks_total", labels{"app": "alpha", "schedule": "nightly", "result": "enqueued"}); v != 2 {
			t.Fatalf("enqueued ticks = %v, want 2", v)
		}
		if v := value(t, families, "sluice_periodic_ticks_total", labels{"app": "alpha", "schedule": "nightly", "result": "skipped"}); v != 179 {
			t.Fatalf("skipped ticks = %v, want 179", v)
		}
		if v := value(t, families, "sluice_periodic_tick_lag_seconds", labels{"app": "alpha", "schedule": "nightly"}); v != 1.5 {
			t.Fatalf("lag = %v, want 1.5", v)
		}
	})
}
