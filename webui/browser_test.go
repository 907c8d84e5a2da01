package webui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/httpapi"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/sqlitestore"
	"github.com/sluicehq/sluice/webui"
)

// chromiumPath is where scripts/test.sh installs the browser (Debian's chromium package).
const chromiumPath = "/usr/bin/chromium"

// shotsEnv names a directory that, when set, receives a copy of every screenshot the
// tests take, for people to look at. The tests always write them to a temporary directory.
const shotsEnv = "SLUICE_UI_SHOTS"

var backends = map[string]func(testing.TB) string{"postgres": testdb.Postgres, "sqlite": testdb.SQLite}

// fixture is a real server on a real store, with dead-letter entries made by the engine.
type fixture struct {
	ctx    context.Context
	client *sluice.Client
	srv    *httptest.Server
	admin  string // an admin token

	mu     sync.Mutex
	writes []observed // what reached the API's bulk replay route
}

// observed is one request to POST /v1/dlq/replay as the server saw it.
type observed struct {
	status    int
	cookie    bool
	fetchSite string
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// newFixture opens a store at url, migrates it and serves the API with the UI mounted, as
// sluice serve does. Requests to the bulk replay route are recorded, changing nothing.
func newFixture(t *testing.T, url string) *fixture {
	t.Helper()
	ctx := context.Background()
	c, err := sluice.Open(ctx, url, &sluice.Config{PollInterval: 20 * time.Millisecond, RescueInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if _, err := c.Store().MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{ctx: ctx, client: c}
	api := httpapi.New(c, httpapi.Options{UI: webui.Handler()})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/dlq/replay" {
			api.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		api.ServeHTTP(rec, r)
		_, err := r.Cookie("sluice_session")
		f.mu.Lock()
		f.writes = append(f.writes, observed{status: rec.status, cookie: err == nil, fetchSite: r.Header.Get("Sec-Fetch-Site")})
		f.mu.Unlock()
	}))
	t.Cleanup(f.srv.Close)
	_, f.admin, err = c.CreateToken(ctx, sluice.TokenParams{Name: "ui test"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) token(t *testing.T, p sluice.TokenParams) string {
	t.Helper()
	_, secret, err := f.client.CreateToken(f.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func (f *fixture) app(t *testing.T, name string) sluice.App {
	t.Helper()
	a, err := f.client.CreateApp(f.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// failing describes jobs that dead-letter: n jobs of one app and type whose handler always
// fails with errText(job, attempt), after attempts attempts.
type failing struct {
	app, jobType string
	n, attempts  int
	errText      func(n, attempt int) string
}

type item struct {
	N    int    `json:"n"`
	Note string `json:"note,omitempty"`
}

// deadLetter runs the engine until every job of every spec is in the dead-letter queue.
// Handlers are registered per type; specs sharing a type share its handler and budget.
func (f *fixture) deadLetter(t *testing.T, specs ...failing) {
	t.Helper()
	byType := map[string]failing{}
	for _, s := range specs {
		if _, ok := byType[s.jobType]; ok {
			continue
		}
		byType[s.jobType] = s
		sluice.Handle(f.client, s.jobType, func(ctx context.Context, job *sluice.Job, a item) error {
			return fmt.Errorf("%s", s.errText(a.N, job.Attempts))
		}, &sluice.TypeOptions{MaxAttempts: s.attempts, Backoff: func(int) time.Duration { return 5 * time.Millisecond }})
	}
	if err := f.client.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	var jobs []sluice.NewJob
	for _, s := range specs {
		for i := range s.n {
			jobs = append(jobs, sluice.NewJob{App: s.app, Type: s.jobType, Payload: item{N: i + 1, Note: "customer <b>42</b> & co"}})
		}
	}
	if _, err := f.client.EnqueueMany(f.ctx, jobs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("%d dead-letter entries", len(jobs)), func() bool { return len(f.dead(t, sluice.Filter{})) == len(jobs) })
	if err := f.client.Stop(f.ctx); err != nil {
		t.Fatal(err)
	}
}

// dead lists the un-replayed entries matching the filter.
func (f *fixture) dead(t *testing.T, filter sluice.Filter) []sluice.DeadJob {
	t.Helper()
	page, err := f.client.DLQ().List(f.ctx, filter, sluice.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// browser is one headless Chromium with a fresh profile, and what its page reported.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu       sync.Mutex
	problems []string // uncaught exceptions and JavaScript dialogs
}

// watchScript records Content-Security-Policy violations in every document the page opens.
const watchScript = `window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no browser at %s (scripts/test.sh installs Debian's chromium package): %v", chromiumPath, err)
	}
	profile := t.TempDir()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, shots: t.TempDir()}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchScript}); err != nil {
		t.Fatal(err)
	}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			b.problem(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, desc))
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.problem(fmt.Sprintf("a JavaScript %s opened: %q", ev.Type, ev.Message))
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	t.Cleanup(b.checkClean)
	return b
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

// checkClean fails the test if the page threw, opened a dialog, or broke its policy.
func (b *browser) checkClean() {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
	if err == nil && len(violations) > 0 {
		b.t.Errorf("Content-Security-Policy violations: %q", violations)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Error(p)
	}
}

// do runs browser steps with a deadline, failing the test with what it was doing.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed-" + strings.NewReplacer("/", "-", " ", "-").Replace(b.t.Name()))
		b.t.Fatalf("%s: %v\n%s", what, err, b.state())
	}
}

// state describes where the page is, for a failure's message: its address, the tab's
// history list, and the start of what the screen says.
func (b *browser) state() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var sb strings.Builder
	if hist, err := chromedp.Call(ctx, page.GetNavigationHistory, cdp.Empty{}); err != nil {
		fmt.Fprintf(&sb, "history: %v\n", err)
	} else {
		for i, e := range hist.Entries {
			mark := " "
			if int64(i) == hist.CurrentIndex {
				mark = ">"
			}
			fmt.Fprintf(&sb, "history %s %d %s\n", mark, i, e.URL)
		}
	}
	screen, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\n' + (document.querySelector('main') || document.body).innerText.slice(0, 400)`))
	if err != nil {
		screen = err.Error()
	}
	sb.WriteString("page: " + screen)
	return sb.String()
}

// until waits until the JavaScript expression is truthy.
func (b *browser) until(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Action[chromedp.Void](chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))))
}

// eval returns the value of a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
}

