package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/alert"
)

// TestServeAlerts runs `sluice serve --alert-webhook URL --alert-group-threshold 2` with the
// secret in SLUICE_ALERT_SECRET: jobs dead-lettered by another process's worker reach the
// webhook, signed, and their failure group alerts once.
func TestServeAlerts(t *testing.T) {
	const secret = "whsec-from-env"
	// Before the parallel subtests: the environment is the whole process's.
	t.Setenv(alertSecretEnv, secret)
	forEachBackend(t, func(t *testing.T, e *env) {
		var mu sync.Mutex
		events := map[string][]string{} // event → ids
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := alert.Verify(secret, r.Header.Get(alert.HeaderSignature), body, time.Minute, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			var env struct{ Event, ID string }
			if err := json.Unmarshal(body, &env); err != nil || env.ID != r.Header.Get(alert.HeaderEventID) {
				http.Error(w, "bad envelope", http.StatusBadRequest)
				return
			}
			mu.Lock()
			events[env.Event] = append(events[env.Event], env.ID)
			mu.Unlock()
		}))
		t.Cleanup(hook.Close)

		p := start(t, e.url, "serve", "--addr", "127.0.0.1:0", "--alert-webhook", hook.URL, "--alert-group-threshold", "2")
		p.waitStderr(listening)

		// A worker in this process dead-letters two jobs with the same failure.
		ctx := context.Background()
		c, err := sluice.Open(ctx, e.url, &sluice.Config{PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		app, err := c.CreateApp(ctx, "billing")
		if err != nil {
			t.Fatal(err)
		}
		sluice.Handle(c, "invoice.send", func(context.Context, *sluice.Job, struct{}) error {
			return sluice.Permanent(errors.New("smtp: connection refused"))
		}, nil)
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := c.Enqueue(ctx, sluice.NewJob{App: app.ID.String(), Type: "invoice.send", Payload: struct{}{}}); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			dead, groups := len(events[alert.EventDeadLettered]), len(events[alert.EventGroupThreshold])
			mu.Unlock()
			if dead == 2 && groups == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("webhook got %d dead-letter and %d group alerts, want 2 and 1:\n%s", dead, groups, p.stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Acknowledged right after the webhook took them: `sluice alerts list` shows the three.
		for {
			page, err := c.ListAlerts(ctx, sluice.AlertListOptions{Status: sluice.AlertDelivered})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d alerts listed as delivered, want 3", len(page.Items))
			}
			time.Sleep(10 * time.Millisecond)
		}
		var listed sluice.Page[sluice.AlertDelivery]
		e.json(&listed, "alerts", "list", "--app", "billing")
		listedEvents := map[string]int{}
		for _, a := range listed.Items {
			if a.Status != sluice.AlertDelivered || a.Attempts != 1 || a.AppID != app.ID || a.FinishedAt == nil {
				t.Fatalf("alerts list: %+v, want delivered at the first attempt", a)
			}
			listedEvents[a.Event]++
		}
		if listedEvents[alert.EventDeadLettered] != 2 || listedEvents[alert.EventGroupThreshold] != 1 {
			t.Fatalf("alerts list: %+v, want 2 dead-letter alerts and 1 group alert", listed.Items)
		}
		if out := e.ok("alerts", "list", "--limit", "5").stdout; !strings.Contains(out, "delivered") || !strings.Contains(out, "billing") {
			t.Fatalf("alerts list (human):\n%s", out)
		}
		if out := e.ok("alerts", "list", "--status", "failed").stdout; !strings.Contains(out, "No alerts.") {
			t.Fatalf("alerts list --status failed:\n%s", out)
		}
		e.fail(2, []string{"--status"}, "alerts", "list", "--status", "lost")
		e.fail(2, []string{"--app"}, "alerts", "list", "--app", "nobody")
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if code := p.stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("serve exited %d:\n%s", code, p.stderr.String())
		}
		if strings.Contains(p.stderr.String(), secret) || strings.Contains(p.stderr.String(), "unsigned") {
			t.Fatalf("serve's stderr shows the secret or says it has none:\n%s", p.stderr.String())
		}
	})
}

func TestServeAlertFlags(t *testing.T) {
	t.Parallel()
	e := setup(t)
	checkFail(t, run(t, e.url, "", "serve", "--alert-group-threshold", "5"), exitUsage,
		[]string{"--alert-group-threshold: needs --alert-webhook"}, []string{"serve"})
	checkFail(t, run(t, e.url, "", "serve", "--alert-webhook", "hooks.example.com"), exitUsage,
		[]string{"--alert-webhook: must be an http:// or https:// URL"}, []string{"serve"})
	checkFail(t, run(t, e.url, "", "serve", "--alert-webhook", "http://127.0.0.1:1/x", "--alert-group-threshold", "0"), exitUsage,
		[]string{"--alert-group-threshold: must be at least 1"}, []string{"serve"})
}
