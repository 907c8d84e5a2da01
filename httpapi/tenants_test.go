package httpapi

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

// TestAppLifecycle renames acme, is refused deleting it while it holds jobs, entries and
// tokens, then purges it: its app tokens stop working, and globex is untouched.
func TestAppLifecycle(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		var app sluice.App
		b.ok(200, call{method: "PATCH", path: "/v1/apps/acme", token: b.admin, body: `{"name":"acme-2"}`}).decode(t, &app)
		if app.ID != b.acme.ID || app.Name != "acme-2" {
			t.Fatalf("rename: %+v", app)
		}
		// acme's own token sees the new name; the old one names nothing.
		var apps struct{ Items []sluice.App }
		b.ok(200, call{method: "GET", path: "/v1/apps", token: b.acmeRO}).decode(t, &apps)
		if len(apps.Items) != 1 || apps.Items[0].Name != "acme-2" {
			t.Fatalf("apps of acme's token after the rename: %+v", apps.Items)
		}
		b.fail(404, "app", call{method: "GET", path: "/v1/apps/acme/holdings", token: b.admin})
		b.fail(409, "name", call{method: "PATCH", path: "/v1/apps/acme-2", token: b.admin, body: `{"name":"globex"}`})

		var h sluice.AppHoldings
		b.ok(200, call{method: "GET", path: "/v1/apps/acme-2/holdings", token: b.admin}).decode(t, &h)
		if h.PendingJobs == 0 || h.DeadJobs == 0 || h.Tokens == 0 {
			t.Fatalf("acme's holdings: %+v", h)
		}
		e := b.fail(409, "", call{method: "DELETE", path: "/v1/apps/acme-2", token: b.admin})
		if !strings.Contains(e.Error, "the app still holds") || !strings.Contains(e.Error, h.String()) {
			t.Fatalf("refused delete: %q, want it to list %s", e.Error, h)
		}
		var res sluice.AppDeletion
		b.ok(200, call{method: "DELETE", path: "/v1/apps/" + b.acme.ID.String() + "?purge=true&batchSize=2", token: b.admin}).decode(t, &res)
		want := h.PendingJobs + h.RunningJobs + h.FinishedJobs + h.DeadJobs + h.ReplayedDeadJobs + h.Tokens + h.RetentionPolicies
		if !res.Done || res.App.ID != b.acme.ID || res.Deleted.Total() != want || res.Batches != int((want+1)/2) {
			t.Fatalf("purge: %+v, want %d rows deleted in batches of 2", res, want)
		}
		// acme's tokens went with it; globex's still work and see nothing of acme.
		b.fail(401, "", call{method: "GET", path: "/v1/apps", token: b.acmeTok})
		b.ok(200, call{method: "GET", path: "/v1/apps", token: b.globexTok})
		b.fail(404, "app", call{method: "DELETE", path: "/v1/apps/" + b.acme.ID.String(), token: b.admin})
		var audit struct{ Items []sluice.AuditEntry }
		b.ok(200, call{method: "GET", path: "/v1/audit", token: b.admin}).decode(t, &audit)
		if len(audit.Items) < 2 || audit.Items[0].Action != "app.purge" || audit.Items[0].Count != int(want)+1 ||
			audit.Items[1].Action != "app.rename" || !strings.HasPrefix(audit.Items[0].Actor, "token:") {
			t.Fatalf("audit: %+v", audit.Items)
		}
	})
}
