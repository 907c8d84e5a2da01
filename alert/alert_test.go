package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/alert"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backends are the stores the tests run against; each returns a fresh database URL.
var backends = map[string]func(t testing.TB) string{
	"postgres": testdb.Postgres,
	"sqlite":   testdb.SQLite,
}

// forEachBackend runs fn as a parallel subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	t.Parallel()
	for name, newURL := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newURL(t))
		})
	}
}

// openStore opens (and migrates) the store at url, closing it when the test ends.
func openStore(t *testing.T, url string) store.Store {
	t.Helper()
	st, err := sluice.OpenStore(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

func createApp(t *testing.T, st store.Store) store.App {
	t.Helper()
	app, err := st.CreateApp(t.Context(), store.App{ID: uuid.Must(uuid.NewV7()), Name: "app-" + uuid.NewString()[:8]})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// deadLetter drives n jobs of the app and type into the DLQ through the worker path, each
// failing for good with errText, and returns their entries' ids, oldest first.
func deadLetter(t *testing.T, st store.Store, appID uuid.UUID, typ string, n int, errText string) []uuid.UUID {
	t.Helper()
	ctx := t.Context()
	queue := "q-" + uuid.NewString()[:8]
	jobs := make([]store.InsertJob, n)
	for i := range jobs {
		jobs[i] = store.InsertJob{ID: uuid.Must(uuid.NewV7()), AppID: appID, Type: typ, Queue: queue,
			Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), MaxAttempts: 1}
	}
	if _, err := st.InsertJobs(ctx, nil, jobs); err != nil {
		t.Fatal(err)
	}
	token := uuid.Must(uuid.NewV7())
	var finishes []store.Finish
	for len(finishes) < n {
		claimed, err := st.ClaimJobs(ctx, store.ClaimParams{Queue: queue, Types: []string{typ}, Limit: n,
			LeaseToken: token, LeaseDuration: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if len(claimed) == 0 {
			t.Fatalf("claimed %d of %d jobs, then none", len(finishes), n)
		}
		for _, j := range claimed {
			finishes = append(finishes, store.Finish{Lease: store.Lease{JobID: j.ID, Token: token},
				Outcome: store.OutcomeDeadLetter, Error: errText})
		}
	}
	if _, err := st.FinishJobs(ctx, finishes); err != nil {
		t.Fatal(err)
	}
	entries, err := st.ListDead(ctx, store.DeadFilter{AppID: &appID, Type: typ}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, e := range entries {
		for _, j := range jobs {
			if e.OriginalJobID == j.ID {
				ids = append(ids, e.ID)
			}
		}
	}
	if len(ids) != n {
		t.Fatalf("found %d of the %d entries", len(ids), n)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return ids
}

// request is one webhook request the receiver got.
type request struct {
	event, id, signature string
	body                 []byte
	status               int
}

// receiver is a webhook endpoint that records every request and answers what respond says
// (by the event id and how many requests of that id came before), 200 when it is nil.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(id string, seen int) int
}

func newReceiver(t *testing.T, respond func(id string, seen int) int) *receiver {
	r := &receiver{respond: respond}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get(alert.HeaderEventID)
		r.mu.Lock()
		seen := 0
		for _, q := range r.reqs {
			if q.id == id {
				seen++
			}
		}
		status := http.StatusOK
		if r.respond != nil {
			status = r.respond(id, seen)
		}
		r.reqs = append(r.reqs, request{event: req.Header.Get(alert.HeaderEvent), id: id,
			signature: req.Header.Get(alert.HeaderSignature), body: body, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// delivered counts the requests answered 2xx per event id.
func (r *receiver) delivered() map[string]int {
	out := map[string]int{}
	for _, q := range r.requests() {
		if q.status < 300 {
			out[q.id]++
		}
	}
	return out
}

// counter is an alert.Observer.
type counter struct {
	mu                        sync.Mutex
	delivered, failed, tryErr map[string]int // by event/sink
}

func newCounter() *counter {
	return &counter{delivered: map[string]int{}, failed: map[string]int{}, tryErr: map[string]int{}}
}

func (c *counter) AlertAttemptFailed(event, sink string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tryErr[event+"/"+sink]++
}

func (c *counter) AlertDelivered(event, sink string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delivered[event+"/"+sink]++
}

func (c *counter) AlertFailed(event, sink string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed[event+"/"+sink]++
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const secret = "whsec-test"

// newAlerter makes an alerter with quick retries, closed when the test ends.
func newAlerter(t *testing.T, st store.Store, cfg alert.Config) *alert.Alerter {
	t.Helper()
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff, cfg.MaxRetryBackoff = time.Millisecond, 2*time.Millisecond
	}
	a, err := alert.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func poll(t *testing.T, a *alert.Alerter) alert.PollResult {
	t.Helper()
	res, err := a.Poll(t.Context())
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return res
}

func idStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	slices.Sort(out)
	return out
}

func wantDeliveredOnce(t *testing.T, r *receiver, ids []uuid.UUID, what string) {
	t.Helper()
	got := r.delivered()
	keys := make([]string, 0, len(got))
	for id, n := range got {
		keys = append(keys, id)
		if n != 1 {
			t.Errorf("%s: event %s delivered %d times", what, id, n)
		}
	}
	slices.Sort(keys)
	if want := idStrings(ids); !slices.Equal(keys, want) {
		t.Fatalf("%s: delivered events %v, want %v", what, keys, want)
	}
}

// TestWebhookRetriesUntilDelivered: a receiver that answers 503 twice to every alert, then
// 200, gets every dead-lettered entry, signed, after retries.
func TestWebhookRetriesUntilDelivered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		app := createApp(t, st)
		ids := deadLetter(t, st, app.ID, "email.send", 5, `smtp 10.0.0.7: connection refused`)
		rcv := newReceiver(t, func(_ string, seen int) int {
			if seen < 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		obs := newCounter()
		a := newAlerter(t, st, alert.Config{WebhookURL: rcv.srv.URL, WebhookSecret: secret, Observer: obs})

		res := poll(t, a)
		if res.Entries != 5 || res.GaveUp != 0 {
			t.Fatalf("Poll = %+v, want 5 entries, none given up", res)
		}
		wantDeliveredOnce(t, rcv, ids, "after one poll")
		reqs := rcv.requests()
		if len(reqs) != 15 {
			t.Fatalf("the receiver got %d requests, want 3 per alert (503, 503, 200)", len(reqs))
		}
		for _, q := range reqs {
			if err := alert.Verify(secret, q.signature, q.body, 5*time.Minute, time.Now()); err != nil {
				t.Fatalf("request for %s: Verify: %v (header %q)", q.id, err, q.signature)
			}
			if err := alert.Verify("another secret", q.signature, q.body, 0, time.Now()); !errors.Is(err, alert.ErrBadSignature) {
				t.Fatalf("Verify with the wrong secret = %v, want ErrBadSignature", err)
			}
			var env struct {
				Event string          `json:"event"`
				ID    string          `json:"id"`
				Entry json.RawMessage `json:"entry"`
			}
			if err := json.Unmarshal(q.body, &env); err != nil {
				t.Fatal(err)
			}
			var entry map[string]any
			if err := json.Unmarshal(env.Entry, &entry); err != nil {
				t.Fatal(err)
			}
			if env.Event != alert.EventDeadLettered || q.event != env.Event || env.ID != q.id || entry["id"] != q.id {
				t.Fatalf("envelope %s with headers event=%s id=%s does not match", q.body, q.event, q.id)
			}
			for _, field := range []string{"originalJobId", "appId", "type", "payload", "attempts", "errorHistory", "failedAt"} {
				if _, ok := entry[field]; !ok {
					t.Fatalf("the entry has no %q: %s", field, env.Entry)
				}
			}
		}
		if obs.delivered[alert.EventDeadLettered+"/webhook"] != 5 || len(obs.failed) != 0 ||
			obs.tryErr[alert.EventDeadLettered+"/webhook"] != 10 {
			t.Fatalf("observer delivered=%v failed=%v failed attempts=%v", obs.delivered, obs.failed, obs.tryErr)
		}
		// Operators see every alert delivered, with its three attempts and the last error.
		listed, err := st.ListAlerts(t.Context(), store.AlertQuery{}, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(listed) != 5 {
			t.Fatalf("ListAlerts = %+v, want the 5 alerts", listed)
		}
		for _, l := range listed {
			if l.Status != store.AlertDelivered || l.Attempts != 3 || !strings.HasPrefix(l.LastError, "webhook: ") ||
				!strings.Contains(l.LastError, "503") || l.FinishedAt == nil {
				t.Fatalf("listed alert %+v, want delivered after 3 attempts, the last error a 503", l)
			}
		}
		// Acknowledged: the next poll sends nothing.
		if res := poll(t, a); res.Entries != 0 {
			t.Fatalf("a second poll delivered %d again", res.Entries)
		}
		if n := len(rcv.requests()); n != 15 {
			t.Fatalf("the receiver got %d requests after the second poll, want still 15", n)
		}
	})
}

// TestWebhookClientErrorNotRetried: a 400 is not retried; the alert is given up on, logged
// and counted, and not sent again.
func TestWebhookClientErrorNotRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		app := createApp(t, st)
		ids := deadLetter(t, st, app.ID, "email.send", 3, "boom")
		rcv := newReceiver(t, func(string, int) int { return http.StatusBadRequest })
		obs := newCounter()
		var logs syncBuffer
		a := newAlerter(t, st, alert.Config{WebhookURL: rcv.srv.URL, Observer: obs,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		res := poll(t, a)
		if res.Entries != 3 || res.GaveUp != 3 {
			t.Fatalf("Poll = %+v, want 3 entries, all given up", res)
		}
		reqs := rcv.requests()
		if len(reqs) != 3 {
			t.Fatalf("the receiver got %d requests, want one per alert", len(reqs))
		}
		got := []string{}
		for _, q := range reqs {
			got = append(got, q.id)
			if q.signature != "" {
				t.Fatalf("a request without a secret is signed: %q", q.signature)
			}
		}
		slices.Sort(got)
		if want := idStrings(ids); !slices.Equal(got, want) {
			t.Fatalf("requests for %v, want %v", got, want)
		}
		if obs.failed[alert.EventDeadLettered+"/webhook"] != 3 || len(obs.delivered) != 0 ||
			obs.tryErr[alert.EventDeadLettered+"/webhook"] != 3 {
			t.Fatalf("observer delivered=%v failed=%v failed attempts=%v", obs.delivered, obs.failed, obs.tryErr)
		}
		failed, err := st.ListAlerts(t.Context(), store.AlertQuery{Status: store.AlertFailed}, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 3 || failed[0].Attempts != 1 || !strings.Contains(failed[0].LastError, "400") {
			t.Fatalf("failed alerts %+v, want 3 given up after one attempt answered 400", failed)
		}
		if n := strings.Count(logs.String(), "giving up"); n != 3 {
			t.Fatalf("%d give-ups logged, want 3:\n%s", n, logs.String())
		}
		poll(t, a)
		if n := len(rcv.requests()); n != 3 {
			t.Fatalf("%d requests after another poll, want still 3", n)
		}
	})
}

// TestTwoAlertersDeliverEachOnce: two alerters, each with its own connections, polling the
// same database at once deliver every alert exactly once between them, the group's too.
func TestTwoAlertersDeliverEachOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st1, st2 := openStore(t, url), openStore(t, url)
		app := createApp(t, st1)
		ids := deadLetter(t, st1, app.ID, "email.send", 60, "boom")
		rcv := newReceiver(t, nil)
		cfg := alert.Config{WebhookURL: rcv.srv.URL, WebhookSecret: secret, BatchSize: 7, GroupThreshold: 10}
		a1, a2 := newAlerter(t, st1, cfg), newAlerter(t, st2, cfg)

		var wg sync.WaitGroup
		results := make([]alert.PollResult, 2)
		errs := make([]error, 2)
		for i, a := range []*alert.Alerter{a1, a2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = a.Poll(t.Context())
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if total := results[0].Entries + results[1].Entries; total != 60 {
			t.Fatalf("the alerters acknowledged %d and %d alerts, want 60 in all", results[0].Entries, results[1].Entries)
		}
		if groups := results[0].Groups + results[1].Groups; groups != 1 {
			t.Fatalf("the alerters sent %d and %d group alerts, want 1 in all", results[0].Groups, results[1].Groups)
		}
		var entryRequests []request
		for _, q := range rcv.requests() {
			if q.event == alert.EventDeadLettered {
				entryRequests = append(entryRequests, q)
			}
		}
		if n := len(entryRequests); n != 60 {
			t.Fatalf("the receiver got %d dead-letter requests, want 60", n)
		}
		delivered := rcv.delivered()
		for _, q := range rcv.requests() {
			if q.event == alert.EventGroupThreshold {
				delete(delivered, q.id)
			}
		}
		if len(delivered) != 60 {
			t.Fatalf("%d distinct entries delivered, want 60", len(delivered))
		}
		for _, id := range ids {
			if delivered[id.String()] != 1 {
				t.Fatalf("entry %s delivered %d times", id, delivered[id.String()])
			}
		}
	})
}

// TestRestartResumes: an alerter that stops in the middle of a batch gives back what it did
// not acknowledge; a new one (a restarted process) delivers exactly what is left, including
// the interrupted alert and entries dead-lettered meanwhile, and nothing acknowledged.
func TestRestartResumes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st1 := openStore(t, url)
		app := createApp(t, st1)
		first := deadLetter(t, st1, app.ID, "email.send", 2, "boom")

		// The first process delivers one alert, then hangs on the second until it is stopped.
		blocked := make(chan struct{})
		var once sync.Once
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			io.Copy(io.Discard, req.Body)
			if req.Header.Get(alert.HeaderEventID) == first[0].String() {
				return
			}
			once.Do(func() { close(blocked) })
			<-req.Context().Done()
		}))
		t.Cleanup(hang.Close)
		a1 := newAlerter(t, st1, alert.Config{WebhookURL: hang.URL, AttemptTimeout: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := a1.Poll(ctx)
			done <- err
		}()
		select {
		case <-blocked:
		case err := <-done:
			t.Fatalf("Poll returned %v before the second delivery", err)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("the stopped Poll returned %v, want context.Canceled", err)
		}
		a1.Close()
		st1.Close()

		// The restarted process, with more entries dead-lettered meanwhile.
		st2 := openStore(t, url)
		later := deadLetter(t, st2, app.ID, "email.send", 3, "boom")
		rcv := newReceiver(t, nil)
		a2 := newAlerter(t, st2, alert.Config{WebhookURL: rcv.srv.URL})
		if res := poll(t, a2); res.Entries != 4 {
			t.Fatalf("the restarted alerter acknowledged %d alerts, want 4", res.Entries)
		}
		wantDeliveredOnce(t, rcv, append([]uuid.UUID{first[1]}, later...), "after the restart")
	})
}

// TestFrozenAlerterIsTakenOver: an alerter that hangs in the middle of a delivery (a frozen
// or dead process: it neither acknowledges nor gives back) loses its alerts when its lease
// expires; another alerter delivers all of them, the interrupted one included, and the
// frozen one's late acknowledgement changes nothing.
func TestFrozenAlerterIsTakenOver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st1, st2 := openStore(t, url), openStore(t, url)
		app := createApp(t, st1)
		ids := deadLetter(t, st1, app.ID, "email.send", 3, "boom")

		blocked, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			io.Copy(io.Discard, req.Body)
			once.Do(func() { close(blocked) })
			select {
			case <-release:
			case <-req.Context().Done():
			}
		}))
		t.Cleanup(hang.Close)
		frozen := newAlerter(t, st1, alert.Config{WebhookURL: hang.URL, AttemptTimeout: time.Hour})
		alert.SetLease(frozen, 100*time.Millisecond)
		done := make(chan alert.PollResult, 1)
		go func() {
			res, _ := frozen.Poll(context.WithoutCancel(t.Context()))
			done <- res
		}()
		<-blocked

		rcv := newReceiver(t, nil)
		other := newAlerter(t, st2, alert.Config{WebhookURL: rcv.srv.URL})
		deadline := time.Now().Add(30 * time.Second)
		for len(rcv.delivered()) < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("the other alerter delivered %d of 3 alerts", len(rcv.delivered()))
			}
			poll(t, other)
			time.Sleep(10 * time.Millisecond)
		}
		wantDeliveredOnce(t, rcv, ids, "after the takeover")

		// The frozen alerter wakes up: its delivery "succeeds", its acknowledgement finds the
		// lease gone, and it delivers nothing more.
		close(release)
		if res := <-done; res.Entries != 0 {
			t.Fatalf("the frozen alerter acknowledged %d alerts it no longer held", res.Entries)
		}
		if res := poll(t, other); res.Entries != 0 {
			t.Fatalf("%d alerts left after the takeover", res.Entries)
		}
	})
}

