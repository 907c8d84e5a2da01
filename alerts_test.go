package sluice_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/alert"
)

// TestAlertsFromClient: a started client with Config.Alerts calls the callback and posts a
// signed webhook for a job its worker dead-letters, and Stop stops the alerter (goleak).
func TestAlertsFromClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		var mu sync.Mutex
		posted := map[string]int{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := alert.Verify("s3cret", r.Header.Get(alert.HeaderSignature), body, time.Minute, time.Now()); err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			mu.Lock()
			posted[r.Header.Get(alert.HeaderEventID)]++
			mu.Unlock()
		}))
		t.Cleanup(srv.Close)
		called := make(chan sluice.DeadJob, 10)
		cfg := fastConfig()
		cfg.Alerts = &sluice.AlertConfig{
			PollInterval:  20 * time.Millisecond,
			WebhookURL:    srv.URL,
			WebhookSecret: "s3cret",
			OnDeadLetter: func(_ context.Context, d sluice.DeadJob) error {
				called <- d
				return nil
			},
		}
		b := setup(t, url, cfg)
		sluice.Handle(b.client, "doomed", func(context.Context, *sluice.Job, struct{}) error {
			return sluice.Permanent(errors.New("no way"))
		}, nil)
		b.start(t)
		job := b.enqueue(t, "doomed", struct{}{})
		var entry sluice.DeadJob
		select {
		case entry = <-called:
		case <-time.After(30 * time.Second):
			t.Fatal("timed out waiting for the dead-letter callback")
		}
		if entry.OriginalJobID != job.ID || entry.LastError() != "no way" {
			t.Fatalf("callback got %+v, want the entry of job %s", entry, job.ID)
		}
		waitFor(t, "the webhook to get the entry", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return posted[entry.ID.String()] == 1
		})
		// Operators see it delivered, once both sinks took it.
		var listed sluice.Page[sluice.AlertDelivery]
		waitFor(t, "the alert to be listed as delivered", func() bool {
			var err error
			listed, err = b.client.ListAlerts(b.ctx, sluice.AlertListOptions{App: b.app.ID.String(), Status: sluice.AlertDelivered})
			if err != nil {
				t.Fatal(err)
			}
			return len(listed.Items) == 1
		})
		if a := listed.Items[0]; a.ID != entry.ID || a.Event != alert.EventDeadLettered || a.Attempts != 2 || a.Type != "doomed" {
			t.Fatalf("listed %+v, want entry %s delivered in 2 attempts (callback and webhook)", a, entry.ID)
		}
		for _, c := range []struct {
			opts  sluice.AlertListOptions
			field string
		}{
			{sluice.AlertListOptions{Status: "lost"}, "status"},
			{sluice.AlertListOptions{App: "nobody"}, "app"},
			{sluice.AlertListOptions{Limit: 1001}, "limit"},
			{sluice.AlertListOptions{Status: sluice.AlertFailed, Cursor: "x"}, "cursor"},
		} {
			_, err := b.client.ListAlerts(b.ctx, c.opts)
			var fe *sluice.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("ListAlerts(%+v) = %v, want a FieldError on %s", c.opts, err, c.field)
			}
		}
	})
}

func TestAlertsConfigRefused(t *testing.T) {
	_, err := sluice.NewClient(nil, &sluice.Config{Alerts: &sluice.AlertConfig{WebhookURL: "not a url"}})
	var fe *sluice.FieldError
	if !errors.As(err, &fe) || fe.Field != "Alerts.WebhookURL" {
		t.Fatalf("NewClient = %v, want a FieldError on Alerts.WebhookURL", err)
	}
}
