package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
)

// dlqEnv is a test database with two apps and five dead-letter entries: billing has three
// email.send entries (one failing with "timeout") and one sms.send; search has one email.send.
type dlqEnv struct {
	*env
	entries []sluice.DeadJob // newest first
	billing sluice.App
}

func setupDLQ(t *testing.T) *dlqEnv {
	t.Helper()
	e := setup(t)
	var billing sluice.App
	e.json(&billing, "apps", "create", "billing")
	e.ok("apps", "create", "search")
	entries := e.deadLetter(
		failing("billing", "email.send", "smtp: connection refused"),
		failing("billing", "email.send", "smtp: timeout after 30s"),
		failing("billing", "sms.send", "sms gateway said no"),
		failing("billing", "email.send", "smtp: connection refused"),
		failing("search", "email.send", "index closed"),
	)
	if len(entries) != 5 {
		t.Fatalf("want 5 entries, got %d", len(entries))
	}
	return &dlqEnv{env: e, entries: entries, billing: billing}
}

// ids lists the ids of the un-replayed entries the dlq list arguments match, walking every
// page of the given size as the next-page hint on stderr says.
func (e *dlqEnv) ids(limit int, args ...string) []string {
	e.t.Helper()
	var ids []string
	var resume []string
	for pages := 0; ; pages++ {
		if pages > 20 {
			e.t.Fatal("paging does not end")
		}
		var p page[sluice.DeadJob]
		stderr := e.json(&p, append(append([]string{"dlq", "list", "--limit", fmt.Sprint(limit)}, args...), resume...)...)
		for _, d := range p.Items {
			ids = append(ids, d.ID.String())
		}
		if p.NextCursor == "" {
			return ids
		}
		m := resumeHint.FindStringSubmatch(stderr)
		if m == nil || !strings.HasSuffix(m[1], "--cursor "+p.NextCursor) {
			e.t.Fatalf("no next-page hint with the cursor %s on stderr: %q", p.NextCursor, stderr)
		}
		// The hint's flags replace those of the command line that ran: a resolved time stays
		// for the later pages, and the cursor moves on.
		resume = overlay(resume, strings.Fields(m[1]))
	}
}

// overlay sets each --flag value pair of over in the flag pairs of base.
func overlay(base, over []string) []string {
	out := append([]string(nil), base...)
next:
	for i := 0; i+1 < len(over); i += 2 {
		for j := 0; j+1 < len(out); j += 2 {
			if out[j] == over[i] {
				out[j+1] = over[i+1]
				continue next
			}
		}
		out = append(out, over[i], over[i+1])
	}
	return out
}

// idsOf lists the ids of entries matching keep, newest first.
func (e *dlqEnv) idsOf(keep func(d sluice.DeadJob) bool) []string {
	var ids []string
	for _, d := range e.entries {
		if keep(d) {
			ids = append(ids, d.ID.String())
		}
	}
	return ids
}

func (e *dlqEnv) checkIDs(args []string, want []string) {
	e.t.Helper()
	if got := e.ids(2, args...); strings.Join(got, " ") != strings.Join(want, " ") {
		e.t.Fatalf("dlq list %q:\n got %v\nwant %v", args, got, want)
	}
}