// shot saves a full-page screenshot as NAME.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{b.shots}
	if d := os.Getenv(shotsEnv); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// darkShot saves a screenshot with the page in its dark colour scheme.
func (b *browser) darkShot(name string) {
	b.t.Helper()
	scheme := func(v string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
			return err
		})
	}
	b.do("dark colours", scheme("dark"))
	b.shot(name)
	b.do("light colours", scheme("light"))
}

// signIn loads the UI, pastes the token and waits for the overview.
func (b *browser) signIn(baseURL, token string) {
	b.t.Helper()
	b.do("open the sign-in screen", chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.do("sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#sign-out")))
}

// setValue sets a form control's value as typing would leave it.
func (b *browser) setValue(sel, v string) {
	b.t.Helper()
	b.do("set "+sel, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = %q`, sel, v)))
}

func (b *browser) goTo(hash string) {
	b.t.Helper()
	b.do("go to "+hash, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, hash)))
}

// waitRows waits until the listing shows n rows.
func (b *browser) waitRows(n int) {
	b.t.Helper()
	b.until(fmt.Sprintf("%d rows", n), fmt.Sprintf(`document.querySelectorAll('table.rows tbody tr[data-id]').length === %d`, n))
}

// The story of an operator at 3 a.m.: sign in, see what is dead, find it, read its
// history, replay one, then the rest in bulk after a confirmation that says how many.
func TestOperatorFlow(t *testing.T) {
	t.Parallel()
	for name, newURL := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, newURL(t))
			f.app(t, "acme")
			f.app(t, "globex")
			declined := func(n, attempt int) string {
				if n == 1 && attempt == 2 {
					var sb strings.Builder
					sb.WriteString("panic: runtime error: invalid memory address or nil pointer dereference\n\ngoroutine 42 [running]:\n")
					for i := range 30 {
						fmt.Fprintf(&sb, "github.com/acme/billing.(*Charger).Charge(0xc000%04x)\n\t/src/billing/charge.go:%d +0x1c4\n", i, 100+i)
					}
					return sb.String()
				}
				return fmt.Sprintf("charge INV-%04d: card declined by issuer (code=51, attempt %d)", n, attempt)
			}
			f.deadLetter(t,
				failing{app: "acme", jobType: "invoice.charge", n: 7, attempts: 3, errText: declined},
				failing{app: "globex", jobType: "invoice.charge", n: 3, attempts: 3, errText: declined},
				failing{app: "acme", jobType: "email.send", n: 2, attempts: 1, errText: func(n, _ int) string {
					return fmt.Sprintf("smtp: 421 4.7.0 try again later (message %d)", n)
				}},
			)
			// Jobs without a handler stay pending: the overview counts them too.
			for range 4 {
				if _, err := f.client.Enqueue(f.ctx, sluice.NewJob{App: "globex", Type: "report.build", Payload: item{N: 1}}); err != nil {
					t.Fatal(err)
				}
			}

			b := newBrowser(t)
			b.do("open the sign-in screen", chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
			b.do("sign in with a wrong token",
				chromedp.SendKeys(chromedp.CSS("#token"), "sluice_nope"),
				chromedp.Click(chromedp.CSS("#login button[type=submit]")))
			b.until("the refusal", `document.querySelector('#login .alert.error') !== null`)
			if name == "sqlite" {
				b.shot("0-sign-in-refused")
			}
			b.setValue("#token", "")
			b.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), f.admin), chromedp.Click(chromedp.CSS("#login button[type=submit]")),
				chromedp.WaitVisible(chromedp.CSS("#stats")))
			if got := b.text("#who"); !strings.Contains(got, "admin") {
				t.Errorf("the top bar says %q, want admin", got)
			}
			if eval[bool](b, `document.cookie.includes('sluice')`) {
				t.Error("the session cookie is readable from JavaScript")
			}
			if n := eval[int](b, `localStorage.length + sessionStorage.length`); n != 0 {
				t.Errorf("the UI stored %d items in web storage", n)
			}

			// Overview: counts per app and type, dead counts linking to the filtered DLQ.
			cell := func(app, typ, col string) string {
				return eval[string](b, fmt.Sprintf(`(document.querySelector('tr.stat[data-app=%q][data-type=%q] td.%s') || {}).textContent || ''`, app, typ, col))
			}
			for _, c := range []struct{ app, typ, col, want string }{
				{"acme", "invoice.charge", "dead", "7"},
				{"acme", "email.send", "dead", "2"},
				{"globex", "invoice.charge", "dead", "3"},
				{"globex", "report.build", "pending", "4"},
				{"globex", "report.build", "dead", "0"},
			} {
				if got := cell(c.app, c.typ, c.col); got != c.want {
					t.Errorf("overview %s / %s %s = %q, want %q", c.app, c.typ, c.col, got, c.want)
				}
			}
			if got := b.text("#total-dead .tile-n"); got != "12" {
				t.Errorf("total dead = %q, want 12", got)
			}
			age := eval[string](b, `document.querySelector('tr.stat[data-app="acme"][data-type="invoice.charge"] .age').textContent`)
			if !strings.HasSuffix(age, " s") && !strings.HasSuffix(age, " min") {
				t.Errorf("the oldest dead entry's age reads %q", age)
			}
			if name == "sqlite" {
				b.shot("1-overview")
			}

			// The dead count opens the listing filtered by that app and type.
			b.do("open acme / invoice.charge", chromedp.Click(chromedp.CSS(`a.dead-link[data-app="acme"][data-type="invoice.charge"]`)))
			b.waitRows(7)
			if hash := eval[string](b, `location.hash`); hash != "#/dlq?app=acme&type=invoice.charge" {
				t.Errorf("the filtered listing is at %q", hash)
			}

			// The whole queue, then the filter form narrows it.
			b.goTo("#/dlq")
			b.waitRows(12)
			b.do("filter by app and type",
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-app').value = 'acme'`),
				chromedp.SendKeys(chromedp.CSS("#f-type"), "invoice.charge"),
				chromedp.Click(chromedp.CSS(`#dlq-filter button[type=submit]`)))
			b.until("the filter in the URL", `location.hash === '#/dlq?app=acme&type=invoice.charge'`)
			b.waitRows(7)
			if got := eval[string](b, `[...document.querySelectorAll('#dlq-table tbody td.app')].map((td) => td.textContent).filter((a) => a !== 'acme').join()`); got != "" {
				t.Errorf("the filtered listing shows other apps: %q", got)
			}
			b.do("reload the shared link", chromedp.Reload())
			b.waitRows(7)
			if v := eval[string](b, `document.querySelector('#f-app').value + ' ' + document.querySelector('#f-type').value`); v != "acme invoice.charge" {
				t.Errorf("after a reload the filter reads %q", v)
			}
			b.do("filter by error text", chromedp.SendKeys(chromedp.CSS("#f-error"), "INV-0003"), chromedp.Click(chromedp.CSS(`#dlq-filter button[type=submit]`)))
			b.waitRows(1)
			b.setValue("#f-error", "")
			b.do("clear the error text", chromedp.Click(chromedp.CSS(`#dlq-filter button[type=submit]`)))
			b.waitRows(7)
			if name == "sqlite" {
				b.shot("2-dlq-list")
				b.darkShot("2-dlq-list-dark")
			}

			// The newest entry: its full history, attempt by attempt.
			entries := f.dead(t, sluice.Filter{App: "acme", Type: "invoice.charge"})
			first := entries[0]
			if id := eval[string](b, `document.querySelector('#dlq-table tbody tr[data-id]').dataset.id`); id != first.ID.String() {
				t.Fatalf("the first row is %s, want the newest entry %s", id, first.ID)
			}
			b.do("open the newest entry", chromedp.Click(chromedp.CSS(`#dlq-table tbody tr[data-id] a.row-link`)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
			if n := eval[int](b, `document.querySelectorAll('#timeline li.attempt').length`); n != 3 {
				t.Errorf("the timeline shows %d attempts, want 3", n)
			}
			history := eval[[]string](b, `[...document.querySelectorAll('#timeline li.attempt pre.errtext')].map((p) => p.textContent)`)
			for i, h := range history {
				if want := first.ErrorHistory[len(first.ErrorHistory)-1-i].Error; h != want {
					t.Errorf("timeline item %d reads %q, want %q", i, h, want)
				}
			}
			if got := b.text("#timeline li.attempt .attempt-head strong"); got != "Attempt 3" {
				t.Errorf("the timeline starts with %q, want the newest attempt", got)
			}
			var payload map[string]any
			if err := json.Unmarshal([]byte(b.text("#payload")), &payload); err != nil || payload["note"] != "customer <b>42</b> & co" {
				t.Errorf("the payload reads %v (%v)", payload, err)
			}

			// Entry 1 failed once with a long stack: folded, and unfolded on request.
			var long sluice.DeadJob
			for _, e := range entries {
				var it item
				if err := json.Unmarshal(e.Payload, &it); err == nil && it.N == 1 {
					long = e
				}
			}
			// Opened by its address, as a link pasted from a chat would be: a navigation the
			// browser starts, so Chromium's history intervention (which marks the entry a script
			// navigation leaves without a user gesture as one its Back skips) stays out of the way.
			base := eval[string](b, `location.href.split('#')[0]`)
			b.do("open entry 1 by its address", chromedp.Navigate(base+"#/dlq/"+long.ID.String()))
			b.until("the long error folded", `document.querySelector('#timeline pre.errtext.folded') !== null`)
			if name == "sqlite" {
				b.shot("3-entry-detail")
			}
			b.do("unfold it", chromedp.Click(chromedp.CSS(`#timeline button.fold`)))
			b.until("the long error unfolded", `document.querySelector('#timeline pre.errtext.folded') === null`)
			// The browser's Back, by its history list.
			b.do("go back", chromedp.NavigateBack())
			b.until("the first entry again", fmt.Sprintf(`location.hash === '#/dlq/%s' && document.querySelector('#replay') !== null`, first.ID))

			// Replay it: it leaves the list of un-replayed entries.
			b.do("replay", chromedp.Click(chromedp.CSS("#replay")))
			b.until("the listing again", `location.hash === '#/dlq?app=acme&type=invoice.charge'`)
			b.waitRows(6)
			if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll('tr[data-id=%q]').length`, first.ID)); n != 0 {
				t.Error("the replayed entry is still listed")
			}
			if got := b.text("main > .alert.ok"); !strings.Contains(got, "Replayed") {
				t.Errorf("after a replay the page says %q", got)
			}
			if e, err := f.client.DLQ().Get(f.ctx, first.ID); err != nil || e.ReplayedAt == nil {
				t.Fatalf("the entry was not replayed: %v %+v", err, e)
			}

			// Replay the rest in bulk: a dry run counts them, the dialog says how many.
			b.do("ask for a bulk replay", chromedp.Click(chromedp.CSS("#replay-matching")), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
			if got := b.text("dialog h2"); got != "Replay 6 entries of acme / invoice.charge?" {
				t.Errorf("the confirmation asks %q", got)
			}
			if got := b.text("#dialog-confirm"); got != "Replay 6 entries" {
				t.Errorf("the confirm button reads %q", got)
			}
			if n := len(f.dead(t, sluice.Filter{App: "acme", Type: "invoice.charge"})); n != 6 {
				t.Fatalf("the dry run changed something: %d entries left", n)
			}
			if name == "sqlite" {
				b.shot("4-bulk-confirm")
			}
			b.do("confirm", chromedp.Click(chromedp.CSS("#dialog-confirm")))
			// The replay is an operation, shown with its progress and its pause and cancel
			// buttons until it is done; no worker runs here, so the test runs it.
			b.until("the operation's progress", `document.querySelector('#replay-progress #replay-status') !== null && !document.querySelector('#replay-pause').hidden && !document.querySelector('#replay-cancel').hidden`)
			if got := b.text("#replay-status"); !strings.HasPrefix(got, "running: matched ") {
				t.Errorf("the operation's progress reads %q", got)
			}
			ops, err := f.client.DLQ().Operations(f.ctx, sluice.OperationFilter{}, sluice.ListOptions{Limit: 1})
			if err != nil || len(ops.Items) != 1 {
				t.Fatalf("the UI's replay operation: %v %+v", err, ops)
			}
			if op, err := f.client.DLQ().RunReplay(f.ctx, ops.Items[0].ID, nil); err != nil || op.Replayed != 6 {
				t.Fatalf("running the UI's replay operation: %v %+v", err, op)
			}
			b.until("the result", `(document.querySelector('main > .alert.ok') || {}).textContent === 'Replayed 6 entries of 6 matched.'`)
			b.until("the emptied listing", `document.querySelector('#dlq-table .empty-row') !== null`)
			if n := len(f.dead(t, sluice.Filter{App: "acme", Type: "invoice.charge"})); n != 0 {
				t.Errorf("%d entries are left after the bulk replay", n)
			}
			if n := len(f.dead(t, sluice.Filter{})); n != 5 {
				t.Errorf("the bulk replay touched other entries: %d left, want 5", n)
			}

			// Replay selected entries, one of which someone else replays first: one success,
			// one 409, both reported.
			b.goTo("#/dlq?app=globex")
			b.waitRows(3)
			globex := f.dead(t, sluice.Filter{App: "globex"})

			// The keyboard alone: j/k move between rows, x selects, Enter opens, Esc goes back.
			b.do("j j x", chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent("x"))
			if got := eval[string](b, `[...document.querySelectorAll('input.row-sel')].map((c) => c.checked ? 'x' : '-').join('')`); got != "-x-" {
				t.Errorf("after j j x the selection is %q, want the second row", got)
			}
			b.do("x k Enter", chromedp.KeyEvent("x"), chromedp.KeyEvent("k"), chromedp.KeyEvent("\r"))
			b.until("the first entry", fmt.Sprintf(`location.hash === '#/dlq/%s' && document.querySelector('#timeline') !== null`, globex[0].ID))
			b.do("Esc", chromedp.KeyEvent(kb.Escape))
			b.waitRows(3)
			if got := eval[string](b, `location.hash + ' ' + document.querySelectorAll('input.row-sel:checked').length`); got != "#/dlq?app=globex 0" {
				t.Errorf("after Esc the page is %q", got)
			}
			b.do("/", chromedp.KeyEvent("/"))
			if id := eval[string](b, `document.activeElement.id`); id != "f-app" {
				t.Errorf("/ focused %q, want the filter", id)
			}
			b.do("leave the filter", chromedp.KeyEvent(kb.Escape))

			for _, e := range globex[:2] {
				b.do("select "+e.ID.String(), chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id=%q] input.row-sel`, e.ID))))
			}
			if got := b.text("#replay-selected"); got != "Replay 2 selected" {
				t.Errorf("the selection button reads %q", got)
			}
			if _, err := f.client.DLQ().Replay(f.ctx, globex[1].ID); err != nil {
				t.Fatal(err)
			}
			b.do("replay the selection", chromedp.Click(chromedp.CSS("#replay-selected")), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
			b.do("confirm", chromedp.Click(chromedp.CSS("#dialog-confirm")))
			b.until("the report", `document.querySelector('#refusals') !== null`)
			if got := b.text("#dlq-messages .alert"); got != "Replayed 1 entry. 1 conflict (409): not replayed." {
				t.Errorf("the selection replay reports %q", got)
			}
			if got := b.text("#refusals"); !strings.Contains(got, "409") {
				t.Errorf("the refusal reads %q", got)
			}
			if n := len(f.dead(t, sluice.Filter{App: "globex"})); n != 1 {
				t.Errorf("%d globex entries left, want 1", n)
			}

			// Delete the last globex entry from its page, after a confirmation.
			b.goTo("#/dlq/" + globex[2].ID.String())
			b.do("delete", chromedp.Click(chromedp.CSS("#delete")), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
			b.do("confirm", chromedp.Click(chromedp.CSS("#dialog-confirm")))
			b.until("the emptied listing", `location.hash === '#/dlq?app=globex' && document.querySelector('#dlq-table .empty-row') !== null`)
			if _, err := f.client.DLQ().Get(f.ctx, globex[2].ID); err == nil {
				t.Error("the deleted entry is still there")
			}

			// Failure groups: acme's two smtp 421s differ only in numbers, so they are one
			// group; opening it lists its entries, and the purge goes by the group.
			groups, err := f.client.DLQ().Groups(f.ctx, sluice.Filter{App: "acme"}, sluice.GroupOptions{})
			if err != nil || len(groups) != 1 || groups[0].Count != 2 {
				t.Fatalf("acme's failure groups: %v %+v", err, groups)
			}
			sig := groups[0].Signature
			b.goTo("#/groups")
			b.until("the groups", fmt.Sprintf(`document.querySelector('#groups-table tr[data-signature=%q]') !== null`, sig))
			row := fmt.Sprintf(`#groups-table tr[data-signature=%q]`, sig)
			if got := b.text(row + " td.count"); got != "2" {
				t.Errorf("the group's count reads %q", got)
			}
			if got := b.text(row + " .sample"); !strings.HasPrefix(got, "smtp: 421 4.7.0 try again later (message ") {
				t.Errorf("the group's sample reads %q", got)
			}
			if name == "sqlite" {
				b.shot("5b-groups")
			}
			b.do("open the group", chromedp.Click(chromedp.CSS(row+" a.group-link")))
			b.waitRows(2)
			if hash := eval[string](b, `location.hash`); hash != "#/dlq?app=acme&type=email.send&group="+sig {
				t.Errorf("the group opens %s", hash)
			}
			if got := eval[string](b, `document.querySelector('#f-group').value`); got != sig {
				t.Errorf("the filter's group field holds %q", got)
			}

			// Purge that group, after a dry run that counts it.
			b.do("ask for a purge", chromedp.Click(chromedp.CSS("#purge-matching")), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
			if got := b.text("dialog h2"); got != "Purge 2 entries of acme / email.send in failure group "+sig+"?" {
				t.Errorf("the purge confirmation asks %q", got)
			}
			b.do("confirm", chromedp.Click(chromedp.CSS("#dialog-confirm")))
			b.until("the result", `(document.querySelector('main > .alert.ok') || {}).textContent === 'Purged 2 entries of 2 matched.'`)
			if n := len(f.dead(t, sluice.Filter{})); n != 0 {
				t.Errorf("%d entries left after the purge", n)
			}

			// A bad filter is an API error shown by the form, naming the field.
			b.goTo("#/dlq?failedAfter=2030-01-02T00:00:00.000Z&failedBefore=2030-01-01T00:00:00.000Z")
			b.until("the error", `document.querySelector('#dlq-messages .alert.error') !== null`)
			if got := b.text("#dlq-messages .alert.error"); !strings.Contains(got, "failedBefore") {
				t.Errorf("the error reads %q", got)
			}
			if !eval[bool](b, `document.querySelector('#f-before').getAttribute('aria-invalid') === 'true'`) {
				t.Error("the bad field is not marked")
			}

			// Jobs: the replayed ones are pending again; a job links back to its entry.
			b.goTo("#/jobs?app=acme&type=invoice.charge&status=pending")
			b.until("the jobs", `document.querySelectorAll('#jobs-table tbody tr[data-id]').length === 7`)
			if name == "sqlite" {
				b.shot("6-jobs")
			}
			b.do("open a job", chromedp.Click(chromedp.CSS(`#jobs-table tbody tr[data-id] a.row-link`)), chromedp.WaitVisible(chromedp.CSS(`a[href^="#/dlq/"]`)))
			if name == "sqlite" {
				b.shot("7-job-detail")
			}

			b.do("sign out", chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#token")))
			if code := fetchStatus(b, "/v1/session"); code != http.StatusUnauthorized {
				t.Errorf("after signing out GET /v1/session answers %d", code)
			}
		})
	}
}

