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
		obs.AlertAttemptFailed(alert.EventDeadLettered, alert.SinkWebhook)
		obs.AlertAttemptFailed(alert.EventDeadLettered, alert.SinkWebhook)
		obs.AlertAttemptFailed(alert.EventDeadLettered, alert.SinkWebhook)
		families := scrape(t, m.Handler())
		if v := value(t, families, "sluice_alert_attempts_failed_total", labels{"event": "job.dead_lettered", "sink": "webhook"}); v != 3 {
			t.Fatalf("failed attempts = %v, want 3", v)
		}
		// An empty outbox: nothing pending, nothing waiting.
		if v := value(t, families, "sluice_alerts_pending", labels{}); v != 0 {
			t.Fatalf("sluice_alerts_pending = %v, want 0", v)
		}
		if v := value(t, families, "sluice_alerts_oldest_pending_age_seconds", labels{}); v != 0 {
			t.Fatalf("sluice_alerts_oldest_pending_age_seconds = %v, want 0", v)
		}
		if v := value(t, families, "sluice_alerts_delivered_total", labels{"event": "job.dead_lettered", "sink": "webhook"}); v != 2 {
			t.Fatalf("delivered = %v, want 2", v)
		}
		if v := value(t, families, "sluice_alerts_failed_total", labels{"event": "group.threshold", "sink": "callback"}); v != 1 {
			t.Fatalf("failed = %v, want 1", v)
		}
	})
}