func TestDLQListAndShow(t *testing.T) {
	t.Parallel()
	e := setupDLQ(t)
	all := e.idsOf(func(sluice.DeadJob) bool { return true })
	e.checkIDs(nil, all)
	e.checkIDs([]string{"--app", "billing"}, e.idsOf(func(d sluice.DeadJob) bool { return d.AppID == e.billing.ID }))
	e.checkIDs([]string{"--type", "email.send"}, e.idsOf(func(d sluice.DeadJob) bool { return d.Type == "email.send" }))
	e.checkIDs([]string{"--app", "search", "--type", "email.send"}, e.idsOf(func(d sluice.DeadJob) bool { return d.LastError() == "index closed" }))
	e.checkIDs([]string{"--error-contains", "refused"}, e.idsOf(func(d sluice.DeadJob) bool { return strings.Contains(d.LastError(), "refused") }))
	e.checkIDs([]string{"--failed-after", "-1h"}, all)
	e.checkIDs([]string{"--failed-after", "-1d", "--failed-before", "+1m"}, all)
	e.checkIDs([]string{"--failed-before", "-1h"}, nil)
	e.checkIDs([]string{"--failed-after", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, nil)

	// The human table, and the next-page hint on stderr.
	r := e.run("dlq", "list", "--limit", "2")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "LAST ERROR") ||
		strings.Contains(lines[0], "REPLAYED AT") || !strings.Contains(lines[1], all[0]) || !humanTime.MatchString(lines[1]) {
		t.Fatalf("dlq list: %s", r)
	}
	if !cursorHint.MatchString(r.stderr) {
		t.Fatalf("dlq list: no cursor hint on stderr: %s", r)
	}
	r = e.ok("dlq", "list", "--type", "sms.send", "--all")
	if !strings.Contains(r.stdout, "REPLAYED AT") || !strings.Contains(r.stdout, "billing") || !strings.Contains(r.stdout, "sms gateway said no") {
		t.Fatalf("dlq list --all: %s", r)
	}
	if r := e.ok("dlq", "list", "--app", "search", "--type", "sms.send"); r.stdout != "No dead-letter entries.\n" {
		t.Fatalf("empty dlq list: %s", r)
	}

	// Bad input names the flag.
	e.fail(exitUsage, []string{"--failed-after: must be an RFC 3339 time"}, "dlq", "list", "--failed-after", "yesterday")
	e.fail(exitUsage, []string{"--failed-before: must be an RFC 3339 time"}, "dlq", "list", "--failed-before", "2h")
	e.fail(exitUsage, []string{"--failed-before: must be later than"}, "dlq", "list", "--failed-after", "-1h", "--failed-before", "-2h")
	e.fail(exitUsage, []string{`--app: no app has the id or name "nope"`}, "dlq", "list", "--app", "nope")
	e.fail(exitUsage, []string{"--limit: must be between 1 and 1000, got 0"}, "dlq", "list", "--limit", "0")
	r = e.run("dlq", "list", "--limit", "1")
	m := cursorHint.FindStringSubmatch(r.stderr)
	e.fail(exitUsage, []string{"--cursor: belongs to a listing with a different filter"}, "dlq", "list", "--limit", "1", "--all", "--cursor", m[1])

	// show, human and JSON.
	var d sluice.DeadJob
	for _, x := range e.entries {
		if strings.Contains(x.LastError(), "timeout") {
			d = x
		}
	}
	r = e.ok("dlq", "show", d.ID.String())
	for _, want := range []string{d.ID.String(), d.OriginalJobID.String(), "(billing)", "email.send", "failed at:", "replayed:", "no",
		`"err": "smtp: timeout after 30s"`, "#1 ", "smtp: timeout after 30s"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("dlq show: stdout lacks %q: %s", want, r)
		}
	}
	if !humanTime.MatchString(r.stdout) {
		t.Fatalf("dlq show: no millisecond UTC time: %s", r)
	}
	var got sluice.DeadJob
	e.json(&got, "dlq", "show", d.ID.String())
	if got.ID != d.ID || got.OriginalJobID != d.OriginalJobID || got.Attempts != 1 || len(got.ErrorHistory) != 1 ||
		got.ErrorHistory[0].Error != "smtp: timeout after 30s" || got.ReplayedAt != nil || !got.FailedAt.Equal(d.FailedAt.Truncate(time.Millisecond)) {
		t.Fatalf("dlq show --json: %+v", got)
	}
	e.fail(exitRuntime, []string{"no dead-letter entry has the id 0190a5a4-0000-7000-8000-000000000000"}, "dlq", "show", "0190a5a4-0000-7000-8000-000000000000")
	e.fail(exitUsage, []string{`ID: must be a UUID, got "x"`}, "dlq", "show", "x")
}