// TestGroupThresholdOnce: a failure group alerts once when it reaches the threshold, not on
// every poll nor after a restart, and again only after falling below and crossing anew.
func TestGroupThresholdOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		app := createApp(t, st)
		rcv := newReceiver(t, nil)
		var mu sync.Mutex
		var called []store.FailureGroup
		cfg := alert.Config{WebhookURL: rcv.srv.URL, WebhookSecret: secret, GroupThreshold: 3,
			OnGroupThreshold: func(_ context.Context, g store.FailureGroup) error {
				mu.Lock()
				defer mu.Unlock()
				called = append(called, g)
				return nil
			}}
		a := newAlerter(t, st, cfg)
		groupRequests := func() []request {
			var out []request
			for _, q := range rcv.requests() {
				if q.event == alert.EventGroupThreshold {
					out = append(out, q)
				}
			}
			return out
		}

		ids := deadLetter(t, st, app.ID, "email.send", 2, "smtp 10.0.0.7: timeout after 30s")
		if res := poll(t, a); res.Groups != 0 {
			t.Fatalf("a group of 2 alerted at threshold 3: %+v", res)
		}
		ids = append(ids, deadLetter(t, st, app.ID, "email.send", 1, "smtp 10.0.0.9: timeout after 31s")...)
		deadLetter(t, st, app.ID, "email.send", 2, "another failure")
		if res := poll(t, a); res.Groups != 1 {
			t.Fatalf("Poll = %+v, want one group alert", res)
		}
		reqs := groupRequests()
		if len(reqs) != 1 || len(called) != 1 {
			t.Fatalf("%d group webhooks and %d callbacks, want 1 and 1", len(reqs), len(called))
		}
		if err := alert.Verify(secret, reqs[0].signature, reqs[0].body, time.Minute, time.Now()); err != nil {
			t.Fatal(err)
		}
		var env struct {
			Event     string             `json:"event"`
			ID        string             `json:"id"`
			Threshold int64              `json:"threshold"`
			Group     store.FailureGroup `json:"group"`
		}
		if err := json.Unmarshal(reqs[0].body, &env); err != nil {
			t.Fatal(err)
		}
		g := called[0]
		if env.Threshold != 3 || env.Group.Count != 3 || env.Group.AppID != app.ID || env.Group.Signature != g.Signature ||
			g.Count != 3 || g.Signature == "" || env.ID != reqs[0].id {
			t.Fatalf("group alert %s, callback %+v", reqs[0].body, g)
		}

		// More entries, more polls, a restarted alerter: no second alert.
		deadLetter(t, st, app.ID, "email.send", 1, "smtp 10.0.0.8: timeout after 29s")
		poll(t, a)
		if res := poll(t, newAlerter(t, st, cfg)); res.Groups != 0 {
			t.Fatalf("a restarted alerter alerted again: %+v", res)
		}
		if n := len(groupRequests()); n != 1 {
			t.Fatalf("%d group alerts, want still 1", n)
		}

		// Below the threshold (two replays leave 2), then across it again: a new alert.
		for _, id := range ids[:2] {
			if _, err := st.ReplayDead(t.Context(), store.ReplayParams{ID: id,
				Defaults: store.ReplayDefaults{Queue: "default", MaxAttempts: 25}}); err != nil {
				t.Fatal(err)
			}
		}
		if res := poll(t, a); res.Groups != 0 {
			t.Fatalf("a group below the threshold alerted: %+v", res)
		}
		deadLetter(t, st, app.ID, "email.send", 1, "smtp 10.0.0.1: timeout after 2s")
		if res := poll(t, a); res.Groups != 1 {
			t.Fatalf("the second crossing: Poll = %+v, want one group alert", res)
		}
		reqs = groupRequests()
		if len(reqs) != 2 || reqs[1].id == reqs[0].id {
			t.Fatalf("group alerts %d, ids %v, want 2 with different ids", len(reqs), reqs)
		}
	})
}