// fetchStatus makes a same-origin GET from the page and returns the status.
func fetchStatus(b *browser, path string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	code, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`fetch(%q).then((r) => r.status)`, path), chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatal(err)
	}
	return code
}

// A read-only token sees everything of its app and no button that writes.
func TestReadOnlySeesNoWriteActions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.SQLite(t))
	f.app(t, "acme")
	f.app(t, "globex")
	f.deadLetter(t,
		failing{app: "acme", jobType: "email.send", n: 53, attempts: 1, errText: func(n, _ int) string { return "smtp: 550 mailbox unavailable" }},
		failing{app: "globex", jobType: "email.send", n: 1, attempts: 1, errText: func(n, _ int) string { return "smtp: 550 mailbox unavailable" }},
	)
	b := newBrowser(t)
	b.signIn(f.srv.URL, f.token(t, sluice.TokenParams{App: "acme", ReadOnly: true}))
	if got := b.text("#who"); got != "app acmeread-only" {
		t.Errorf("the top bar says %q", got)
	}
	// Keyset paging: a page of 50, then the rest after "Load more", each entry once.
	b.goTo("#/dlq")
	b.waitRows(50)
	b.do("load more", chromedp.Click(chromedp.CSS("#load-more"), chromedp.NodeVisible))
	b.waitRows(53)
	b.until("no more to load", `document.querySelector('#load-more').hidden`)
	if n := eval[int](b, `new Set([...document.querySelectorAll('#dlq-table tr[data-id]')].map((r) => r.dataset.id)).size`); n != 53 {
		t.Errorf("%d distinct entries listed, want 53", n)
	}
	if got := eval[string](b, `[...document.querySelectorAll('#f-app option')].map((o) => o.textContent).join()`); got != "All apps,acme" {
		t.Errorf("the app filter offers %q", got)
	}
	for _, sel := range []string{"#dlq-toolbar", "#replay-selected", "#replay-matching", "#purge-matching", "input.row-sel", "#select-all", `nav a[href="#/apps"]`} {
		if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)); n != 0 {
			t.Errorf("a read-only session shows %s", sel)
		}
	}
	b.do("open an entry", chromedp.Click(chromedp.CSS(`#dlq-table tbody tr[data-id] a.row-link`)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	for _, sel := range []string{"#replay", "#delete"} {
		if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)); n != 0 {
			t.Errorf("a read-only session shows %s on an entry", sel)
		}
	}
	// The other app's entries are not there, even by a typed-in link.
	other := f.dead(t, sluice.Filter{App: "globex"})[0]
	b.goTo("#/dlq/" + other.ID.String())
	b.until("not found", `(document.querySelector('main .alert') || {}).textContent?.includes('No dead-letter entry has this id')`)
}