func TestDLQReplayOne(t *testing.T) {
	t.Parallel()
	e := setupDLQ(t)
	d := e.entries[0]

	r := e.ok("dlq", "replay", d.ID.String())
	if !strings.Contains(r.stdout, "Replayed dead-letter entry "+d.ID.String()+" as job ") {
		t.Fatalf("dlq replay: %s", r)
	}
	r = e.fail(exitRuntime, []string{"dead-letter entry " + d.ID.String() + " was already replayed at ", "at most once"}, "dlq", "replay", d.ID.String())
	if !humanTime.MatchString(r.stderr) {
		t.Fatalf("already replayed: %s", r)
	}

	// The entry left the default listing, is in --all, and links to its new job.
	var p page[sluice.DeadJob]
	e.json(&p, "dlq", "list", "--all", "--type", d.Type)
	var replayed *sluice.DeadJob
	for i := range p.Items {
		if p.Items[i].ID == d.ID {
			replayed = &p.Items[i]
		}
	}
	if replayed == nil || replayed.ReplayedAt == nil || replayed.ReplayJobID == nil {
		t.Fatalf("dlq list --all after replay: %+v", p.Items)
	}
	for _, id := range e.ids(50) {
		if id == d.ID.String() {
			t.Fatal("a replayed entry is still in the default listing")
		}
	}
	var job sluice.Job
	e.json(&job, "jobs", "show", replayed.ReplayJobID.String())
	if job.ReplayedFrom == nil || *job.ReplayedFrom != d.ID || job.Attempts != 0 || job.Type != d.Type || compact(t, job.Payload) != compact(t, d.Payload) {
		t.Fatalf("the replayed job: %+v", job)
	}
	r = e.ok("dlq", "show", d.ID.String())
	if !strings.Contains(r.stdout, "as job "+job.ID.String()) {
		t.Fatalf("dlq show of a replayed entry: %s", r)
	}

	// --json prints the new job.
	var j2 sluice.Job
	e.json(&j2, "dlq", "replay", e.entries[1].ID.String())
	if j2.ReplayedFrom == nil || *j2.ReplayedFrom != e.entries[1].ID {
		t.Fatalf("dlq replay --json: %+v", j2)
	}
	e.fail(exitRuntime, []string{"already replayed"}, "dlq", "replay", e.entries[1].ID.String(), "--json")

	e.fail(exitRuntime, []string{"no dead-letter entry has the id"}, "dlq", "replay", "0190a5a4-0000-7000-8000-000000000000")
	e.fail(exitUsage, []string{`ID: must be a UUID, got "nope"`}, "dlq", "replay", "nope")
	e.fail(exitUsage, []string{"do not go with an ID"}, "dlq", "replay", e.entries[2].ID.String(), "--type", "x")
	e.fail(exitUsage, []string{"do not go with an ID"}, "dlq", "replay", e.entries[2].ID.String(), "--dry-run")
	e.fail(exitUsage, []string{"takes at most 1 argument"}, "dlq", "replay", "a", "b")
}

func TestDLQReplayUniqueKeyConflict(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.ok("apps", "create", "billing")
	j := failing("billing", "charge", "card declined")
	j.UniqueKey = "order-7"
	d := e.deadLetter(j)[0]
	// A live job now holds the key, so the entry cannot be replayed.
	e.ok("jobs", "enqueue", "--app", "billing", "--type", "refund", "--payload", "{}", "--unique-key", "order-7")

	e.fail(exitRuntime, []string{"uniqueKey: a pending or running job of the app holds this unique key"}, "dlq", "replay", d.ID.String())
	var res sluice.ReplayOperation
	stderr := e.json(&res, "dlq", "replay", "--type", "charge")
	if res.Matched != 1 || res.Replayed != 0 || res.Failed != 1 || res.Status != sluice.ReplayDone || !strings.Contains(stderr, "Left un-replayed: 1") {
		t.Fatalf("bulk replay with a conflict: %+v, stderr %q", res, stderr)
	}
	if r := e.ok("dlq", "list"); !strings.Contains(r.stdout, d.ID.String()) {
		t.Fatalf("the conflicting entry must stay un-replayed: %s", r)
	}
}

