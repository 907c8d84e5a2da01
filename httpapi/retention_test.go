package httpapi

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

// TestRetentionRoutes: an admin sets, lists and deletes retention policies; the reports of
// un-replayed entries retention deleted are listed until dismissed; app tokens get 403.
func TestRetentionRoutes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		var p sluice.RetentionPolicy
		b.ok(200, call{method: "PUT", path: "/v1/retention", token: b.admin,
			body: `{"kind":"unreplayed","app":"acme","type":"email.send","maxAge":"30d","maxCount":500}`}).decode(t, &p)
		if p.Kind != sluice.RetainUnreplayed || p.AppID == nil || *p.AppID != b.acme.ID || p.MaxCount != 500 || p.MaxAge.Hours() != 720 {
			t.Fatalf("PUT /v1/retention: %+v", p)
		}
		var raw map[string]any
		b.ok(200, call{method: "PUT", path: "/v1/retention", token: b.admin,
			body: `{"kind":"unreplayed","app":"acme","type":"email.send","maxAge":"36h"}`}).decode(t, &raw)
		if raw["id"] != p.ID.String() || raw["maxAge"] != "36h0m0s" || raw["maxCount"] != nil {
			t.Fatalf("replacing the policy: %v", raw)
		}
		var list struct{ Items []map[string]any }
		b.ok(200, call{method: "GET", path: "/v1/retention", token: b.admin}).decode(t, &list)
		if len(list.Items) != 1 || list.Items[0]["kind"] != "unreplayed" {
			t.Fatalf("GET /v1/retention: %v", list.Items)
		}
		b.fail(403, "", call{method: "GET", path: "/v1/retention", token: b.acmeTok})
		b.fail(403, "", call{method: "PUT", path: "/v1/retention", token: b.acmeTok, body: `{"kind":"completed","maxAge":"1d"}`})
		b.ok(204, call{method: "DELETE", path: "/v1/retention/" + p.ID.String(), token: b.admin})
		b.fail(404, "id", call{method: "DELETE", path: "/v1/retention/" + p.ID.String(), token: b.admin})
		// Every change of a policy is in the audit log, by the token that made it.
		var audit struct{ Items []sluice.AuditEntry }
		b.ok(200, call{method: "GET", path: "/v1/audit", token: b.admin}).decode(t, &audit)
		var actions []string
		for _, a := range audit.Items {
			if a.Actor != "token:"+b.adminID.String() || a.AppID == nil || *a.AppID != b.acme.ID ||
				!strings.Contains(string(a.Details), p.ID.String()) {
				t.Errorf("audit row %+v, want the admin token's change of policy %s", a, p.ID)
			}
			actions = append(actions, a.Action)
		}
		if strings.Join(actions, " ") != "retention.delete retention.update retention.create" {
			t.Fatalf("audit actions %v, want delete, update, create", actions)
		}

		id := b.newTrimReport()
		var reps struct{ Items []sluice.TrimReport }
		b.ok(200, call{method: "GET", path: "/v1/retention/reports", token: b.admin}).decode(t, &reps)
		if len(reps.Items) != 1 || reps.Items[0].ID.String() != id || reps.Items[0].Count != 1 || reps.Items[0].Type != "walk.trim" {
			t.Fatalf("GET /v1/retention/reports: %+v", reps.Items)
		}
		b.fail(403, "", call{method: "GET", path: "/v1/retention/reports", token: b.acmeTok})
		b.fail(403, "", call{method: "POST", path: "/v1/retention/reports/" + id + "/dismiss", token: b.acmeTok})
		b.fail(404, "id", call{method: "POST", path: "/v1/retention/reports/" + id + "/dismiss", token: b.globexTok})
		var rep sluice.TrimReport
		b.ok(200, call{method: "POST", path: "/v1/retention/reports/" + id + "/dismiss", token: b.admin}).decode(t, &rep)
		if rep.DismissedAt == nil || rep.DismissedBy != "token:"+b.adminID.String() {
			t.Fatalf("dismissed: %+v", rep)
		}
		b.ok(200, call{method: "GET", path: "/v1/retention/reports", token: b.admin}).decode(t, &reps)
		if len(reps.Items) != 0 {
			t.Fatalf("undismissed reports after dismissing: %+v", reps.Items)
		}
		b.ok(200, call{method: "GET", path: "/v1/retention/reports?all=true", token: b.admin}).decode(t, &reps)
		if len(reps.Items) != 1 || !strings.HasPrefix(reps.Items[0].DismissedBy, "token:") {
			t.Fatalf("all reports: %+v", reps.Items)
		}
	})
}
