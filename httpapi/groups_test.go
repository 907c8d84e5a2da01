package httpapi

import (
	"fmt"
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