func TestDLQReplayMany(t *testing.T) {
	t.Parallel()
	e := setupDLQ(t)
	all := e.idsOf(func(sluice.DeadJob) bool { return true })
	email := e.idsOf(func(d sluice.DeadJob) bool { return d.Type == "email.send" })

	// A dry run counts and changes nothing.
	r := e.ok("dlq", "replay", "--type", "email.send", "--dry-run")
	if !strings.Contains(r.stdout, "Dry run: 4 entries match and would be replayed. Nothing was changed.") {
		t.Fatalf("dry run: %s", r)
	}
	var res replayOutput
	e.json(&res, "dlq", "replay", "--app", "billing", "--dry-run")
	if res != (replayOutput{sluice.ReplayResult{Matched: 4}, true}) {
		t.Fatalf("dry run --json: %+v", res)
	}
	e.checkIDs(nil, all)

	// Usage errors.
	e.fail(exitUsage, []string{"replay needs an ID or a filter: at least one of --app, --type"}, "dlq", "replay")
	e.fail(exitUsage, []string{"replay needs an ID or a filter"}, "dlq", "replay", "--dry-run", "--rate", "5")
	e.fail(exitUsage, []string{"--rate: must be a positive number"}, "dlq", "replay", "--type", "email.send", "--rate", "-1")
	e.fail(exitUsage, []string{`invalid argument "fast" for "--rate"`}, "dlq", "replay", "--type", "email.send", "--rate", "fast")
	e.fail(exitUsage, []string{"--error-contains: must not contain control characters"}, "dlq", "replay", "--error-contains", "a\x01")

	// Replay by error text and time window, rate-limited.
	// A bulk replay in more than one batch (one entry each at a rate of 1) reports its
	// progress on stderr.
	r = e.run("dlq", "replay", "--error-contains", "refused", "--failed-after", "-1h", "--rate", "1")
	if r.code != 0 || !strings.Contains(r.stderr, "matched 1, replayed 1, failed 0, skipped 0 so far.") {
		t.Fatalf("bulk replay: %s", r)
	}
	if !strings.Contains(r.stdout, "Matched 2, replayed 2, failed 0, skipped 0 (operation ") || !strings.Contains(r.stdout, ", done).") {
		t.Fatalf("bulk replay: %s", r)
	}
	e.checkIDs([]string{"--type", "email.send"}, e.idsOf(func(d sluice.DeadJob) bool {
		return d.Type == "email.send" && !strings.Contains(d.LastError(), "refused")
	}))
	var op sluice.ReplayOperation
	e.json(&op, "dlq", "replay", "--type", "email.send")
	if op.Matched != 2 || op.Replayed != 2 || op.Failed != 0 || op.Status != sluice.ReplayDone || op.Type != "email.send" {
		t.Fatalf("bulk replay --json: %+v", op)
	}
	e.checkIDs(nil, e.idsOf(func(d sluice.DeadJob) bool { return d.Type == "sms.send" }))

	// Nothing left to match.
	if r := e.run("dlq", "replay", "--type", "email.send"); r.code != 0 || !strings.Contains(r.stdout, "Matched 0, replayed 0, failed 0, skipped 0") {
		t.Fatalf("bulk replay of nothing: %s", r)
	}
	var jobs page[sluice.Job]
	e.json(&jobs, "jobs", "list", "--type", "email.send")
	if len(jobs.Items) != len(email) {
		t.Fatalf("want %d replayed jobs, got %d", len(email), len(jobs.Items))
	}
}

