// Package badinput_test runs Sluice's one bad-input corpus (internal/badinput) through the Go
// API, the sluice command as a process and the HTTP API over a listener, on PostgreSQL and on
// SQLite. Every case must be refused naming its field, and change nothing; or, where the
// contract says the input is legal, be stored or matched exactly as given; and each surface
// must answer every case identically on both stores.
package badinput_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/badinput"
	"github.com/sluicehq/sluice/internal/testdb"
)

// binary is the sluice command, built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-badinput-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sluice")
	if out, err := exec.Command("go", "build", "-o", binary, "../../cmd/sluice").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sluice: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// stores are the databases the corpus runs on; each gives a fresh one.
var stores = []struct {
	name string
	url  func(testing.TB) string
}{{"postgres", testdb.Postgres}, {"sqlite", testdb.SQLite}}

// TestCorpus runs every case of the corpus on every surface and store, then compares the
// stores' answers surface by surface.
func TestCorpus(t *testing.T) {
	t.Parallel()
	corpus := badinput.Corpus()
	// summaries[store][surface] holds one line per case, compared across stores.
	summaries := map[string]map[badinput.Surface][]string{}
	t.Run("run", func(t *testing.T) {
		// The six runs start together, not as parallel subtests: each is a long chain of
		// round trips that waits on commits, so -parallel (GOMAXPROCS by default) would
		// leave the machine idle while they queue.
		var runs sync.WaitGroup
		defer runs.Wait()
		for _, st := range stores {
			summaries[st.name] = map[badinput.Surface][]string{}
			for _, sf := range badinput.Surfaces {
				out := make([]string, len(corpus))
				summaries[st.name][sf] = out
				runs.Go(func() {
					t.Run(st.name+"/"+string(sf), func(t *testing.T) {
						w := newWorld(t, st.url(t))
						var s surface
						switch sf {
						case badinput.Go:
							s = goSurface{w}
						case badinput.CLI:
							s = cliSurface{w, binary}
						case badinput.HTTP:
							s = newHTTPSurface(w)
						}
						counts := map[string]int{}
						state := w.snapshot()
						for i, c := range corpus {
							out[i], state = runCase(t, w, s, sf, c, state)
							counts[strings.Fields(out[i])[0]]++
						}
						t.Logf("%s on %s: %d cases: %v", sf, st.name, len(corpus), counts)
					})
				})
			}
		}
	})
	if t.Failed() {
		return
	}
	for _, sf := range badinput.Surfaces {
		pg, lite := summaries["postgres"][sf], summaries["sqlite"][sf]
		for i, c := range corpus {
			if pg[i] != lite[i] {
				t.Errorf("%s, %s %q: the stores answer differently:\npostgres: %.600s\nsqlite:   %.600s", sf, c.Op, c.Name, pg[i], lite[i])
			}
		}
	}
	logCounts(t, corpus)
}

// runCase runs one case on one surface, whose stored data before is before, and checks the
// answer. It returns the case's summary line, which starts with "refused", "accepted" or
// "inexpressible", and the stored data after.
func runCase(t *testing.T, w *world, s surface, sf badinput.Surface, c badinput.Case, before snapshot) (string, snapshot) {
	t.Helper()
	what := fmt.Sprintf("%s %q", c.Op, c.Name)
	cursor, after := w.cursor(c.In.Cursor)
	start := time.Now()
	a := s.run(c, cursor)
	if a.inexpressible != "" {
		return "inexpressible: " + a.inexpressible, before
	}
	if relative(c.In) {
		// The time a relative input resolves to, which a message may show, is the clock's.
		a.shown = timestamp.ReplaceAllString(a.shown, "(time)")
	}
	wantField := c.FieldOn(sf)
	if wantField != "" {
		want := s.spell(c.Op, wantField)
		switch {
		case !a.refused:
			t.Errorf("%s: accepted; want it refused naming %s", what, want)
		case a.field != want:
			t.Errorf("%s: refused without naming %s:\n%.800s", what, want, a.shown)
		}
		now := w.snapshot()
		if now.text() != before.text() {
			t.Errorf("%s: refused, but it changed the stored data", what)
		}
		return "refused " + a.shown, now
	}
	now := w.snapshot()
	if a.refused {
		t.Errorf("%s: refused; the contract says it is legal:\n%.800s", what, a.shown)
		return "refused " + a.shown, now
	}
	return "accepted " + checkAccepted(t, w, what, c, a, before, now, after, start), now
}

