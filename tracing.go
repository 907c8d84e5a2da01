package sluice

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/store"
)

// TracerName is the instrumentation scope of the spans Sluice starts.
const TracerName = "github.com/sluicehq/sluice"

// traceFormat is how a job keeps its trace context: W3C Trace Context, whatever propagator
// the application has made global, so that every Sluice process reads what any other wrote.
var traceFormat propagation.TraceContext

// traceOf returns the W3C trace context of ctx's span, or nil when ctx has no valid span
// context: an enqueue outside any trace costs one look-up in ctx.
func traceOf(ctx context.Context) *store.TraceContext {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	carrier := propagation.MapCarrier{}
	traceFormat.Inject(ctx, carrier)
	return &store.TraceContext{TraceParent: carrier["traceparent"], TraceState: carrier["tracestate"]}
}

// withRemoteTrace returns ctx with the trace context tc as its remote parent span context;
// ctx itself when tc is nil or not a valid traceparent.
func withRemoteTrace(ctx context.Context, tc *store.TraceContext) context.Context {
	if tc == nil {
		return ctx
	}
	return traceFormat.Extract(ctx, propagation.MapCarrier{"traceparent": tc.TraceParent, "tracestate": tc.TraceState})
}

// startAttemptSpan starts the span of one attempt of job, a consumer span named after the job
// type: a child of the span that enqueued the job when the job carries a trace context (also
// when a replay carried it over from the dead-letter entry), else the root of a trace of its
// own. The handler's context carries it, so the handler's own spans are its children.
func (e *engine) startAttemptSpan(ctx context.Context, job *Job) (context.Context, trace.Span) {
	ctx, span := e.tracer.Start(withRemoteTrace(ctx, job.Trace), job.Type, trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() { // without a recording tracer, an attempt builds no attributes
		span.SetAttributes(
			attribute.String("messaging.system", "sluice"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", job.Queue),
			attribute.String("sluice.job.id", job.ID.String()),
			attribute.String("sluice.app.id", job.AppID.String()),
			attribute.String("sluice.job.type", job.Type),
			attribute.Int("sluice.job.attempt", job.Attempts),
			attribute.Int("sluice.job.max_attempts", job.MaxAttempts),
		)
	}
	return ctx, span
}

// endAttemptSpan records how the attempt ended and ends its span: the outcome as an
// attribute, and for a failed attempt (retried, dead-lettered or cancelled) the handler's
// error as an exception event and the span's error status.
func endAttemptSpan(span trace.Span, err error, f store.Finish) {
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(attribute.String("sluice.job.outcome", f.Outcome.String()))
	switch f.Outcome {
	case store.OutcomeRetry, store.OutcomeDeadLetter, store.OutcomeCancel:
		span.RecordError(err)
		span.SetStatus(codes.Error, f.Error)
	}
	span.End()
}
