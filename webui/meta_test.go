package webui_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/httpapi"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/webui"
)

// An operator sees a dead job's tags and a link to the trace that enqueued it, finds it by
// tag, and never sees the payload fields the server redacts.
func TestTagsTraceAndRedactedPayloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := sluice.Open(ctx, testdb.SQLite(t), &sluice.Config{PollInterval: 20 * time.Millisecond,
		Redact: []string{"card.number", "items[*].ssn"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	if _, err := c.Store().MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateApp(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(c, httpapi.Options{UI: webui.Handler(), TraceURL: "https://tempo.example/trace/{trace_id}"}))
	t.Cleanup(srv.Close)
	_, admin, err := c.CreateToken(ctx, sluice.TokenParams{Name: "ui"})
	if err != nil {
		t.Fatal(err)
	}

	const secret, ssn = "4111-1111-1111-1111", "078-05-1120"
	payload := map[string]any{"card": map[string]string{"number": secret, "holder": "Ada"}, "items": []map[string]string{{"ssn": ssn}}}
	type charge struct{}
	sluice.Handle(c, "invoice.charge", func(context.Context, *sluice.Job, charge) error {
		return sluice.Permanent(errors.New("card declined"))
	}, nil)
	traceID, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	spanID, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	traced := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
	if _, err := c.EnqueueMany(traced, []sluice.NewJob{
		{App: "acme", Type: "invoice.charge", Payload: payload, Tags: []string{"vip", "region:eu"}},
		{App: "acme", Type: "invoice.charge", Payload: payload},
		{App: "acme", Type: "report.build", Payload: payload, Tags: []string{"vip"}}, // no handler: stays pending
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two dead-letter entries", func() bool {
		page, err := c.DLQ().List(ctx, sluice.Filter{}, sluice.ListOptions{})
		return err == nil && len(page.Items) == 2
	})
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.signIn(srv.URL, admin)
	b.goTo("#/dlq?tag=vip")
	b.waitRows(1)
	if got := b.text("#dlq-table tbody tr[data-id] .tags"); got != "vipregion:eu" {
		t.Errorf("the row's tags read %q", got)
	}
	if got := eval[string](b, `document.querySelector('#f-tag').value`); got != "vip" {
		t.Errorf("the tag filter holds %q", got)
	}
	b.shot("dlq-by-tag")
	b.do("open the entry", chromedp.Click(chromedp.CSS(`#dlq-table tbody tr[data-id] a.row-link`)), chromedp.WaitVisible(chromedp.CSS("#payload")))
	shown := b.text("#payload")
	if strings.Contains(shown, secret) || strings.Contains(shown, ssn) || strings.Count(shown, `"[redacted]"`) != 2 || !strings.Contains(shown, "Ada") {
		t.Errorf("the entry's payload shows:\n%s", shown)
	}
	if got := b.text("#trace-id"); got != traceID.String() {
		t.Errorf("the entry's trace id reads %q", got)
	}
	if got := eval[string](b, `document.querySelector('#trace-link').href`); got != "https://tempo.example/trace/"+traceID.String() {
		t.Errorf("the trace link goes to %q", got)
	}
	if got := eval[string](b, `document.querySelector('#trace-link').rel`); got != "noopener noreferrer" {
		t.Errorf("the trace link's rel is %q", got)
	}
	b.shot("entry-with-trace")

	b.goTo("#/jobs?tag=vip")
	b.waitRows(1)
	b.do("open the pending job", chromedp.Click(chromedp.CSS(`#jobs-table tbody tr[data-id] a.row-link`)), chromedp.WaitVisible(chromedp.CSS("#payload")))
	if shown := b.text("#payload"); strings.Contains(shown, secret) || !strings.Contains(shown, `"[redacted]"`) {
		t.Errorf("the job's payload shows:\n%s", shown)
	}
	b.do("follow the job's tag", chromedp.Click(chromedp.CSS(`.meta .tags a.tag`)))
	b.until("the jobs listing by tag", `location.hash === '#/jobs?tag=vip'`)
}