// timestamp matches an RFC 3339 time in a message.
var timestamp = regexp.MustCompile(`-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

// relative reports whether a case has a time relative to now.
func relative(in badinput.Input) bool {
	return slices.ContainsFunc([]string{in.RunAt, in.FailedAfter, in.FailedBefore}, func(s string) bool {
		return strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+")
	})
}

// checkAccepted checks that a legal input did exactly what the contract says, against the
// stored data before and after (now) it, and returns its summary.
func checkAccepted(t *testing.T, w *world, what string, c badinput.Case, a answer, before, now snapshot, after uuid.UUID, start time.Time) string {
	t.Helper()
	in := c.In
	unchanged := func() {
		if now.text() != before.text() {
			t.Errorf("%s: a read or a dry run changed the stored data", what)
		}
	}
	page := func(all []uuid.UUID) string {
		limit := 50
		if n, err := strconv.Atoi(in.Limit); err == nil && n > 0 {
			limit = n
		}
		want := all[:min(limit, len(all))]
		if !slices.Equal(a.ids, want) || a.next != (len(all) > limit) {
			t.Errorf("%s: listed %v (next page: %v); want %v (next page: %v)", what, a.ids, a.next, want, len(all) > limit)
		}
		var labels []string
		for _, id := range a.ids {
			labels = append(labels, before.label(id))
		}
		return fmt.Sprintf("%q next=%v", labels, a.next)
	}
	switch c.Op {
	case badinput.ListJobs:
		unchanged()
		return page(before.matchJobs(in, after))
	case badinput.ListDead:
		unchanged()
		return page(before.matchDead(in, in.All, after, start))
	case badinput.ListAudit:
		unchanged()
		return page(before.matchAudit(after))
	case badinput.ReplayMany, badinput.Purge:
		// A bulk replay matches un-replayed entries; a purge, every entry.
		matched := before.matchDead(in, c.Op == badinput.Purge, uuid.Nil, start)
		if a.matched != len(matched) {
			t.Errorf("%s: matched %d; want %d", what, a.matched, len(matched))
		}
		if in.DryRun {
			unchanged()
			return fmt.Sprintf("matched %d, dry run", a.matched)
		}
		checkBulk(t, what, c.Op, a, matched, before, now)
		return fmt.Sprintf("matched %d, did %d", a.matched, a.done)
	case badinput.CreateApp:
		got, err := w.client.GetApp(w.ctx, in.App)
		if err != nil || got.Name != in.App || got.ID != a.app.ID || a.app.Name != in.App {
			t.Errorf("%s: created %+v, read back %+v (%v); want the name %q exactly", what, a.app, got, err, in.App)
		}
		if len(now.apps) != len(before.apps)+1 || len(now.jobs) != len(before.jobs) || len(now.dead) != len(before.dead) {
			t.Errorf("%s: changed more than one app", what)
		}
		return "app " + got.Name
	case badinput.Enqueue:
		return checkJob(t, w, what, in, a.jobID, before, now, start)
	case badinput.SetRetention:
		return checkPolicy(t, what, in, before, now)
	case badinput.RenameApp:
		got, err := w.client.GetApp(w.ctx, in.Name)
		if err != nil || got.ID != a.app.ID || a.app.Name != in.Name || len(now.apps) != len(before.apps) ||
			len(now.jobs) != len(before.jobs) || len(now.dead) != len(before.dead) {
			t.Errorf("%s: renamed %+v, read back %+v (%v); want the name %q exactly and nothing else changed", what, a.app, got, err, in.Name)
		}
		return "app " + got.Name
	}
	t.Fatalf("%s: no check for %s", what, c.Op)
	return ""
}

// checkJob checks an enqueued job against its input, read back through the Go API.
func checkJob(t *testing.T, w *world, what string, in badinput.Input, id uuid.UUID, before, now snapshot, start time.Time) string {
	t.Helper()
	j, err := w.client.GetJob(w.ctx, id)
	if err != nil {
		t.Errorf("%s: the enqueued job %s cannot be read back: %v", what, id, err)
		return ""
	}
	if len(now.jobs) != len(before.jobs)+1 || len(now.dead) != len(before.dead) || len(now.apps) != len(before.apps) {
		t.Errorf("%s: changed more than one job", what)
	}
	appID, _ := before.appID(in.App)
	queue, priority, maxAttempts := in.Queue, 0, 25
	if queue == "" {
		queue = "default"
	}
	if n, err := strconv.Atoi(in.Priority); err == nil {
		priority = n
	}
	if n, err := strconv.Atoi(in.MaxAttempts); err == nil && n != 0 {
		maxAttempts = n
	}
	var problems []string
	check := func(field string, got, want any) {
		if got != want {
			problems = append(problems, fmt.Sprintf("%s %v, want %v", field, got, want))
		}
	}
	check("app", j.AppID, appID)
	check("type", j.Type, in.Type)
	check("queue", j.Queue, queue)
	check("priority", j.Priority, priority)
	check("maxAttempts", j.MaxAttempts, maxAttempts)
	check("uniqueKey", j.UniqueKey, in.UniqueKey)
	check("status", j.Status, sluice.StatusPending)
	check("payload", canonical(j.Payload), canonical(in.Payload))
	check("tags", fmt.Sprintf("%q", j.Tags), fmt.Sprintf("%q", in.Tags))
	runAt := "now"
	if want, ok := neutralTime(in.RunAt, start); ok {
		if strings.HasPrefix(in.RunAt, "+") {
			// Relative to the command's own now, a little after start.
			if j.RunAt.Before(want) || j.RunAt.After(want.Add(time.Minute)) {
				problems = append(problems, fmt.Sprintf("runAt %s, want about %s", j.RunAt, want))
			}
		} else {
			check("runAt", j.RunAt.UTC(), want.Truncate(time.Microsecond).UTC())
			runAt = j.RunAt.UTC().Format(time.RFC3339Nano)
		}
	}
	if len(problems) > 0 {
		t.Errorf("%s: the job read back differs from the input: %s", what, strings.Join(problems, "; "))
	}
	return fmt.Sprintf("job %s %s %d %d %q %s %q %s", j.Type, j.Queue, j.Priority, j.MaxAttempts, j.UniqueKey, runAt, j.Tags, canonical(j.Payload))
}

// checkPolicy checks a retention policy that was set: the one policy of its kind and scope
// holds its limits (the max age to the millisecond), and nothing else changed.
func checkPolicy(t *testing.T, what string, in badinput.Input, before, now snapshot) string {
	t.Helper()
	var appID *uuid.UUID
	if in.App != "" {
		id, ok := before.appID(in.App)
		if !ok {
			t.Errorf("%s: set a policy of an app that does not exist", what)
			return ""
		}
		appID = &id
	}
	age, ok := maxAge(in.MaxAge)
	if !ok {
		t.Errorf("%s: set a policy with a max age no surface reads", what)
	}
	count, _ := strconv.ParseInt(in.MaxCount, 10, 64)
	var got []sluice.RetentionPolicy
	for _, p := range now.policies {
		if string(p.Kind) == in.Kind && p.Type == in.Type && (p.AppID == nil) == (appID == nil) && (appID == nil || *p.AppID == *appID) {
			got = append(got, p)
		}
	}
	switch {
	case len(got) != 1:
		t.Errorf("%s: %d policies of the kind and scope, want 1: %+v", what, len(got), got)
		return ""
	case got[0].MaxAge != age.Truncate(time.Millisecond) || got[0].MaxCount != count:
		t.Errorf("%s: stored max age %s and max count %d, want %s and %d", what, got[0].MaxAge, got[0].MaxCount, age.Truncate(time.Millisecond), count)
	}
	if n := len(now.policies) - len(before.policies); n != 0 && n != 1 || len(now.apps) != len(before.apps) ||
		len(now.jobs) != len(before.jobs) || len(now.dead) != len(before.dead) {
		t.Errorf("%s: changed more than one policy", what)
	}
	return fmt.Sprintf("policy %s %q %q %s %d", got[0].Kind, in.App, got[0].Type, got[0].MaxAge, got[0].MaxCount)
}

// maxAge reads a max age as the surface that took it did: a Go duration or whole days.
func maxAge(s string) (time.Duration, bool) {
	if s == "" {
		return 0, true
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		return time.Duration(n) * 24 * time.Hour, err == nil
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// checkBulk checks a bulk replay or purge done for real: it did what it matched, to exactly
// those entries.
func checkBulk(t *testing.T, what string, op badinput.Op, a answer, matched []uuid.UUID, before, now snapshot) {
	t.Helper()
	if a.done != len(matched) {
		t.Errorf("%s: did %d of %d matched", what, a.done, len(matched))
	}
	after := map[uuid.UUID]sluice.DeadJob{}
	for _, d := range now.dead {
		after[d.ID] = d
	}
	for _, d := range before.dead {
		got, still := after[d.ID]
		hit := slices.Contains(matched, d.ID)
		switch {
		case op == badinput.Purge && hit && still:
			t.Errorf("%s: entry %s matched but was not purged", what, d.ID)
		case op == badinput.Purge && !hit && !still:
			t.Errorf("%s: entry %s was purged without matching", what, d.ID)
		case op == badinput.ReplayMany && hit && (!still || got.ReplayedAt == nil):
			t.Errorf("%s: entry %s matched but was not replayed", what, d.ID)
		case op == badinput.ReplayMany && !hit && (!still || !equalDead(got, d)):
			t.Errorf("%s: entry %s changed without matching", what, d.ID)
		}
	}
	wantJobs := len(before.jobs)
	if op == badinput.ReplayMany {
		wantJobs += len(matched)
	}
	if len(now.jobs) != wantJobs || len(now.apps) != len(before.apps) {
		t.Errorf("%s: %d jobs and %d apps after, want %d and %d", what, len(now.jobs), len(now.apps), wantJobs, len(before.apps))
	}
}

func equalDead(a, b sluice.DeadJob) bool {
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

// logCounts logs the corpus's size by category and by operation.
func logCounts(t *testing.T, corpus []badinput.Case) {
	byCat, byOp, legal := map[badinput.Category]int{}, map[badinput.Op]int{}, 0
	for _, c := range corpus {
		byCat[c.Category]++
		byOp[c.Op]++
		if c.Field == "" {
			legal++
		}
	}
	var cats []string
	for _, cat := range badinput.Categories() {
		cats = append(cats, fmt.Sprintf("%s %d", cat, byCat[cat]))
	}
	t.Logf("corpus: %d cases (%d legal), by category: %s; by operation: %v", len(corpus), legal, strings.Join(cats, ", "), byOp)
}