// Error texts, payloads, app names and types are shown as text: markup in them is neither
// parsed nor run.
func TestHostileTextIsShownLiterally(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.SQLite(t))
	const (
		app     = `<img src=x onerror="window.__pwned='app'">`
		jobType = `<svg/onload=window.__pwned='type'>`
		errText = `<script>alert(1)</script> and <img src=x onerror="window.__pwned='error';alert(2)">`
	)
	f.app(t, app)
	f.deadLetter(t, failing{app: app, jobType: jobType, n: 1, attempts: 2, errText: func(int, int) string { return errText }})
	entry := f.dead(t, sluice.Filter{})[0]

	b := newBrowser(t)
	b.signIn(f.srv.URL, f.admin)
	b.until("the overview", `document.querySelector('#stats tr.stat') !== null`)
	if got := b.text("#stats .app-name"); got != app {
		t.Errorf("the overview shows the app as %q", got)
	}
	if got := b.text("#stats td.type"); got != jobType {
		t.Errorf("the overview shows the type as %q", got)
	}
	b.do("open the listing", chromedp.Click(chromedp.CSS("a.dead-link")))
	b.waitRows(1)
	if got := b.text("#dlq-table td.err"); got != errText {
		t.Errorf("the listing shows the error as %q", got)
	}
	if got := b.text("#dlq-table td.app"); got != app {
		t.Errorf("the listing shows the app as %q", got)
	}
	b.do("open the entry", chromedp.Click(chromedp.CSS(`#dlq-table a.row-link`)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	for _, got := range eval[[]string](b, `[...document.querySelectorAll('#timeline pre.errtext')].map((p) => p.textContent)`) {
		if got != errText {
			t.Errorf("the timeline shows %q, want it literally", got)
		}
	}
	if got := b.text("main h1"); got != jobType {
		t.Errorf("the title shows %q", got)
	}
	if !strings.Contains(b.text("#payload"), `customer <b>42</b> & co`) {
		t.Error("the payload is not shown literally")
	}
	// What the operator sees: the markup as characters.
	if !strings.Contains(eval[string](b, `document.body.innerText`), `<script>alert(1)</script>`) {
		t.Error("the error text is not visible as text")
	}
	b.shot("5-hostile-text")
	if n := eval[int](b, `document.querySelectorAll('img, svg, script:not([src]), iframe, object').length`); n != 0 {
		t.Errorf("the page has %d elements made from data", n)
	}
	if got := eval[string](b, `String(window.__pwned)`); got != "undefined" {
		t.Errorf("injected script ran: window.__pwned = %s", got)
	}
	if got := eval[string](b, `location.hash`); got != "#/dlq/"+entry.ID.String() {
		t.Errorf("the page moved to %s", got)
	}
	// The filter and the bulk dialog quote them as text too.
	b.goTo("#/dlq?errorContains=" + strings.ReplaceAll(`<img src=x onerror="window.__pwned='filter'">`, " ", "%20"))
	b.until("the listing", `document.querySelector('#dlq-count') !== null && document.querySelector('#dlq-table .empty-row') !== null`)
	b.do("ask for a bulk purge", chromedp.Click(chromedp.CSS("#purge-matching")))
	b.until("nothing matched", `(document.querySelector('#dlq-messages .alert') || {}).textContent === 'No entries match this filter: nothing to purge.'`)
	if got := eval[string](b, `String(window.__pwned)`); got != "undefined" {
		t.Errorf("injected script ran: window.__pwned = %s", got)
	}
}

// A page on another origin that posts a form to the API, while the browser holds the
// session cookie, is refused and changes nothing.
func TestCrossOriginFormPostIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.SQLite(t))
	f.app(t, "acme")
	f.deadLetter(t, failing{app: "acme", jobType: "invoice.charge", n: 3, attempts: 1, errText: func(n, _ int) string {
		return fmt.Sprintf("card declined (code=51, item %d)", n)
	}})

	// The text/plain form trick: the body is {"type":"invoice.charge","errorContains":"="},
	// valid JSON for the bulk replay route, and it would match every entry.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form id="f" method="POST" action="%s/v1/dlq/replay" enctype="text/plain">