func TestDLQPurge(t *testing.T) {
	t.Parallel()
	e := setupDLQ(t)
	all := e.idsOf(func(sluice.DeadJob) bool { return true })

	// Usage errors.
	e.fail(exitUsage, []string{"purge needs an ID, a filter (at least one of --app"}, "dlq", "purge")
	e.fail(exitUsage, []string{"purge needs an ID, a filter"}, "dlq", "purge", "--dry-run")
	e.fail(exitUsage, []string{"purge needs an ID, a filter"}, "dlq", "purge", "--replayed-only")
	e.fail(exitUsage, []string{"--all purges every entry and takes no filter flags"}, "dlq", "purge", "--all", "--type", "x")
	e.fail(exitUsage, []string{"do not go with an ID"}, "dlq", "purge", all[0], "--app", "billing")
	e.fail(exitUsage, []string{"do not go with an ID"}, "dlq", "purge", all[0], "--all")
	e.fail(exitUsage, []string{`ID: must be a UUID, got "x"`}, "dlq", "purge", "x")

	// Dry runs count and change nothing.
	r := e.ok("dlq", "purge", "--type", "email.send", "--dry-run")
	if !strings.Contains(r.stdout, "Dry run: 4 entries match and would be purged. Nothing was changed.") {
		t.Fatalf("purge dry run: %s", r)
	}
	var res purgeOutput
	e.json(&res, "dlq", "purge", "--all", "--dry-run")
	if res != (purgeOutput{sluice.PurgeResult{Matched: 5}, true}) {
		t.Fatalf("purge --all --dry-run: %+v", res)
	}
	e.json(&res, "dlq", "purge", all[0], "--dry-run")
	if res != (purgeOutput{sluice.PurgeResult{Matched: 1}, true}) {
		t.Fatalf("purge ID --dry-run: %+v", res)
	}
	e.checkIDs(nil, all)

	// One by id.
	sms := e.idsOf(func(d sluice.DeadJob) bool { return d.Type == "sms.send" })[0]
	if r := e.ok("dlq", "purge", sms); !strings.Contains(r.stdout, "Matched 1, purged 1.") {
		t.Fatalf("purge ID: %s", r)
	}
	e.fail(exitRuntime, []string{"no dead-letter entry has the id " + sms}, "dlq", "show", sms)
	e.fail(exitRuntime, []string{"no dead-letter entry has the id " + sms}, "dlq", "purge", sms)

	// Replayed ones only: replay one, then purge the replayed email.send entries.
	e.ok("dlq", "replay", e.idsOf(func(d sluice.DeadJob) bool { return d.AppID == e.billing.ID && d.Type == "email.send" })[0])
	e.json(&res, "dlq", "purge", "--type", "email.send", "--replayed-only")
	if res != (purgeOutput{sluice.PurgeResult{Matched: 1, Purged: 1}, false}) {
		t.Fatalf("purge --replayed-only: %+v", res)
	}
	var p page[sluice.DeadJob]
	e.json(&p, "dlq", "list", "--all")
	if len(p.Items) != 3 {
		t.Fatalf("after two purges, want 3 entries, got %d", len(p.Items))
	}

	// By filter, then everything.
	e.json(&res, "dlq", "purge", "--app", "search")
	if res != (purgeOutput{sluice.PurgeResult{Matched: 1, Purged: 1}, false}) {
		t.Fatalf("purge --app: %+v", res)
	}
	if r := e.ok("dlq", "purge", "--all"); !strings.Contains(r.stdout, "Matched 2, purged 2.") {
		t.Fatalf("purge --all: %s", r)
	}
	e.checkIDs([]string{"--all"}, nil)
}

