package httpapi

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

// TestDLQGroups checks GET /v1/dlq/groups over the real listener, and group= and "group"
// wherever the dead-letter filter goes: listing, bulk replay, purge.
func TestDLQGroups(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		b.deadLetter(failing("acme", "email.send", "smtp: timeout after 45s"))
		var groups sluice.Page[sluice.FailureGroup]
		b.ok(200, call{method: "GET", path: "/v1/dlq/groups", token: b.admin}).decode(t, &groups)
		if len(groups.Items) != 5 {
			t.Fatalf("groups: %+v", groups.Items)
		}
		timeouts := groups.Items[0]
		if timeouts.Count != 2 || timeouts.AppID != b.acme.ID || timeouts.Type != "email.send" || timeouts.Normalized != "smtp: timeout after <n>s" {
			t.Fatalf("the timeouts' group: %+v", timeouts)
		}
		for _, g := range groups.Items[1:] {
			if g.Count != 1 {
				t.Fatalf("groups of one: %+v", groups.Items)
			}
		}

		// An app token sees only its app's groups; filters and limit narrow them.
		b.ok(200, call{method: "GET", path: "/v1/dlq/groups", token: b.globexTok}).decode(t, &groups)
		if len(groups.Items) != 2 || groups.Items[0].AppID != b.globex.ID || groups.Items[1].AppID != b.globex.ID {
			t.Fatalf("globex's groups: %+v", groups.Items)
		}
		b.ok(200, call{method: "GET", path: "/v1/dlq/groups?app=acme&type=email.send&limit=1", token: b.admin}).decode(t, &groups)
		if len(groups.Items) != 1 || groups.Items[0] != timeouts {
			t.Fatalf("acme's email.send groups, limit 1: %+v", groups.Items)
		}
		b.ok(200, call{method: "GET", path: "/v1/dlq/groups?group=" + timeouts.Signature, token: b.acmeRO}).decode(t, &groups)
		if len(groups.Items) != 1 || groups.Items[0] != timeouts {
			t.Fatalf("one group: %+v", groups.Items)
		}

		// order=key walks every group in key order, a page at a time, each once.
		var ranked sluice.Page[sluice.FailureGroup]
		b.ok(200, call{method: "GET", path: "/v1/dlq/groups?order=count", token: b.admin}).decode(t, &ranked)
		walk := func(token, query string) []sluice.FailureGroup {
			var walked []sluice.FailureGroup
			cursor := ""
			for range 10 {
				var page sluice.Page[sluice.FailureGroup]
				b.ok(200, call{method: "GET", path: "/v1/dlq/groups?order=key&limit=2" + query + "&cursor=" + url.QueryEscape(cursor), token: token}).decode(t, &page)
				walked = append(walked, page.Items...)
				if cursor = page.NextCursor; cursor == "" {
					return walked
				}
			}
			t.Fatalf("the walk %s does not end: %+v", query, walked)
			return nil
		}
		walked := walk(b.admin, "")
		byKey := func(x, y sluice.FailureGroup) int {
			return cmp.Or(strings.Compare(x.AppID.String(), y.AppID.String()), strings.Compare(x.Type, y.Type), strings.Compare(x.Signature, y.Signature))
		}
		if len(walked) != len(ranked.Items) || !slices.IsSortedFunc(walked, byKey) ||
			!slices.Equal(walked, slices.SortedFunc(slices.Values(ranked.Items), byKey)) {
			t.Fatalf("walked %+v\nranked %+v", walked, ranked.Items)
		}
		if got := walk(b.globexTok, ""); len(got) != 2 || got[0].AppID != b.globex.ID || got[1].AppID != b.globex.ID {
			t.Fatalf("globex walks: %+v", got)
		}
		if got := walk(b.acmeRO, "&type=email.send"); len(got) != 2 || got[1].Type != "email.send" || got[0].Type != "email.send" {
			t.Fatalf("acme walks email.send: %+v", got)
		}
		var first sluice.Page[sluice.FailureGroup]
		b.ok(200, call{method: "GET", path: "/v1/dlq/groups?order=key&limit=1&app=acme", token: b.admin}).decode(t, &first)
		if len(first.Items) != 1 || first.NextCursor == "" {
			t.Fatalf("the first page of acme's groups: %+v", first)
		}
		b.fail(400, "cursor", call{method: "GET", path: "/v1/dlq/groups?order=key&cursor=" + first.NextCursor, token: b.admin})
		b.fail(400, "cursor", call{method: "GET", path: "/v1/dlq/groups?app=acme&cursor=" + first.NextCursor, token: b.admin})
		b.fail(400, "cursor", call{method: "GET", path: "/v1/dlq?app=acme&cursor=" + first.NextCursor, token: b.admin})

		// List, replay and purge by group.
		var entries sluice.Page[sluice.DeadJob]
		b.ok(200, call{method: "GET", path: "/v1/dlq?group=" + timeouts.Signature, token: b.admin}).decode(t, &entries)
		if len(entries.Items) != 2 || entries.Items[0].ErrorSignature != timeouts.Signature || entries.Items[1].ErrorSignature != timeouts.Signature {
			t.Fatalf("entries of the group: %+v", entries.Items)
		}
		b.ok(200, call{method: "GET", path: "/v1/dlq?group=" + timeouts.Signature, token: b.globexTok}).decode(t, &entries)
		if len(entries.Items) != 0 {
			t.Fatalf("globex sees acme's entries: %+v", entries.Items)
		}
		var res replayResult
		body := fmt.Sprintf(`{"group":%q,"dryRun":true}`, timeouts.Signature)
		b.ok(200, call{method: "POST", path: "/v1/dlq/replay", token: b.admin, body: body}).decode(t, &res)
		if res.Matched != 2 || res.Replayed != 0 || !res.DryRun {
			t.Fatalf("dry-run replay of the group: %+v", res)
		}
		if op := b.runReplay(b.ok(202, call{method: "POST", path: "/v1/dlq/replay", token: b.acmeTok, body: fmt.Sprintf(`{"group":%q}`, timeouts.Signature)})); op.Matched != 2 || op.Replayed != 2 || op.Group != timeouts.Signature {
			t.Fatalf("replay of the group: %+v", op)
		}
		var refused sluice.DeadJob
		for _, e := range b.acmeEntries {
			if e.LastError() == "smtp: connection refused" {
				refused = e
			}
		}
		var pr purgeResult
		b.ok(200, call{method: "POST", path: "/v1/dlq/purge", token: b.admin, body: fmt.Sprintf(`{"group":%q}`, refused.ErrorSignature)}).decode(t, &pr)
		if pr.Matched != 2 || pr.Purged != 2 {
			t.Fatalf("purge of the connection-refused group (both apps): %+v", pr)
		}
		b.ok(200, call{method: "GET", path: "/v1/dlq/groups", token: b.admin}).decode(t, &groups)
		if len(groups.Items) != 2 || groups.Items[0].Type != "sms.send" || groups.Items[1].Type != "sms.send" {
			t.Fatalf("groups left: %+v", groups.Items)
		}

		// Bad input names the field.
		for _, c := range []struct{ path, field string }{
			{"/v1/dlq/groups?group=nope", "group"},
			{"/v1/dlq/groups?group=0123456789ABCDEF", "group"},
			{"/v1/dlq/groups?limit=0", "limit"},
			{"/v1/dlq/groups?limit=1001", "limit"},
			{"/v1/dlq/groups?cursor=x", "cursor"},
			{"/v1/dlq/groups?order=key&cursor=x", "cursor"},
			{"/v1/dlq/groups?order=size", "order"},
			{"/v1/dlq/groups?order=key&limit=0", "limit"},
			{"/v1/dlq/groups?order=key&all=true", "all"},
			{"/v1/dlq/groups?all=true", "all"},
			{"/v1/dlq/groups?failedAfter=yesterday", "failedAfter"},
			{"/v1/dlq?group=%27%20OR%201%3D1", "group"},
		} {
			b.fail(400, c.field, call{method: "GET", path: c.path, token: b.admin})
		}
		b.fail(400, "group", call{method: "POST", path: "/v1/dlq/replay", token: b.admin, body: `{"group":"x"}`})
		b.fail(400, "group", call{method: "POST", path: "/v1/dlq/purge", token: b.admin, body: `{"group":"x","dryRun":true}`})
	})
}
