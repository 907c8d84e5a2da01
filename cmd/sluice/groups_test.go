package main

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

// setupGroups is a test database whose billing app has three failure groups of
// db.sync: three timeouts to different hosts, two missing relations and one full disk; and
// search has one timeout.
func setupGroups(t *testing.T) *env {
	t.Helper()
	e := setup(t)
	e.ok("apps", "create", "billing")
	e.ok("apps", "create", "search")
	e.deadLetter(
		failing("billing", "db.sync", "timeout after 30s connecting to 10.0.0.1:5432"),
		failing("billing", "db.sync", "timeout after 45s connecting to 10.0.0.7:5432"),
		failing("billing", "db.sync", "timeout after 12s connecting to 10.0.0.9:5432"),
		failing("billing", "db.sync", `relation "users" does not exist`),
		failing("billing", "db.sync", `relation "orders" does not exist`),
		failing("billing", "db.sync", "disk full"),
		failing("search", "db.sync", "timeout after 1s connecting to 10.1.1.1:5432"),
	)
	return e
}

func TestDLQGroups(t *testing.T) {
	t.Parallel()
	e := setupGroups(t)
	var groups page[sluice.FailureGroup]
	e.json(&groups, "dlq", "groups", "--app", "billing")
	if len(groups.Items) != 3 || groups.Items[0].Count != 3 || groups.Items[1].Count != 2 || groups.Items[2].Count != 1 {
		t.Fatalf("dlq groups --app billing: %+v", groups.Items)
	}
	timeouts := groups.Items[0]
	if timeouts.Normalized != "timeout after <n>s connecting to <addr>" || !strings.HasPrefix(timeouts.SampleError, "timeout after ") {
		t.Fatalf("the timeouts' group: %+v", timeouts)
	}
	var all page[sluice.FailureGroup]
	e.json(&all, "dlq", "groups")
	if len(all.Items) != 4 || all.Items[0] != timeouts {
		t.Fatalf("dlq groups: %+v", all.Items)
	}
	e.json(&all, "dlq", "groups", "--limit", "1")
	if len(all.Items) != 1 || all.Items[0] != timeouts {
		t.Fatalf("dlq groups --limit 1: %+v", all.Items)
	}

	// The human table, and the hint on stderr.
	r := e.run("dlq", "groups", "--type", "db.sync")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "ENTRIES") || !strings.Contains(lines[0], "SAMPLE ERROR") ||
		!regexp.MustCompile(`^3\s+billing\s+db\.sync\s+`+timeouts.Signature).MatchString(lines[1]) || !humanTime.MatchString(lines[1]) ||
		!strings.Contains(r.stderr, "sluice dlq list --group") {
		t.Fatalf("dlq groups: %s", r)
	}
	if r := e.ok("dlq", "groups", "--type", "nothing.here"); r.stdout != "No failure groups.\n" {
		t.Fatalf("no groups: %s", r)
	}

	// --order key walks every group in key order, a page at a time, each once; the hint on
	// stderr says how to get the next page.
	var walked []sluice.FailureGroup
	args := []string{"dlq", "groups", "--order", "key", "--limit", "1"}
	for cursor := ""; ; {
		var p page[sluice.FailureGroup]
		e.json(&p, append(args, "--cursor", cursor)...)
		walked = append(walked, p.Items...)
		if cursor = p.NextCursor; cursor == "" || len(walked) > 10 {
			break
		}
	}
	e.json(&all, "dlq", "groups")
	byKey := func(x, y sluice.FailureGroup) int {
		return cmp.Or(strings.Compare(x.AppID.String(), y.AppID.String()), strings.Compare(x.Type, y.Type), strings.Compare(x.Signature, y.Signature))
	}
	if !slices.Equal(walked, slices.SortedFunc(slices.Values(all.Items), byKey)) {
		t.Fatalf("dlq groups --order key, one a page: %+v\nthe groups: %+v", walked, all.Items)
	}
	r = e.run("dlq", "groups", "--order", "key", "--limit", "2", "--app", "billing", "--failed-after", "-1h")
	hint := regexp.MustCompile(`More failure groups: repeat with --failed-after (\S+) --order key --cursor (\S+)`).FindStringSubmatch(r.stderr)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "ENTRIES") || hint == nil {
		t.Fatalf("dlq groups --order key --limit 2: %s", r)
	}
	r = e.run("dlq", "groups", "--app", "billing", "--order", "key", "--limit", "2", "--failed-after", hint[1], "--cursor", hint[2])
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 2 || strings.Contains(r.stderr, "More failure groups") {
		t.Fatalf("dlq groups, the page the hint gets: %s", r)
	}
	e.fail(exitUsage, []string{"--cursor: belongs to a listing with a different filter"}, "dlq", "groups", "--order", "key", "--cursor", hint[2])
	e.fail(exitUsage, []string{"--cursor: only pages --order key"}, "dlq", "groups", "--cursor", hint[2])
	e.fail(exitUsage, []string{`--order: must be count or key, got "size"`}, "dlq", "groups", "--order", "size")
	e.fail(exitUsage, []string{"--limit: must be between 1 and 1000, got 0"}, "dlq", "groups", "--order", "key", "--limit", "0")

	// --group lists, replays and purges one group, wherever the filter goes.
	var entries page[sluice.DeadJob]
	e.json(&entries, "dlq", "list", "--group", timeouts.Signature)
	if len(entries.Items) != 4 {
		t.Fatalf("dlq list --group: %d entries, want the 4 timeouts of both apps", len(entries.Items))
	}
	e.json(&entries, "dlq", "list", "--group", timeouts.Signature, "--app", "billing")
	if len(entries.Items) != 3 || entries.Items[0].ErrorSignature != timeouts.Signature {
		t.Fatalf("dlq list --group --app: %+v", entries.Items)
	}
	if r := e.ok("dlq", "show", entries.Items[0].ID.String()); !regexp.MustCompile(`(?m)^failure group:\s+` + timeouts.Signature + `$`).MatchString(r.stdout) {
		t.Fatalf("dlq show names no failure group: %s", r)
	}
	var res replayOutput
	e.json(&res, "dlq", "replay", "--group", timeouts.Signature, "--app", "billing")
	if res != (replayOutput{sluice.ReplayResult{Matched: 3, Replayed: 3}, false}) {
		t.Fatalf("dlq replay --group: %+v", res)
	}
	var purged purgeOutput
	e.json(&purged, "dlq", "purge", "--group", groups.Items[1].Signature)
	if purged != (purgeOutput{sluice.PurgeResult{Matched: 2, Purged: 2}, false}) {
		t.Fatalf("dlq purge --group: %+v", purged)
	}
	e.json(&all, "dlq", "groups", "--app", "billing")
	if len(all.Items) != 1 || all.Items[0].Signature != groups.Items[2].Signature {
		t.Fatalf("groups left in billing: %+v", all.Items)
	}

	// Bad input names the flag.
	e.fail(exitUsage, []string{"--group: must be a failure group's signature"}, "dlq", "list", "--group", "nope")
	e.fail(exitUsage, []string{"--group: must be a failure group's signature"}, "dlq", "groups", "--group", "0123456789ABCDEF")
	e.fail(exitUsage, []string{"--group: must be a failure group's signature"}, "dlq", "replay", "--group", "x")
	e.fail(exitUsage, []string{"--limit: must be between 1 and 1000, got 0"}, "dlq", "groups", "--limit", "0")
	e.fail(exitUsage, []string{"--limit: must be between 1 and 1000, got 1001"}, "dlq", "groups", "--limit", "1001")
	e.fail(exitUsage, []string{`--app: no app has the id or name "nope"`}, "dlq", "groups", "--app", "nope")
}

