package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

// claim makes the job running as a worker's claim does, with a lease of an hour, and returns
// the lease. The job must be the only due one of its queue and type.
func (e *env) claim(cl *sluice.Client, j sluice.Job) store.Lease {
	e.t.Helper()
	token := uuid.Must(uuid.NewV7())
	claimed, err := cl.Store().ClaimJobs(context.Background(), store.ClaimParams{Queue: j.Queue, Types: []string{j.Type},
		Limit: 1, LeaseToken: token, LeaseDuration: time.Hour})
	if err != nil || len(claimed) != 1 || claimed[0].ID != j.ID {
		e.t.Fatalf("claiming job %s: %v (%d claimed)", j.ID, err, len(claimed))
	}
	return store.Lease{JobID: j.ID, Token: token}
}

// enqueueJob enqueues a job with the command and returns it.
func (e *env) enqueueJob(args ...string) sluice.Job {
	e.t.Helper()
	var out enqueueOutput
	e.json(&out, append([]string{"jobs", "enqueue", "--payload", "{}"}, args...)...)
	return out.Job
}

// TestJobsCancelRetryDelete runs sluice jobs cancel | retry | delete on both stores: a
// pending job cancelled at once, a running one marked, a scheduled one made due, a completed
// one deleted, and the refusals (a job that has ended, one not pending, one running, an
// unknown or malformed id), each naming ID.
func TestJobsCancelRetryDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.ok("apps", "create", "billing")
		cl := e.client()
		ctx := context.Background()

		// Cancel a pending job: cancelled at once, with the reason in its history.
		pending := e.enqueueJob("--app", "billing", "--type", "t.cancel")
		r := e.ok("jobs", "cancel", pending.ID.String())
		for _, want := range []string{pending.ID.String(), "(billing)", "status:", "cancelled", sluice.CancelReason} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("jobs cancel: stdout lacks %q: %s", want, r)
			}
		}
		got, err := cl.GetJob(ctx, pending.ID)
		if err != nil || got.Status != sluice.StatusCancelled {
			t.Fatalf("after jobs cancel: %+v, %v", got, err)
		}
		e.fail(exitRuntime, []string{"Error: ID: the job has already ended: it is cancelled"}, "jobs", "cancel", pending.ID.String())
		e.fail(exitRuntime, []string{"Error: ID: the job has already ended: it is cancelled"}, "jobs", "retry", pending.ID.String())

		// Retry a scheduled job: due now, attempts kept.
		later := e.enqueueJob("--app", "billing", "--type", "t.retry", "--run-at", "+1d")
		var retried sluice.Job
		before := time.Now().Add(-time.Minute)
		e.json(&retried, "jobs", "retry", later.ID.String())
		if retried.ID != later.ID || retried.Status != sluice.StatusPending || !retried.RunAt.Before(later.RunAt) ||
			retried.RunAt.Before(before) || retried.Attempts != 0 {
			t.Fatalf("jobs retry --json: %+v (was due %s)", retried, later.RunAt)
		}

		// A running job: cancel marks it, delete and retry are refused.
		running := e.enqueueJob("--app", "billing", "--type", "t.running", "--queue", "running")
		lease := e.claim(cl, running)
		e.fail(exitRuntime, []string{"Error: ID: the job is running (cancel it first)"}, "jobs", "delete", running.ID.String())
		e.fail(exitRuntime, []string{"Error: ID: the job is running"}, "jobs", "retry", running.ID.String())
		var marked sluice.Job
		stderr := e.json(&marked, "jobs", "cancel", running.ID.String())
		if marked.Status != sluice.StatusRunning || marked.CancelRequestedAt == nil || !strings.Contains(stderr, "asked to stop") {
			t.Fatalf("jobs cancel of a running job: %+v, stderr %q", marked, stderr)
		}
		if r := e.ok("jobs", "show", running.ID.String()); !strings.Contains(r.stdout, "cancel requested:") {
			t.Fatalf("jobs show of a job marked for cancelling: %s", r)
		}
		// The worker's attempt fails: the job ends cancelled, never retried.
		ok, err := cl.Store().FinishJobs(ctx, []store.Finish{{Lease: lease, Outcome: store.OutcomeRetry, Error: "stopped", Delay: time.Second}})
		if err != nil || !ok[0] {
			t.Fatalf("finishing the marked attempt: %v %v", ok, err)
		}
		if got, _ := cl.GetJob(ctx, running.ID); got.Status != sluice.StatusCancelled {
			t.Fatalf("a marked job whose attempt failed: %s, want cancelled", got.Status)
		}

		// Delete a completed job: it is printed as it was, and gone.
		done := e.enqueueJob("--app", "billing", "--type", "t.done", "--queue", "done")
		lease = e.claim(cl, done)
		if ok, err := cl.Store().FinishJobs(ctx, []store.Finish{{Lease: lease, Outcome: store.OutcomeComplete}}); err != nil || !ok[0] {
			t.Fatalf("completing: %v %v", ok, err)
		}
		e.fail(exitRuntime, []string{"Error: ID: the job has already ended: it is completed"}, "jobs", "cancel", done.ID.String())
		var deleted sluice.Job
		stderr = e.json(&deleted, "jobs", "delete", done.ID.String())
		if deleted.ID != done.ID || deleted.Status != sluice.StatusCompleted || !strings.Contains(stderr, "Deleted job "+done.ID.String()) {
			t.Fatalf("jobs delete --json: %+v, stderr %q", deleted, stderr)
		}
		e.fail(exitRuntime, []string{"no job has the id " + done.ID.String()}, "jobs", "show", done.ID.String())
		r = e.run("jobs", "delete", pending.ID.String())
		if r.code != 0 || !strings.Contains(r.stdout, "cancelled") || !strings.Contains(r.stderr, "Deleted job") {
			t.Fatalf("jobs delete (human): %s", r)
		}

		for _, verb := range []string{"cancel", "retry", "delete"} {
			e.fail(exitRuntime, []string{"Error: no job has the id 0190a5a4-0000-7000-8000-000000000000"}, "jobs", verb, "0190a5a4-0000-7000-8000-000000000000")
			e.fail(exitUsage, []string{`Error: ID: must be a UUID, got "42"`}, "jobs", verb, "42")
			e.fail(exitUsage, []string{"jobs " + verb + " takes ID, got 0 arguments"}, "jobs", verb)
		}

		// The audit log names the command-line user.
		audit, err := cl.ListAudit(ctx, sluice.ListOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]bool{}
		for _, a := range audit.Items {
			if strings.HasPrefix(a.Actor, "cli:") {
				actions[a.Action] = true
			}
		}
		for _, want := range []string{"job.cancel", "job.retry", "job.delete"} {
			if !actions[want] {
				t.Fatalf("no %s by cli:<user> in the audit log: %+v", want, audit.Items)
			}
		}
	})
}

