package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

// claim makes the job running as a worker's claim does, with a lease of an hour, and returns
// the lease. The job must be the only due one of its queue and type.
func (b *bundle) claim(j sluice.Job) store.Lease {
	b.t.Helper()
	token := uuid.Must(uuid.NewV7())
	claimed, err := b.client.Store().ClaimJobs(b.ctx, store.ClaimParams{Queue: j.Queue, Types: []string{j.Type}, Limit: 1,
		LeaseToken: token, LeaseDuration: time.Hour})
	if err != nil || len(claimed) != 1 || claimed[0].ID != j.ID {
		b.t.Fatalf("claiming job %s: %v (%d claimed)", j.ID, err, len(claimed))
	}
	return store.Lease{JobID: j.ID, Token: token}
}

// auditActions returns the actors of the audit log's entries, by action.
func (b *bundle) auditActions() map[string]string {
	b.t.Helper()
	page, err := b.client.ListAudit(b.ctx, sluice.ListOptions{Limit: sluice.MaxPageSize})
	if err != nil {
		b.t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range page.Items {
		out[e.Action] = e.Actor
	}
	return out
}

// TestJobChanges: POST /v1/jobs/{id}/cancel, POST /v1/jobs/{id}/retry and DELETE
// /v1/jobs/{id} answer the job after the change; a state the change does not apply to is a
// 409 naming id; another app's job is the 404 of a missing one; the changes are audited
// with the token as the actor.
func TestJobChanges(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		path := func(j sluice.Job, verb string) string { return "/v1/jobs/" + j.ID.String() + "/" + verb }

		// Cancel a pending job, with the app's token.
		var job sluice.Job
		b.ok(200, call{method: "POST", path: path(b.acmeJob, "cancel"), token: b.acmeTok}).decode(t, &job)
		if job.ID != b.acmeJob.ID || job.Status != sluice.StatusCancelled || len(job.ErrorHistory) != 1 ||
			job.ErrorHistory[0].Error != sluice.CancelReason {
			t.Fatalf("cancelled job: %+v", job)
		}
		e := b.fail(409, "id", call{method: "POST", path: path(b.acmeJob, "cancel"), token: b.acmeTok})
		if e.Error != "id: the job has already ended: it is cancelled" {
			t.Fatalf("cancelling a cancelled job: %q", e.Error)
		}
		b.fail(409, "id", call{method: "POST", path: path(b.acmeJob, "retry"), token: b.admin})
		b.fail(404, "id", call{method: "POST", path: path(b.globexJob, "cancel"), token: b.acmeTok})
		b.fail(403, "", call{method: "POST", path: path(b.globexJob, "cancel"), token: b.adminRO})
		b.fail(404, "id", call{method: "POST", path: "/v1/jobs/" + newID() + "/retry", token: b.admin})
		b.fail(400, "id", call{method: "DELETE", path: "/v1/jobs/42", token: b.admin})

		// Retry a job scheduled for later: due now, attempts kept.
		later := b.enqueue(sluice.NewJob{App: "globex", Type: "later", Payload: []int{}, RunAt: time.Now().Add(time.Hour)}).Job
		before := time.Now().Add(-time.Minute)
		b.ok(200, call{method: "POST", path: path(later, "retry"), token: b.globexTok}).decode(t, &job)
		if job.Status != sluice.StatusPending || !job.RunAt.Before(later.RunAt) || job.RunAt.Before(before) || job.Attempts != 0 {
			t.Fatalf("retried job: %+v (was due %s)", job, later.RunAt)
		}

		// A running job: deleting and retrying it are refused, cancelling marks it.
		running := b.enqueue(sluice.NewJob{App: "acme", Type: "busy", Queue: "busy", Payload: []int{}}).Job
		b.claim(running)
		e = b.fail(409, "id", call{method: "DELETE", path: "/v1/jobs/" + running.ID.String(), token: b.admin})
		if !strings.Contains(e.Error, "running (cancel it first)") {
			t.Fatalf("deleting a running job: %q", e.Error)
		}
		b.fail(409, "id", call{method: "POST", path: path(running, "retry"), token: b.admin})
		r := b.ok(200, call{method: "POST", path: path(running, "cancel"), token: b.admin})
		r.decode(t, &job)
		if job.Status != sluice.StatusRunning || job.CancelRequestedAt == nil || !strings.Contains(string(r.body), `"cancelRequestedAt":"`) {
			t.Fatalf("cancelling a running job: %s", r.body)
		}

		// Delete a completed job: the answer is the job as it was, and it is gone.
		done := b.enqueue(sluice.NewJob{App: "acme", Type: "quick", Queue: "quick", Payload: []int{}}).Job
		lease := b.claim(done)
		if ok, err := b.client.Store().FinishJobs(b.ctx, []store.Finish{{Lease: lease, Outcome: store.OutcomeComplete}}); err != nil || !ok[0] {
			t.Fatalf("completing: %v %v", ok, err)
		}
		b.fail(409, "id", call{method: "POST", path: path(done, "cancel"), token: b.admin})
		b.ok(200, call{method: "DELETE", path: "/v1/jobs/" + done.ID.String(), token: b.acmeTok}).decode(t, &job)
		if job.ID != done.ID || job.Status != sluice.StatusCompleted {
			t.Fatalf("deleted job: %+v", job)
		}
		b.fail(404, "id", call{method: "GET", path: "/v1/jobs/" + done.ID.String(), token: b.admin})
		b.fail(404, "id", call{method: "DELETE", path: "/v1/jobs/" + done.ID.String(), token: b.admin})

		actors := b.auditActions()
		for _, action := range []string{"job.cancel", "job.retry", "job.delete"} {
			if !strings.HasPrefix(actors[action], "token:") {
				t.Fatalf("audit of %s: actor %q, want token:<id> (%v)", action, actors[action], actors)
			}
		}
	})
}