func TestDLQStats(t *testing.T) {
	t.Parallel()
	e := setupGroups(t)
	var stats page[statsRow]
	e.json(&stats, "dlq", "stats")
	if len(stats.Items) != 2 {
		t.Fatalf("dlq stats: %+v", stats.Items)
	}
	byApp := map[string]statsRow{}
	for _, r := range stats.Items {
		byApp[r.AppName] = r
		if r.Type != "db.sync" || r.OldestFailedAt == nil || r.OldestAgeSeconds < 0 {
			t.Fatalf("dlq stats row: %+v", r)
		}
	}
	if b, s := byApp["billing"], byApp["search"]; b.Entries != 6 || b.Groups != 3 || s.Entries != 1 || s.Groups != 1 {
		t.Fatalf("dlq stats: billing %+v, search %+v", b, s)
	}
	e.json(&stats, "dlq", "stats", "--app", "search")
	if len(stats.Items) != 1 || stats.Items[0].AppName != "search" {
		t.Fatalf("dlq stats --app search: %+v", stats.Items)
	}

	r := e.ok("dlq", "stats", "--app", "billing")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "APP") || !strings.Contains(lines[0], "AGE") ||
		!regexp.MustCompile(`^billing\s+db\.sync\s+6\s+3\s+`).MatchString(lines[1]) || !humanTime.MatchString(lines[1]) {
		t.Fatalf("dlq stats: %s", r)
	}

	// Replayed entries are not counted: replay them all and nothing is left.
	e.ok("dlq", "replay", "--type", "db.sync")
	if r := e.ok("dlq", "stats"); r.stdout != "No dead-letter entries.\n" {
		t.Fatalf("dlq stats after replaying everything: %s", r)
	}
	e.fail(exitUsage, []string{`--app: no app has the id or name "nope"`}, "dlq", "stats", "--app", "nope")
	e.fail(exitUsage, []string{"unknown flag: --type"}, "dlq", "stats", "--type", "x")
}