// TestPauseResume runs sluice pause | resume | pauses on both stores: scopes of an app, a
// queue and a type, listed oldest first; pausing again returns the pause; resuming lifts
// exactly its scope; an empty scope, an unknown app and a bad queue are refused.
func TestPauseResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		var billing sluice.App
		e.json(&billing, "apps", "create", "billing")

		var list page[sluice.Pause]
		e.json(&list, "pauses")
		if list.Items == nil || len(list.Items) != 0 {
			t.Fatalf("pauses with none: %+v; want {\"items\": []}", list)
		}
		if r := e.ok("pauses"); r.stdout != "No pauses.\n" {
			t.Fatalf("pauses with none: %s", r)
		}

		var queue, appType sluice.Pause
		e.json(&queue, "pause", "--queue", "emails")
		if queue.AppID != nil || queue.Queue != "emails" || queue.Type != "" || !strings.HasPrefix(queue.PausedBy, "cli:") {
			t.Fatalf("pause --queue: %+v", queue)
		}
		r := e.ok("pause", "--app", "billing", "--type", "invoice.charge")
		for _, want := range []string{"(billing)", "every queue", "invoice.charge", "paused by:", "cli:"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("pause --app --type: stdout lacks %q: %s", want, r)
			}
		}
		var again sluice.Pause
		e.json(&again, "pause", "--queue", "emails")
		if again.ID != queue.ID {
			t.Fatalf("pausing a paused scope made another pause: %+v, want %+v", again, queue)
		}

		e.json(&list, "pauses")
		if len(list.Items) != 2 || list.Items[0].ID != queue.ID || list.Items[1].AppID == nil || *list.Items[1].AppID != billing.ID {
			t.Fatalf("pauses --json: %+v", list.Items)
		}
		appType = list.Items[1]
		r = e.ok("pauses")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "emails") ||
			!strings.Contains(lines[1], "(all)") || !strings.Contains(lines[2], "billing") || !humanTime.MatchString(lines[2]) {
			t.Fatalf("pauses: %s", r)
		}

		// Resuming lifts exactly the scope named.
		e.fail(exitRuntime, []string{"Error: this scope is not paused"}, "resume", "--app", "billing")
		e.fail(exitRuntime, []string{"Error: this scope is not paused"}, "resume", "--type", "invoice.charge")
		var lifted sluice.Pause
		e.json(&lifted, "resume", "--app", billing.ID.String(), "--type", "invoice.charge")
		if lifted.ID != appType.ID {
			t.Fatalf("resume --app --type lifted %+v, want %+v", lifted, appType)
		}
		if r := e.ok("resume", "--queue", "emails"); !strings.Contains(r.stdout, queue.ID.String()) {
			t.Fatalf("resume --queue: %s", r)
		}
		e.json(&list, "pauses")
		if len(list.Items) != 0 {
			t.Fatalf("pauses after resuming both: %+v", list.Items)
		}

		for _, cmd := range []string{"pause", "resume"} {
			e.fail(exitUsage, []string{"Error: scope: names nothing"}, cmd)
			e.fail(exitUsage, []string{`Error: --app: no app has the id or name "nope"`}, cmd, "--app", "nope")
			e.fail(exitUsage, []string{"Error: --queue: must be printable ASCII"}, cmd, "--queue", "a b")
			e.fail(exitUsage, []string{"Error: --type: must be printable ASCII"}, cmd, "--type", "t\x7f")
			e.fail(exitUsage, []string{`unknown command "emails" for "sluice ` + cmd + `"`}, cmd, "emails")
		}
		e.json(&list, "pauses")
		if len(list.Items) != 0 {
			t.Fatalf("refused pauses paused something: %+v", list.Items)
		}
	})
}

