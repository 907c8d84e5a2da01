package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice"
)

// TestTagsTraceAndRedact runs the built binary: jobs enqueued with --tag and listed by it,
// dead-letter entries found by tag and shown with their trace, payload fields masked by
// --redact in every output and in the retention export, and a replay that still enqueues
// the payload itself.
func TestTagsTraceAndRedact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		const secret = "4111-1111-1111-1111"
		const payload = `{"card":{"number":"` + secret + `"},"err":"card declined"}`
		redact := []string{"--redact", "card.number", "--redact", "other:x"}
		args := func(a ...string) []string { return append(a, redact...) }
		masked := func(r result, what string) {
			t.Helper()
			if strings.Contains(r.stdout, secret) || !strings.Contains(r.stdout, "[redacted]") {
				t.Fatalf("%s: want the card number masked:\n%s", what, r)
			}
		}
		e.ok("apps", "create", "billing")
		r := e.ok(args("jobs", "enqueue", "--app", "billing", "--type", "pending.kind", "--payload", payload, "--tag", "vip,eu", "--json")...)
		masked(r, "jobs enqueue --json")
		var enq struct{ Job sluice.Job }
		decodeOne(t, r.stdout, &enq)
		if strings.Join(enq.Job.Tags, " ") != "vip eu" {
			t.Fatalf("jobs enqueue --tag vip,eu: tags %q", enq.Job.Tags)
		}
		masked(e.ok(args("jobs", "list", "--tag", "vip", "--json")...), "jobs list --tag --json")
		r = e.ok(args("jobs", "show", enq.Job.ID.String())...)
		masked(r, "jobs show")
		if !strings.Contains(r.stdout, "vip, eu") {
			t.Fatalf("jobs show lists no tags:\n%s", r)
		}
		if out := e.ok("jobs", "list", "--tag", "nobody").stdout; strings.Contains(out, enq.Job.ID.String()) {
			t.Fatalf("jobs list --tag nobody:\n%s", out)
		}
		e.fail(2, []string{"--tag (value 2)", "spaces"}, "jobs", "enqueue", "--app", "billing", "--type", "t", "--payload", "{}", "--tag", "ok", "--tag", "not ok")
		e.fail(2, []string{"--tag", "spaces"}, "dlq", "list", "--tag", "a b")
		e.fail(2, []string{"--redact (value 2)", `"a..b"`, "empty"}, "jobs", "list", "--redact", "ok", "--redact", "a..b")

		// Three jobs dead-lettered inside a trace.
		ctx := context.Background()
		c := e.client()
		sluice.Handle(c, "pay", func(context.Context, *sluice.Job, failArgs) error {
			return errors.New("card declined")
		}, &sluice.TypeOptions{MaxAttempts: 1})
		traceID, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
		spanID, _ := trace.SpanIDFromHex("b7ad6b7169203331")
		traced := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
		job := sluice.NewJob{App: "billing", Type: "pay", Payload: json.RawMessage(payload), Tags: []string{"vip"}}
		if _, err := c.EnqueueMany(traced, []sluice.NewJob{job, job, job}); err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for e.deadCount(c) < 3 {
			if time.Now().After(deadline) {
				t.Fatal("the jobs were not dead-lettered in time")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}

		var entries page[sluice.DeadJob]
		r = e.ok(args("dlq", "list", "--tag", "vip", "--json")...)
		masked(r, "dlq list --tag --json")
		decodeOne(t, r.stdout, &entries)
		if len(entries.Items) != 3 || entries.Items[0].Trace.TraceID() != traceID.String() {
			t.Fatalf("dlq list --tag vip: %s", r.stdout)
		}
		newest := entries.Items[0].ID.String()
		r = e.ok(args("dlq", "show", newest)...)
		masked(r, "dlq show")
		for _, want := range []string{"trace id", traceID.String(), "traceparent", "00-" + traceID.String() + "-" + spanID.String() + "-01", "tags", "vip"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("dlq show does not say %q:\n%s", want, r)
			}
		}
		if out := e.ok("dlq", "show", newest).stdout; !strings.Contains(out, secret) {
			t.Fatalf("dlq show without --redact masks the payload:\n%s", out)
		}
		r = e.ok(args("dlq", "replay", newest, "--json")...)
		masked(r, "dlq replay ID --json")
		var replayed sluice.Job
		decodeOne(t, r.stdout, &replayed)
		stored, err := c.GetJob(ctx, replayed.ID)
		if err != nil || !strings.Contains(string(stored.Payload), secret) || stored.Trace.TraceID() != traceID.String() {
			t.Fatalf("the replay enqueued %s with trace %+v (%v), want the payload itself and its trace", stored.Payload, stored.Trace, err)
		}

		// Retention exports the oldest un-replayed entry, redacted, before deleting it.
		e.ok("retention", "set", "--kind", "unreplayed", "--app", "billing", "--max-count", "1")
		dir := t.TempDir()
		e.ok(args("retention", "run", "--export-dir", dir)...)
		files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
		if len(files) != 1 {
			t.Fatalf("export files: %v", files)
		}
		raw, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		var exported sluice.DeadJob
		if err := json.Unmarshal(raw, &exported); err != nil || strings.Count(string(raw), "\n") != 1 {
			t.Fatalf("the export holds %s (%v)", raw, err)
		}
		if strings.Contains(string(raw), secret) || !strings.Contains(string(exported.Payload), `"[redacted]"`) || exported.Trace.TraceID() != traceID.String() {
			t.Fatalf("the export is not redacted or lost the trace: %s", raw)
		}
	})
}