<input type="hidden" name='{"type":"invoice.charge","errorContains":"' value='"}'>
</form>
<script>document.getElementById('f').submit()</script>`, f.srv.URL)
	}))
	t.Cleanup(evil.Close)

	b := newBrowser(t)
	b.signIn(f.srv.URL, f.admin)
	b.until("the overview", `document.querySelector('#stats') !== null`)
	b.do("visit the other site", chromedp.Navigate(evil.URL+"/"))
	b.until("the form's answer", fmt.Sprintf(`location.href === %q`, f.srv.URL+"/v1/dlq/replay"))
	b.do("wait for the answer", chromedp.WaitReady(chromedp.CSS("body")))

	f.mu.Lock()
	writes := append([]observed(nil), f.writes...)
	f.mu.Unlock()
	if len(writes) != 1 {
		t.Fatalf("the server saw %d bulk replays, want the one forged post", len(writes))
	}
	w := writes[0]
	if !w.cookie {
		t.Fatalf("the forged post came without the session cookie (Sec-Fetch-Site %q): the test proves nothing", w.fetchSite)
	}
	if w.status != http.StatusForbidden {
		t.Errorf("the forged post was answered %d, want 403", w.status)
	}
	if n := len(f.dead(t, sluice.Filter{})); n != 3 {
		t.Errorf("the forged post replayed entries: %d left of 3", n)
	}
	audit, err := f.client.ListAudit(f.ctx, sluice.ListOptions{})
	if err != nil || len(audit.Items) != 0 {
		t.Errorf("the audit log has %d entries (%v)", len(audit.Items), err)
	}
}

// The overview shows an app's limits (sluice apps limit) beside its name.
func TestOverviewShowsAppLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.SQLite(t))
	f.app(t, "capped")
	if _, err := f.client.SetAppLimits(f.ctx, "capped", sluice.AppLimits{MaxRunning: 3, Rate: 2.5}); err != nil {
		t.Fatal(err)
	}
	f.deadLetter(t, failing{app: "capped", jobType: "t", n: 1, attempts: 1, errText: func(int, int) string { return "boom" }})

	b := newBrowser(t)
	b.signIn(f.srv.URL, f.admin)
	b.until("the overview", `document.querySelector('#stats tr.stat') !== null`)
	if got, want := b.text("#stats .app-limits"), "at most 3 running · 2.5 starts/s, burst 3"; got != want {
		t.Errorf("the overview shows the limits as %q, want %q", got, want)
	}
}

// The overview shows a banner for every trim report (un-replayed dead letters deleted by
// retention) until an admin dismisses it.
func TestOverviewTrimBanner(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.SQLite(t))
	f.app(t, "trimmed")
	f.deadLetter(t, failing{app: "trimmed", jobType: "t", n: 2, attempts: 1, errText: func(int, int) string { return "boom" }})
	if _, err := f.client.SetRetention(f.ctx, sluice.Policy{Kind: sluice.RetainUnreplayed, App: "trimmed", MaxCount: 1}); err != nil {
		t.Fatal(err)
	}
	if res, err := f.client.RunRetention(f.ctx, sluice.RetentionOptions{}); err != nil || res.Deleted[sluice.RetainUnreplayed] != 1 {
		t.Fatalf("RunRetention: %+v, %v", res, err)
	}

	b := newBrowser(t)
	b.signIn(f.srv.URL, f.admin)
	b.until("the trim banner", `document.querySelector('#trim-reports .trim-report') !== null`)
	if got, want := b.text("#trim-reports .trim-report .msg"), "1 un-replayed dead-letter entry of trimmed / t was deleted by retention on"; !strings.HasPrefix(got, want) {
		t.Errorf("the banner says %q, want it to start with %q", got, want)
	}
	b.do("dismiss the banner", chromedp.Click(chromedp.CSS("#trim-reports .dismiss-trim")))
	b.until("the banner to go", `document.querySelector('#trim-reports .trim-report') === null`)
	page, err := f.client.TrimReports(f.ctx, sluice.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("undismissed reports after the click: %+v, %v", page.Items, err)
	}
}

// The Alerts screen lists every alert with its delivery: one given up on after a 503 shows
// its attempts and error, the others are pending; the status filter keeps the failed one.
func TestAlertsView(t *testing.T) {
	t.Parallel()
	for name, newURL := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, newURL(t))
			f.app(t, "alerted")
			f.deadLetter(t, failing{app: "alerted", jobType: "mail", n: 3, attempts: 1, errText: func(int, int) string { return "boom" }})
			st := f.client.Store()
			tok := uuid.New()
			claimed, err := st.ClaimDeadAlerts(f.ctx, store.AlertClaim{Token: tok, Limit: 1, Lease: time.Hour})
			if err != nil || len(claimed) != 1 {
				t.Fatalf("ClaimDeadAlerts = %d, %v", len(claimed), err)
			}
			failed := claimed[0].ID
			if _, err := st.NoteAlertAttempt(f.ctx, tok, store.AlertAttempt{Event: store.AlertEventDeadLettered, ID: failed,
				Error: "webhook: webhook answered 503 Service Unavailable: <b>busy</b>"}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.AckDeadAlerts(f.ctx, tok, []store.AlertAck{{ID: failed, GaveUp: true}}, time.Hour); err != nil {
				t.Fatal(err)
			}

			b := newBrowser(t)
			b.signIn(f.srv.URL, f.admin)
			b.goTo("#/alerts")
			b.waitRows(3)
			row := fmt.Sprintf(`#alerts-table tr[data-id=%q]`, failed.String())
			if got := b.text(row + ` .badge`); got != "failed" {
				t.Errorf("the given-up alert's status shows %q, want failed", got)
			}
			if got := b.text(row + ` .errline`); got != "webhook: webhook answered 503 Service Unavailable: <b>busy</b>" {
				t.Errorf("the given-up alert's error shows %q", got)
			}
			if got := b.text(row + ` td.num`); got != "1" {
				t.Errorf("the given-up alert's attempts show %q, want 1", got)
			}
			if n := eval[int](b, `document.querySelectorAll('#alerts-table tr[data-status="pending"]').length`); n != 2 {
				t.Errorf("%d pending alerts shown, want 2", n)
			}
			b.setValue("#f-alert-status", "failed")
			b.do("apply the filter", chromedp.Click(chromedp.CSS(`#alerts-filter button[type="submit"]`)))
			b.waitRows(1)
			if got := eval[string](b, `location.hash`); got != "#/alerts?status=failed" {
				t.Errorf("the filter's address is %q", got)
			}
			b.shot("alerts")
		})
	}
}