// TestAppsDisableEnable runs sluice apps disable | enable on both stores: a disabled app is
// marked in apps list, enqueueing its jobs is refused naming --app, and enabling it undoes
// that.
func TestAppsDisableEnable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.ok("apps", "create", "billing")
		e.ok("apps", "create", "search")

		var app sluice.App
		e.json(&app, "apps", "disable", "billing")
		if app.Name != "billing" || app.DisabledAt == nil {
			t.Fatalf("apps disable --json: %+v", app)
		}
		var again sluice.App
		e.json(&again, "apps", "disable", "billing")
		if again.DisabledAt == nil || !again.DisabledAt.Equal(*app.DisabledAt) {
			t.Fatalf("disabling a disabled app changed its time: %+v, was %+v", again, app)
		}
		var apps page[sluice.App]
		e.json(&apps, "apps", "list")
		if len(apps.Items) != 2 || apps.Items[0].DisabledAt == nil || apps.Items[1].DisabledAt != nil {
			t.Fatalf("apps list --json: %+v", apps.Items)
		}
		r := e.ok("apps", "list")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 3 || !strings.Contains(lines[0], "DISABLED AT") || !humanTime.MatchString(lines[1][strings.Index(lines[1], "billing")+len("billing"):]) ||
			!strings.HasSuffix(strings.TrimSpace(lines[2]), "-") {
			t.Fatalf("apps list: %s", r)
		}

		e.fail(exitRuntime, []string{"Error: --app: app billing is disabled"}, "jobs", "enqueue", "--app", "billing", "--type", "t", "--payload", "{}")
		e.enqueueJob("--app", "search", "--type", "t")

		r = e.ok("apps", "enable", "billing")
		if !strings.Contains(r.stdout, "disabled at:") || !strings.Contains(r.stdout, "billing") {
			t.Fatalf("apps enable: %s", r)
		}
		var enabled sluice.App
		e.json(&enabled, "apps", "enable", "billing")
		if enabled.DisabledAt != nil {
			t.Fatalf("apps enable --json: %+v", enabled)
		}
		e.enqueueJob("--app", "billing", "--type", "t")

		for _, cmd := range []string{"disable", "enable"} {
			e.fail(exitUsage, []string{`Error: APP: no app has the id or name "nope"`}, "apps", cmd, "nope")
			e.fail(exitUsage, []string{"apps " + cmd + " takes APP, got 0 arguments"}, "apps", cmd)
		}
	})
}