// TestCallbackRetried: a callback's error (or panic) is a failed delivery, retried.
func TestCallbackRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		st := openStore(t, url)
		app := createApp(t, st)
		ids := deadLetter(t, st, app.ID, "email.send", 2, "boom")
		var mu sync.Mutex
		calls := map[uuid.UUID]int{}
		obs := newCounter()
		a := newAlerter(t, st, alert.Config{Observer: obs, OnDeadLetter: func(_ context.Context, e store.DeadJob) error {
			mu.Lock()
			calls[e.ID]++
			n := calls[e.ID]
			mu.Unlock()
			switch n {
			case 1:
				return errors.New("not yet")
			case 2:
				panic("not yet either")
			}
			return nil
		}})
		if res := poll(t, a); res.Entries != 2 || res.GaveUp != 0 {
			t.Fatalf("Poll = %+v", res)
		}
		for _, id := range ids {
			if calls[id] != 3 {
				t.Fatalf("entry %s: %d calls, want 3", id, calls[id])
			}
		}
		if obs.delivered[alert.EventDeadLettered+"/callback"] != 2 {
			t.Fatalf("observer delivered=%v", obs.delivered)
		}
	})
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"job.dead_lettered"}`)
	now := time.Unix(1_700_000_000, 0)
	h := alert.Sign("s3cret", now, body)
	if !strings.HasPrefix(h, "t=1700000000,v1=") {
		t.Fatalf("Sign = %q", h)
	}
	cases := []struct {
		name   string
		header string
		body   []byte
		at     time.Time
		want   error
	}{
		{"valid", h, body, now.Add(time.Minute), nil},
		{"rotated secret listed too", h + ",v1=00ff", body, now, nil},
		{"body changed", h, append(slices.Clone(body), ' '), now, alert.ErrBadSignature},
		{"too old", h, body, now.Add(10 * time.Minute), alert.ErrStale},
		{"no header", "", body, now, alert.ErrNoSignature},
		{"no v1", "t=1700000000", body, now, alert.ErrNoSignature},
	}
	for _, c := range cases {
		if err := alert.Verify("s3cret", c.header, c.body, 5*time.Minute, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg   alert.Config
		field string
	}{
		{alert.Config{}, "Alerts"},
		{alert.Config{WebhookURL: "ftp://x"}, "Alerts.WebhookURL"},
		{alert.Config{WebhookURL: "http://x", GroupThreshold: -1}, "Alerts.GroupThreshold"},
		{alert.Config{WebhookURL: "http://x", PollInterval: -1}, "Alerts.PollInterval"},
	} {
		_, err := alert.New(nil, c.cfg)
		var fe *alert.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("New(%+v) = %v, want a FieldError on %s", c.cfg, err, c.field)
		}
	}
}