// TestPauses: POST /v1/pauses pauses a scope (again: the same pause), GET /v1/pauses lists
// them as the token may see them, DELETE /v1/pauses?… lifts exactly one scope; an app token's
// scope is always of its own app.
func TestPauses(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		var queue, again, typ, app sluice.Pause
		b.ok(200, call{method: "POST", path: "/v1/pauses", token: b.admin, body: `{"queue":"emails"}`}).decode(t, &queue)
		if queue.AppID != nil || queue.Queue != "emails" || queue.Type != "" || queue.PausedBy == "" || !strings.HasPrefix(queue.PausedBy, "token:") {
			t.Fatalf("paused queue: %+v", queue)
		}
		b.ok(200, call{method: "POST", path: "/v1/pauses", token: b.admin, body: `{"queue":"emails"}`}).decode(t, &again)
		if again.ID != queue.ID {
			t.Fatalf("pausing a paused scope: %+v, want %+v", again, queue)
		}
		// An app token's scope is of its own app, named or not.
		b.ok(200, call{method: "POST", path: "/v1/pauses", token: b.acmeTok, body: `{"type":"report.build"}`}).decode(t, &typ)
		if typ.AppID == nil || *typ.AppID != b.acme.ID || typ.Type != "report.build" {
			t.Fatalf("an app token's pause of a type: %+v", typ)
		}
		b.ok(200, call{method: "POST", path: "/v1/pauses", token: b.acmeTok, body: `{"app":"acme"}`}).decode(t, &app)
		if app.AppID == nil || *app.AppID != b.acme.ID || app.Queue != "" || app.Type != "" {
			t.Fatalf("an app token's pause of its app: %+v", app)
		}
		b.fail(404, "app", call{method: "POST", path: "/v1/pauses", token: b.acmeTok, body: `{"app":"globex","queue":"emails"}`})
		b.fail(400, "scope", call{method: "POST", path: "/v1/pauses", token: b.acmeTok, body: `{}`})
		b.fail(400, "scope", call{method: "POST", path: "/v1/pauses", token: b.admin, body: `{"app":"","queue":""}`})
		b.fail(400, "app", call{method: "POST", path: "/v1/pauses", token: b.admin, body: `{"app":"no-such-app"}`})
		b.fail(400, "queue", call{method: "POST", path: "/v1/pauses", token: b.admin, body: `{"queue":"a b"}`})
		b.fail(403, "", call{method: "POST", path: "/v1/pauses", token: b.acmeRO, body: `{"queue":"x"}`})

		ids := func(token, query string) []uuid.UUID {
			t.Helper()
			var list page[sluice.Pause]
			b.ok(200, call{method: "GET", path: "/v1/pauses" + query, token: token}).decode(t, &list)
			var out []uuid.UUID
			for _, p := range list.Items {
				out = append(out, p.ID)
			}
			return out
		}
		same := func(got []uuid.UUID, want ...sluice.Pause) bool {
			if len(got) != len(want) {
				return false
			}
			for i := range got {
				if got[i] != want[i].ID {
					return false
				}
			}
			return true
		}
		if got := ids(b.adminRO, ""); !same(got, queue, typ, app) {
			t.Fatalf("GET /v1/pauses (admin): %v", got)
		}
		if got := ids(b.acmeRO, ""); !same(got, queue, typ, app) {
			t.Fatalf("GET /v1/pauses (acme): %v", got)
		}
		if got := ids(b.globexTok, ""); !same(got, queue) {
			t.Fatalf("GET /v1/pauses (globex): %v", got)
		}
		if got := ids(b.admin, "?app=globex"); !same(got, queue) {
			t.Fatalf("GET /v1/pauses?app=globex (admin): %v", got)
		}
		b.fail(404, "app", call{method: "GET", path: "/v1/pauses?app=acme", token: b.globexTok})
		b.fail(400, "app", call{method: "GET", path: "/v1/pauses?app=no-such-app", token: b.admin})

		// Resume lifts exactly the scope given; an app token's is of its app.
		e := b.fail(404, "scope", call{method: "DELETE", path: "/v1/pauses?queue=emails", token: b.acmeTok})
		if !strings.HasPrefix(e.Error, "scope: is not paused") {
			t.Fatalf("resuming a scope that is not paused: %q", e.Error)
		}
		b.fail(404, "scope", call{method: "DELETE", path: "/v1/pauses?type=report.build", token: b.admin})
		b.fail(400, "scope", call{method: "DELETE", path: "/v1/pauses", token: b.admin})
		b.fail(400, "body", call{method: "DELETE", path: "/v1/pauses?queue=emails", token: b.admin, body: `{"queue":"emails"}`})
		var lifted sluice.Pause
		b.ok(200, call{method: "DELETE", path: "/v1/pauses?type=report.build", token: b.acmeTok}).decode(t, &lifted)
		if lifted.ID != typ.ID {
			t.Fatalf("lifted %+v, want %+v", lifted, typ)
		}
		b.ok(200, call{method: "DELETE", path: "/v1/pauses?queue=emails", token: b.admin}).decode(t, &lifted)
		if lifted.ID != queue.ID {
			t.Fatalf("lifted %+v, want %+v", lifted, queue)
		}
		b.ok(200, call{method: "DELETE", path: "/v1/pauses?app=" + b.acme.ID.String(), token: b.admin})
		if got := ids(b.admin, ""); len(got) != 0 {
			t.Fatalf("pauses left: %v", got)
		}
		actors := b.auditActions()
		if !strings.HasPrefix(actors["pause"], "token:") || !strings.HasPrefix(actors["resume"], "token:") {
			t.Fatalf("audit of pause and resume: %v", actors)
		}
	})
}