// The Schedules view lists periodic schedules with their timing and state, a stale one
// marked so, and an admin deletes the stale one after a confirmation.
func TestSchedulesView(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.SQLite(t))
	app := f.app(t, "clockwork")
	st := f.client.Store()
	got, err := st.SyncSchedules(f.ctx, []store.ScheduleDef{
		{ID: uuid.Must(uuid.NewV7()), AppID: app.ID, Name: "nightly", Type: "report.build", Cron: "0 3 * * *", TimeZone: "Europe/Berlin",
			Queue: "default", MaxAttempts: 3, Payload: json.RawMessage(`{}`), CatchUp: store.CatchUpLatest},
		{ID: uuid.Must(uuid.NewV7()), AppID: app.ID, Name: "gone", Type: "old.job", Every: 15 * time.Minute, TimeZone: "UTC",
			Queue: "default", MaxAttempts: 25, Payload: json.RawMessage(`{}`), CatchUp: store.CatchUpNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.TickSchedule(f.ctx, store.TickParams{ScheduleID: got[0].ID, Tick: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	// "gone" was last registered an hour ago: no process has it any more.
	if _, err := st.(*sqlitestore.Store).DB().ExecContext(f.ctx, `UPDATE periodic_schedules SET seen_at = seen_at - 3600000000 WHERE name = 'gone'`); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.signIn(f.srv.URL, f.admin)
	b.goTo("#/schedules")
	b.waitRows(2)
	nightly := fmt.Sprintf(`#schedules-table tr[data-id=%q]`, got[0].ID)
	gone := fmt.Sprintf(`#schedules-table tr[data-id=%q]`, got[1].ID)
	if s := b.text(nightly); !strings.Contains(s, "0 3 * * * (Europe/Berlin)") || !strings.Contains(s, "active") || !strings.Contains(s, "report.build") {
		t.Errorf("the nightly row reads %q", s)
	}
	if s := b.text(gone); !strings.Contains(s, "every 15m0s") || !strings.Contains(s, "stale") || !strings.Contains(s, "no catch-up") {
		t.Errorf("the stale row reads %q", s)
	}
	b.do("delete the stale schedule", chromedp.Click(chromedp.CSS(gone+" .delete-schedule")))
	b.until("the confirmation", `document.querySelector('dialog #dialog-confirm') !== null`)
	b.do("confirm", chromedp.Click(chromedp.CSS("dialog #dialog-confirm")))
	b.waitRows(1)
	if _, err := st.GetSchedule(f.ctx, got[1].ID); !errors.Is(err, sluice.ErrNotFound) {
		t.Errorf("after the delete, GetSchedule = %v, want ErrNotFound", err)
	}
	b.checkClean()
}
