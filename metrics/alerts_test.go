package metrics_test

import (
	"testing"

	"github.com/sluicehq/sluice/alert"
	"github.com/sluicehq/sluice/metrics"
)

// TestAlertCounters: the observer counts alerts delivered and given up on, by event and sink.
func TestAlertCounters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		m := metrics.New(openStore(t, url), nil)
		obs, ok := m.Observer().(alert.Observer)
		if !ok {
			t.Fatal("the metrics observer is not an alert.Observer")
		}
		obs.AlertDelivered(alert.EventDeadLettered, alert.SinkWebhook)
		obs.AlertDelivered(alert.EventDeadLettered, alert.SinkWebhook)
		obs.AlertFailed(alert.EventGroupThreshold, alert.SinkCallback)
		families := scrape(t, m.Handler())
		if v := value(t, families, "sluice_alerts_delivered_total", labels{"event": "job.dead_lettered", "sink": "webhook"}); v != 2 {
			t.Fatalf("delivered = %v, want 2", v)
		}
		if v := value(t, families, "sluice_alerts_failed_total", labels{"event": "group.threshold", "sink": "callback"}); v != 1 {
			t.Fatalf("failed = %v, want 1", v)
		}
	})
}