// TestDisableApp: POST /v1/apps/{app}/disable and /enable answer the app with and without
// disabledAt; enqueueing into a disabled app is a 409 naming app, and inserts nothing; only an
// admin token may disable.
func TestDisableApp(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		var app sluice.App
		b.ok(200, call{method: "POST", path: "/v1/apps/acme/disable", token: b.admin}).decode(t, &app)
		if app.ID != b.acme.ID || app.DisabledAt == nil {
			t.Fatalf("disabled app: %+v", app)
		}
		var apps page[sluice.App]
		b.ok(200, call{method: "GET", path: "/v1/apps", token: b.acmeRO}).decode(t, &apps)
		if len(apps.Items) != 1 || apps.Items[0].DisabledAt == nil {
			t.Fatalf("GET /v1/apps for a disabled app's token: %+v", apps.Items)
		}
		jobs := len(b.allJobs())
		e := b.fail(409, "app", call{method: "POST", path: "/v1/apps/acme/jobs", token: b.acmeTok, body: `{"type":"t","payload":{}}`})
		if !strings.Contains(e.Error, "disabled") {
			t.Fatalf("enqueue into a disabled app: %q", e.Error)
		}
		if n := len(b.allJobs()); n != jobs {
			t.Fatalf("a refused enqueue inserted %d jobs", n-jobs)
		}
		b.ok(201, call{method: "POST", path: "/v1/apps/globex/jobs", token: b.globexTok, body: `{"type":"t","payload":{}}`})
		// Its dead-letter entries stay readable.
		b.ok(200, call{method: "GET", path: "/v1/dlq/" + b.acmeEntries[0].ID.String(), token: b.acmeRO})

		b.fail(403, "", call{method: "POST", path: "/v1/apps/acme/enable", token: b.acmeTok})
		b.fail(404, "app", call{method: "POST", path: "/v1/apps/acme/enable", token: b.globexTok})
		b.fail(400, "body", call{method: "POST", path: "/v1/apps/acme/enable", token: b.admin, body: `{}`})
		r := b.ok(200, call{method: "POST", path: "/v1/apps/" + b.acme.ID.String() + "/enable", token: b.admin})
		var enabled sluice.App
		r.decode(t, &enabled)
		if enabled.DisabledAt != nil || strings.Contains(string(r.body), "disabledAt") {
			t.Fatalf("enabled app: %s", r.body)
		}
		b.ok(201, call{method: "POST", path: "/v1/apps/acme/jobs", token: b.acmeTok, body: `{"type":"t","payload":{}}`})
		actors := b.auditActions()
		if !strings.HasPrefix(actors["app.disable"], "token:") || !strings.HasPrefix(actors["app.enable"], "token:") {
			t.Fatalf("audit of disable and enable: %v", actors)
		}
	})
}
