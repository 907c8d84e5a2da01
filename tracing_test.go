package sluice_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice"
)

// TestTracing enqueues inside a span and checks that each attempt's span continues its trace
// as a child, with the job's attributes and error, that the handler's context carries that
// span, and that the dead-letter entry and the job a replay makes keep the trace.
func TestTracing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		recorder := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
		t.Cleanup(func() { tp.Shutdown(context.Background()) })
		cfg := fastConfig()
		cfg.TracerProvider = tp
		b := setup(t, url, cfg)
		type args struct{ N int }
		handlerSpans := make(chan trace.SpanContext, 10)
		sluice.Handle(b.client, "traced.job", func(ctx context.Context, job *sluice.Job, a args) error {
			handlerSpans <- trace.SpanContextFromContext(ctx)
			return sluice.Permanent(errors.New("no such invoice"))
		}, &sluice.TypeOptions{MaxAttempts: 1})
		sluice.Handle(b.client, "untraced.job", func(ctx context.Context, job *sluice.Job, a args) error {
			handlerSpans <- trace.SpanContextFromContext(ctx)
			return nil
		}, nil)

		ctx, parent := tp.Tracer("test").Start(b.ctx, "request")
		res, err := b.client.Enqueue(ctx, sluice.NewJob{App: b.app.Name, Type: "traced.job", Payload: args{1}, Tags: []string{"t1"}})
		parent.End()
		if err != nil {
			t.Fatal(err)
		}
		psc := parent.SpanContext()
		if res.Job.Trace == nil || res.Job.Trace.TraceID() != psc.TraceID().String() {
			t.Fatalf("the enqueued job's trace = %+v, want trace %s", res.Job.Trace, psc.TraceID())
		}
		plain, err := b.client.Enqueue(b.ctx, sluice.NewJob{App: b.app.Name, Type: "untraced.job", Payload: args{2}})
		if err != nil {
			t.Fatal(err)
		}
		if plain.Job.Trace != nil {
			t.Fatalf("a job enqueued outside any span has trace %+v", plain.Job.Trace)
		}
		b.start(t)
		entry := b.waitForDead(t, res.Job.ID.String())
		seen := []trace.SpanContext{<-handlerSpans, <-handlerSpans}

		if entry.Trace == nil || entry.Trace.TraceID() != psc.TraceID().String() {
			t.Fatalf("the dead-letter entry's trace = %+v, want trace %s", entry.Trace, psc.TraceID())
		}
		if !slices.Equal(entry.Tags, []string{"t1"}) {
			t.Fatalf("the entry's tags = %q", entry.Tags)
		}
		waitFor(t, "both attempt spans to end", func() bool { return len(recorder.Ended()) >= 3 })
		spans := map[string]sdktrace.ReadOnlySpan{}
		for _, s := range recorder.Ended() {
			spans[s.Name()] = s
		}
		traced, untraced := spans["traced.job"], spans["untraced.job"]
		if traced == nil || untraced == nil {
			t.Fatalf("ended spans: %v", spans)
		}
		if traced.SpanContext().TraceID() != psc.TraceID() || traced.Parent().SpanID() != psc.SpanID() || !traced.Parent().IsRemote() {
			t.Fatalf("the attempt span is in trace %s under %s, want trace %s under the enqueuing span %s",
				traced.SpanContext().TraceID(), traced.Parent().SpanID(), psc.TraceID(), psc.SpanID())
		}
		if traced.SpanKind() != trace.SpanKindConsumer {
			t.Fatalf("the attempt span's kind is %s", traced.SpanKind())
		}
		carried := func(sc trace.SpanContext) bool {
			return slices.ContainsFunc(seen, func(h trace.SpanContext) bool { return h.Equal(sc) })
		}
		if !carried(traced.SpanContext()) || !carried(untraced.SpanContext()) {
			t.Fatal("the handlers' contexts do not carry their attempt spans")
		}
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range traced.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		for k, want := range map[attribute.Key]string{
			"sluice.job.id": res.Job.ID.String(), "sluice.app.id": b.app.ID.String(), "sluice.job.type": "traced.job",
			"sluice.job.outcome": "dead_letter", "messaging.system": "sluice",
		} {
			if got := attrs[k].Emit(); got != want {
				t.Errorf("attribute %s = %q, want %q", k, got, want)
			}
		}
		if got := attrs["sluice.job.attempt"].AsInt64(); got != 1 {
			t.Errorf("attribute sluice.job.attempt = %d, want 1", got)
		}
		if traced.Status().Code != codes.Error || len(traced.Events()) == 0 || traced.Events()[0].Name != "exception" {
			t.Errorf("the failed attempt's span has status %+v and events %+v, want the error recorded", traced.Status(), traced.Events())
		}
		if untraced.Parent().IsValid() || untraced.SpanContext().TraceID() == psc.TraceID() || untraced.Status().Code == codes.Error {
			t.Errorf("the untraced job's span: parent %v, trace %s, status %+v; want a root span of its own, not an error",
				untraced.Parent(), untraced.SpanContext().TraceID(), untraced.Status())
		}

		replayed, err := b.client.DLQ().Replay(b.ctx, entry.ID)
		if err != nil {
			t.Fatal(err)
		}
		if replayed.Trace == nil || *replayed.Trace != *entry.Trace || !slices.Equal(replayed.Tags, entry.Tags) {
			t.Fatalf("the replayed job has trace %+v and tags %q, want the entry's %+v and %q", replayed.Trace, replayed.Tags, entry.Trace, entry.Tags)
		}
		<-handlerSpans
		waitFor(t, "the replay's attempt span to end", func() bool { return len(recorder.Ended()) >= 4 })
		last := recorder.Ended()[3]
		if last.Name() != "traced.job" || last.SpanContext().TraceID() != psc.TraceID() || last.Parent().SpanID() != psc.SpanID() {
			t.Fatalf("the replay's attempt span %s is in trace %s under %s, want the original trace", last.Name(), last.SpanContext().TraceID(), last.Parent().SpanID())
		}
	})
}