func TestDLQReplayOperations(t *testing.T) {
	t.Parallel()
	e := setupDLQ(t)
	email := e.idsOf(func(d sluice.DeadJob) bool { return d.Type == "email.send" })

	// Bad options are usage errors naming the flag.
	e.fail(exitUsage, []string{"--attempts: must be between 1 and 1000"}, "dlq", "replay", "--type", "email.send", "--attempts", "5000")
	e.fail(exitUsage, []string{"payloadPatch: must be a JSON object"}, "dlq", "replay", "--type", "email.send", "--patch", "[1]")
	e.fail(exitUsage, []string{"payloadPatch: is not valid JSON"}, "dlq", "replay", "--type", "email.send", "--patch", "{")
	e.fail(exitUsage, []string{"do not go with an ID"}, "dlq", "replay", email[0], "--detach")

	// --detach records the operation and leaves it to the workers (none run here).
	var op sluice.ReplayOperation
	e.json(&op, "dlq", "replay", "--type", "email.send", "--detach", "--attempts", "3", "--patch", `{"patched": true}`)
	if op.Status != sluice.ReplayRunning || op.Replayed != 0 || op.Attempts != 3 || !strings.Contains(string(op.PayloadPatch), `"patched": true`) {
		t.Fatalf("dlq replay --detach: %+v", op)
	}
	id := op.ID.String()
	var ops page[sluice.ReplayOperation]
	e.json(&ops, "dlq", "ops", "list")
	if len(ops.Items) != 1 || ops.Items[0].ID != op.ID {
		t.Fatalf("dlq ops list: %+v", ops)
	}
	if r := e.ok("dlq", "ops", "list"); !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "running") {
		t.Fatalf("dlq ops list: %s", r)
	}
	if r := e.ok("dlq", "ops", "show", id); !strings.Contains(r.stdout, "type email.send") || !strings.Contains(r.stdout, `"patched": true`) {
		t.Fatalf("dlq ops show: %s", r)
	}
	e.json(&op, "dlq", "ops", "pause", id)
	if op.Status != sluice.ReplayPaused {
		t.Fatalf("dlq ops pause: %+v", op)
	}
	e.fail(exitRuntime, []string{"status: the operation is paused, not running"}, "dlq", "ops", "pause", id)
	e.json(&op, "dlq", "ops", "resume", id)
	if op.Status != sluice.ReplayRunning {
		t.Fatalf("dlq ops resume: %+v", op)
	}
	e.json(&op, "dlq", "ops", "cancel", id)
	if op.Status != sluice.ReplayCancelled || op.FinishedAt == nil {
		t.Fatalf("dlq ops cancel: %+v", op)
	}
	e.fail(exitRuntime, []string{"no replay operation has the id"}, "dlq", "ops", "show", "0190a5a4-0000-7000-8000-000000000000")
	e.fail(exitUsage, []string{`ID: must be a UUID`}, "dlq", "ops", "cancel", "nope")
	e.checkIDs([]string{"--type", "email.send"}, email)

	// Followed to the end, with the patch and the attempts.
	r := e.run("dlq", "replay", "--type", "email.send", "--attempts", "2", "--patch", `{"patched": true}`)
	if r.code != 0 || !strings.Contains(r.stdout, "Matched 4, replayed 4, failed 0, skipped 0") {
		t.Fatalf("dlq replay with a patch: %s", r)
	}
	var jobs page[sluice.Job]
	e.json(&jobs, "jobs", "list", "--type", "email.send")
	for _, j := range jobs.Items {
		if j.MaxAttempts != 2 || !strings.Contains(string(j.Payload), `"patched"`) {
			t.Fatalf("a replayed job: %+v", j)
		}
	}

	// The replayed jobs fail again: their entries are replay loops, shown as such and skipped.
	ctx := context.Background()
	c := e.client()
	sluice.Handle(c, "email.send", func(_ context.Context, _ *sluice.Job, a failArgs) error { return errors.New(a.Err) }, nil)
	before := e.deadCount(c)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); e.deadCount(c) < before+len(email); {
		if time.Now().After(deadline) {
			t.Fatal("the replayed jobs did not fail again in time")
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not a synchronisation
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	var loops page[sluice.DeadJob]
	e.json(&loops, "dlq", "list", "--type", "email.send")
	if len(loops.Items) != len(email) {
		t.Fatalf("want %d loop entries, got %+v", len(email), loops.Items)
	}
	for _, l := range loops.Items {
		if l.ReplayOf == nil {
			t.Fatalf("entry %s of a replayed job has no replayOf", l.ID)
		}
	}
	if r := e.ok("dlq", "show", loops.Items[0].ID.String()); !strings.Contains(r.stdout, "replay of:") || !strings.Contains(r.stdout, loops.Items[0].ReplayOf.String()+" (its job was a replay") {
		t.Fatalf("dlq show of a loop entry: %s", r)
	}
	r = e.run("dlq", "replay", "--type", "email.send")
	if r.code != 0 || !strings.Contains(r.stdout, "Matched 4, replayed 0, failed 0, skipped 4") || !strings.Contains(r.stderr, "Skipped: 4 replay loops") {
		t.Fatalf("dlq replay of loop entries: %s", r)
	}
	r = e.run("dlq", "replay", "--type", "email.send", "--include-loops")
	if r.code != 0 || !strings.Contains(r.stdout, "Matched 4, replayed 4, failed 0, skipped 0") {
		t.Fatalf("dlq replay --include-loops: %s", r)
	}
}
