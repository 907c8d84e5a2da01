package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

// jobView is a job as the API shows it: its payload redacted (sluice.Config.Redact), with a
// link to its trace when Options.TraceURL is set.
type jobView struct {
	sluice.Job
	TraceURL string `json:"traceUrl,omitempty"`
}

// deadView is a dead-letter entry as the API shows it, like jobView.
type deadView struct {
	sluice.DeadJob
	TraceURL string `json:"traceUrl,omitempty"`
}

// MarshalJSON writes the job as sluice.Job writes it, with traceUrl added when set.
func (v jobView) MarshalJSON() ([]byte, error) { return withTraceURL(v.Job, v.TraceURL) }

// MarshalJSON writes the entry as sluice.DeadJob writes it, with traceUrl added when set.
func (v deadView) MarshalJSON() ([]byte, error) { return withTraceURL(v.DeadJob, v.TraceURL) }

// withTraceURL marshals v, a JSON object, with a "traceUrl" member appended when link is set.
func withTraceURL(v any, link string) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil || link == "" {
		return raw, err
	}
	l, err := json.Marshal(link)
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSuffix(bytes.TrimRight(raw, " \n"), []byte("}"))
	return append(append(append(raw, `,"traceUrl":`...), l...), '}'), nil
}

// enqueueView is an enqueue's answer.
type enqueueView struct {
	Job       jobView `json:"job"`
	Duplicate bool    `json:"duplicate"`
}

func (s *server) showJob(j sluice.Job) jobView {
	j.Payload = s.client.RedactPayload(j.Type, j.Payload)
	return jobView{Job: j, TraceURL: s.traceURL(j.Trace)}
}

func (s *server) showDead(e sluice.DeadJob) deadView {
	e.Payload = s.client.RedactPayload(e.Type, e.Payload)
	return deadView{DeadJob: e, TraceURL: s.traceURL(e.Trace)}
}

// showPage shows every item of a page.
func showPage[T, V any](p sluice.Page[T], show func(T) V) sluice.Page[V] {
	out := sluice.Page[V]{Items: make([]V, len(p.Items)), NextCursor: p.NextCursor}
	for i, it := range p.Items {
		out.Items[i] = show(it)
	}
	return out
}

// traceIDPlaceholder is what Options.TraceURL holds where the trace id goes.
const traceIDPlaceholder = "{trace_id}"

// traceURL is the link to a trace, or "" without a trace or a template.
func (s *server) traceURL(tc *store.TraceContext) string {
	id := tc.TraceID()
	if s.opts.TraceURL == "" || id == "" {
		return ""
	}
	return strings.ReplaceAll(s.opts.TraceURL, traceIDPlaceholder, id)
}

// CheckTraceURL checks a trace link template for Options.TraceURL: an absolute http or https
// URL holding {trace_id}, like https://tempo.example/trace/{trace_id}.
func CheckTraceURL(template string) error {
	if !strings.Contains(template, traceIDPlaceholder) {
		return fmt.Errorf("must hold %s where the trace id goes, like https://tempo.example/trace/%s", traceIDPlaceholder, traceIDPlaceholder)
	}
	u, err := url.Parse(strings.ReplaceAll(template, traceIDPlaceholder, "0"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http:// or https:// URL, got %q", template)
	}
	return nil
}

// withRequestTrace returns ctx with the W3C trace context of the request's traceparent and
// tracestate headers, when they hold a valid one.
func withRequestTrace(ctx context.Context, h http.Header) context.Context {
	if h.Get("traceparent") == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(h))
}
