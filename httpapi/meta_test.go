package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// TestTagsTraceAndRedaction runs a job with tags, a caller's traceparent and secret payload
// fields through a server whose client redacts them: every answer that shows the payload
// masks the fields, listings filter by tag, entries link to their trace, and the handler and
// the job a replay makes get the payload itself.
func TestTagsTraceAndRedaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		cfg := fastConfig()
		cfg.Redact = []string{"card.number", "items[*].ssn", "pay.slip:note"}
		rc, err := sluice.Open(b.ctx, dbURL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rc.Close(context.Background()) })
		srv := httptest.NewServer(New(rc, Options{TraceURL: "https://tempo.example/trace/{trace_id}?org=1"}))
		t.Cleanup(srv.Close)
		do := func(want int, c call) reply {
			t.Helper()
			c.token = b.admin
			r := send(t, srv, c)
			if r.status != want {
				t.Fatalf("%s %s: want %d, got %s", c.method, c.path, want, r)
			}
			return r
		}
		const secretCard, secretSSN = "4111-1111-1111-1111", "078-05-1120"
		const payload = `{"card":{"number":"` + secretCard + `","exp":"12/30"},"items":[{"ssn":"` + secretSSN + `","n":1}],"note":"kept"}`
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		noSecret := func(r reply, what string) {
			t.Helper()
			if strings.Contains(string(r.body), secretCard) || strings.Contains(string(r.body), secretSSN) {
				t.Fatalf("%s shows a redacted value: %s", what, r.body)
			}
			if !strings.Contains(string(r.body), `"[redacted]"`) {
				t.Fatalf("%s shows no mask: %s", what, r.body)
			}
		}

		r := do(201, call{method: "POST", path: "/v1/apps/acme/jobs", body: `{"type":"pay.slip","payload":` + payload + `,"tags":["vip","region:eu"]}`,
			header: map[string]string{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01", "tracestate": "vendor=x"}})
		noSecret(r, "the enqueue answer")
		var enq struct {
			Job struct {
				ID      string          `json:"id"`
				Payload json.RawMessage `json:"payload"`
				Tags    []string        `json:"tags"`
				Trace   struct {
					TraceID    string `json:"traceId"`
					TraceState string `json:"tracestate"`
				} `json:"trace"`
				TraceURL string `json:"traceUrl"`
			} `json:"job"`
		}
		r.decode(t, &enq)
		if strings.Join(enq.Job.Tags, ",") != "vip,region:eu" || enq.Job.Trace.TraceID != traceID || enq.Job.Trace.TraceState != "vendor=x" ||
			enq.Job.TraceURL != "https://tempo.example/trace/"+traceID+"?org=1" {
			t.Fatalf("the enqueued job: %s", r.body)
		}
		if !strings.Contains(string(enq.Job.Payload), `"note":"[redacted]"`) {
			t.Fatalf("the type's own rule was not applied: %s", enq.Job.Payload)
		}
		job, err := b.client.GetJob(b.ctx, mustParse(t, enq.Job.ID))
		if err != nil || !strings.Contains(string(job.Payload), secretCard) {
			t.Fatalf("the stored payload is not the one enqueued: %s (%v)", job.Payload, err)
		}
		noSecret(do(200, call{method: "GET", path: "/v1/jobs/" + enq.Job.ID}), "GET /v1/jobs/{id}")
		r = do(200, call{method: "GET", path: "/v1/jobs?tag=vip"})
		noSecret(r, "GET /v1/jobs?tag=vip")
		if n := strings.Count(string(r.body), `"id":"`+enq.Job.ID+`"`); n != 1 || strings.Count(string(r.body), `"appId"`) != 1 {
			t.Fatalf("GET /v1/jobs?tag=vip: %s", r.body)
		}
		if r := do(200, call{method: "GET", path: "/v1/jobs?tag=nobody"}); string(r.body) != `{"items":[]}`+"\n" {
			t.Fatalf("GET /v1/jobs?tag=nobody: %s", r.body)
		}

		// A worker that redacts too: its handler still gets the payload itself.
		got := make(chan string, 2)
		type slip struct {
			Card struct{ Number string } `json:"card"`
		}
		sluice.Handle(rc, "pay.slip", func(_ context.Context, _ *sluice.Job, s slip) error {
			got <- s.Card.Number
			return sluice.Permanent(context.DeadlineExceeded)
		}, nil)
		if err := rc.Start(b.ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rc.Stop(ctx)
		})
		if n := <-got; n != secretCard {
			t.Fatalf("the handler got card number %q", n)
		}
		var entryID string
		waitFor(t, "the job's dead-letter entry", func() bool {
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			send(t, srv, call{method: "GET", path: "/v1/dlq?tag=region:eu", token: b.admin}).decode(t, &page)
			if len(page.Items) == 1 {
				entryID = page.Items[0].ID
			}
			return entryID != ""
		})
		r = do(200, call{method: "GET", path: "/v1/dlq?tag=region:eu&app=acme"})
		noSecret(r, "GET /v1/dlq?tag=")
		if !strings.Contains(string(r.body), `"traceUrl":"https://tempo.example/trace/`+traceID+`?org=1"`) {
			t.Fatalf("the listing has no trace link: %s", r.body)
		}
		r = do(200, call{method: "GET", path: "/v1/dlq/" + entryID})
		noSecret(r, "GET /v1/dlq/{id}")
		var entry sluice.DeadJob
		r.decode(t, &entry)
		if entry.Trace.TraceID() != traceID || strings.Join(entry.Tags, ",") != "vip,region:eu" {
			t.Fatalf("the entry: %s", r.body)
		}
		if r := do(200, call{method: "POST", path: "/v1/dlq/replay", body: `{"tag":"vip","dryRun":true}`}); !strings.Contains(string(r.body), `"matched":1`) {
			t.Fatalf("a dry run by tag: %s", r.body)
		}
		// The type is paused while the replay's job is read: else the worker may run it and
		// dead-letter it again before the read.
		paused := sluice.Scope{Type: "pay.slip"}
		if _, err := b.client.Pause(b.ctx, paused); err != nil {
			t.Fatal(err)
		}
		r = do(200, call{method: "POST", path: "/v1/dlq/" + entryID + "/replay"})
		noSecret(r, "the replay answer")
		var replayed sluice.Job
		r.decode(t, &replayed)
		job, err = b.client.GetJob(b.ctx, replayed.ID)
		if err != nil || !strings.Contains(string(job.Payload), secretCard) || job.Trace.TraceID() != traceID {
			t.Fatalf("the replay's job holds %s, trace %+v (%v); want the original payload and trace", job.Payload, job.Trace, err)
		}
		if _, err := b.client.Resume(b.ctx, paused); err != nil {
			t.Fatal(err)
		}
		if n := <-got; n != secretCard {
			t.Fatalf("the replayed job's handler got card number %q", n)
		}

		// The server without rules shows payloads as they are.
		if r := b.ok(200, call{method: "GET", path: "/v1/dlq/" + entryID, token: b.admin}); !strings.Contains(string(r.body), secretCard) || strings.Contains(string(r.body), "traceUrl") {
			t.Fatalf("a server without rules or a trace URL: %s", r.body)
		}
		b.fail(400, "tag", call{method: "GET", path: "/v1/dlq?tag=a%20b", token: b.admin})
		b.fail(400, "tag", call{method: "GET", path: "/v1/jobs?tag=a,b", token: b.admin})
		b.fail(400, "tags[1]", call{method: "POST", path: "/v1/apps/acme/jobs", token: b.admin, body: `{"type":"t","payload":{},"tags":["ok","not ok"]}`})
		b.fail(400, "tag", call{method: "POST", path: "/v1/dlq/purge", token: b.admin, body: `{"tag":"a b","dryRun":true}`})
	})
}

func mustParse(t *testing.T, id string) uuid.UUID {
	t.Helper()
	u, err := uuid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCheckTraceURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://tempo.example/trace/{trace_id}", "http://127.0.0.1:3000/explore?q={trace_id}"} {
		if err := CheckTraceURL(ok); err != nil {
			t.Errorf("CheckTraceURL(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"https://tempo.example/trace/", "javascript:alert(1)//{trace_id}", "/trace/{trace_id}", "ftp://x/{trace_id}"} {
		if err := CheckTraceURL(bad); err == nil {
			t.Errorf("CheckTraceURL(%q) accepted it", bad)
		}
	}
}
