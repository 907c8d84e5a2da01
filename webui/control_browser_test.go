package webui_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluicehq/sluice"
)

// An operator controls live work from the UI: cancels a pending job from its page, makes a
// scheduled job due now and then deletes it, pauses a queue (a scope naming nothing and a bad
// queue refused, the field named) and resumes it, disables and enables an app, and asks a
// running job's worker to cancel it. A read-only token sees none of the buttons.
func TestLiveControl(t *testing.T) {
	t.Parallel()
	for name, newURL := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, newURL(t))
			acme := f.app(t, "acme")
			f.app(t, "globex")
			enqueue := func(j sluice.NewJob) sluice.Job {
				t.Helper()
				res, err := f.client.Enqueue(f.ctx, j)
				if err != nil {
					t.Fatal(err)
				}
				return res.Job
			}
			getJob := func(j sluice.Job) sluice.Job {
				t.Helper()
				got, err := f.client.GetJob(f.ctx, j.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			// No handler is registered for report.build: these jobs stay as they are put.
			pending := enqueue(sluice.NewJob{App: "acme", Type: "report.build", Payload: item{N: 1}})
			scheduled := enqueue(sluice.NewJob{App: "acme", Type: "report.build", Payload: item{N: 2}, RunAt: time.Now().Add(time.Hour)})
			kept := enqueue(sluice.NewJob{App: "acme", Type: "report.build", Payload: item{N: 3}})
			okText := func(prefix string) string {
				return fmt.Sprintf(`(document.querySelector('main > .alert.ok, #pauses-messages .alert.ok') || {}).textContent?.startsWith(%q)`, prefix)
			}
			br := newBrowser(t)
			count := func(sel string) int {
				t.Helper()
				return eval[int](br, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
			}
			br.signIn(f.srv.URL, f.admin)

			// Cancel a pending job from its page, after a confirmation.
			br.goTo("#/jobs/" + pending.ID.String())
			br.do("cancel the pending job", chromedp.Click(chromedp.CSS("#cancel-job"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
			if got := br.text("#dialog-title"); got != "Cancel this job?" {
				t.Errorf("the cancel dialog says %q", got)
			}
			if got := br.text("#dialog-dismiss"); got != "Keep it" {
				t.Errorf("the cancel dialog's way out says %q", got)
			}
			if name == "sqlite" {
				br.shot("job-cancel-confirm")
			}
			br.do("confirm the cancel", chromedp.Click(chromedp.CSS("#dialog-confirm")))
			br.until("the cancelled job", okText("Cancelled report.build job")+` && document.querySelector('#job-status .st-cancelled') !== null`)
			if got := getJob(pending); got.Status != sluice.StatusCancelled || len(got.ErrorHistory) == 0 || got.ErrorHistory[len(got.ErrorHistory)-1].Error != sluice.CancelReason {
				t.Errorf("after the cancel the job is %s with history %+v", got.Status, got.ErrorHistory)
			}
			for sel, want := range map[string]int{"#cancel-job": 0, "#retry-job": 0, "#delete-job": 1} {
				if n := count(sel); n != want {
					t.Errorf("a cancelled job shows %d %s, want %d", n, sel, want)
				}
			}

			// Make a scheduled job due now, then delete it.
			br.goTo("#/jobs/" + scheduled.ID.String())
			br.do("retry the scheduled job now", chromedp.Click(chromedp.CSS("#retry-job"), chromedp.NodeVisible))
			br.until("the retried job", okText("Due now: report.build job"))
			if got := getJob(scheduled); got.Status != sluice.StatusPending || !got.RunAt.Before(scheduled.RunAt.Add(-30*time.Minute)) || got.Attempts != 0 {
				t.Errorf("after the retry the job is %s, due %v (was %v), attempts %d", got.Status, got.RunAt, scheduled.RunAt, got.Attempts)
			}
			br.do("delete the job", chromedp.Click(chromedp.CSS("#delete-job"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
			if got := br.text("#dialog-title"); got != "Delete this job?" {
				t.Errorf("the delete dialog says %q", got)
			}
			br.do("confirm the delete", chromedp.Click(chromedp.CSS("#dialog-confirm")))
			br.until("the jobs listing", `location.hash === '#/jobs' && `+okText("Deleted report.build job"))
			if _, err := f.client.GetJob(f.ctx, scheduled.ID); !errors.Is(err, sluice.ErrNotFound) {
				t.Errorf("after the delete GetJob = %v, want ErrNotFound", err)
			}

			// Pause a queue of acme, after two refusals that name their field, and resume it.
			br.do("open the pauses", chromedp.Click(chromedp.CSS(`nav a[href="#/pauses"]`)), chromedp.WaitVisible(chromedp.CSS("#pause-form")))
			br.until("nothing paused", `document.querySelector('#pauses-table .empty-row') !== null`)
			br.do("pause nothing", chromedp.Click(chromedp.CSS("#pause-submit")))
			br.until("the refusal", `(document.querySelector('#pauses-messages .alert.error') || {}).textContent?.includes('scope: ')`)
			if !eval[bool](br, `['#p-app', '#p-queue', '#p-type'].every((s) => document.querySelector(s).getAttribute('aria-invalid') === 'true')`) {
				t.Error("a scope naming nothing does not mark the scope's fields")
			}
			br.setValue("#p-app", "acme")
			br.setValue("#p-queue", "mail queue")
			br.do("pause a bad queue", chromedp.Click(chromedp.CSS("#pause-submit")))
			br.until("the refusal", `(document.querySelector('#pauses-messages .alert.error') || {}).textContent?.includes('queue: must be printable ASCII without spaces')`)
			if got := eval[string](br, `[...document.querySelectorAll('#pause-form [aria-invalid="true"]')].map((el) => el.name).join()`); got != "queue" {
				t.Errorf("the fields marked bad are %q, want queue", got)
			}
			br.setValue("#p-queue", "mail")
			br.do("pause acme's mail queue", chromedp.Click(chromedp.CSS("#pause-submit")))
			br.waitRows(1)
			br.until("the pause", okText("Paused queue mail of acme"))
			pauses, err := f.client.ListPauses(f.ctx)
			if err != nil || len(pauses) != 1 || pauses[0].Queue != "mail" || pauses[0].Type != "" || pauses[0].AppID == nil || *pauses[0].AppID != acme.ID ||
				!strings.HasPrefix(pauses[0].PausedBy, "token:") {
				t.Fatalf("after the pause ListPauses = %+v, %v", pauses, err)
			}
			row := fmt.Sprintf(`#pauses-table tr[data-id=%q]`, pauses[0].ID)
			if got := br.text(row); !strings.Contains(got, "acme") || !strings.Contains(got, "mail") || !strings.Contains(got, "any type") || !strings.Contains(got, pauses[0].PausedBy) {
				t.Errorf("the pause's row reads %q", got)
			}
			if got := eval[string](br, `document.querySelector('#p-queue').value + document.querySelector('#p-app').value`); got != "" {
				t.Errorf("after the pause the form still holds %q", got)
			}
			if name == "sqlite" {
				br.shot("pauses")
			}
			br.do("resume", chromedp.Click(chromedp.CSS(row+" .resume-pause")))
			br.until("the resume", okText("Resumed queue mail of acme")+` && document.querySelector('#pauses-table .empty-row') !== null`)
			if pauses, err := f.client.ListPauses(f.ctx); err != nil || len(pauses) != 0 {
				t.Errorf("after the resume ListPauses = %+v, %v", pauses, err)
			}

			// Disable acme after a confirmation, then enable it.
			appRow := `#apps-table tr[data-name="acme"]`
			br.do("open the apps", chromedp.Click(chromedp.CSS(`nav a[href="#/apps"]`)), chromedp.WaitVisible(chromedp.CSS(appRow+" .disable-app")))
			br.do("disable acme", chromedp.Click(chromedp.CSS(appRow+" .disable-app")), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
			if got := br.text("#dialog-title"); got != "Disable acme?" {
				t.Errorf("the disable dialog says %q", got)
			}
			br.do("confirm the disable", chromedp.Click(chromedp.CSS("#dialog-confirm")))
			br.until("acme disabled", okText("Disabled acme")+` && document.querySelector('`+appRow+` .app-disabled') !== null && document.querySelector('`+appRow+` .enable-app') !== null`)
			if a, err := f.client.GetApp(f.ctx, "acme"); err != nil || a.DisabledAt == nil {
				t.Errorf("after the disable GetApp = %+v, %v", a, err)
			}
			if n := count(`#apps-table tr[data-name="globex"] .app-disabled`); n != 0 {
				t.Error("globex is shown disabled too")
			}
			if name == "sqlite" {
				br.shot("apps-disabled")
			}
			br.goTo("#/")
			br.until("the overview marks acme", `[...document.querySelectorAll('#stats tr.group')].some((r) => r.querySelector('.app-name').textContent === 'acme' && r.querySelector('.app-disabled'))`)
			br.do("back to the apps", chromedp.Click(chromedp.CSS(`nav a[href="#/apps"]`)), chromedp.WaitVisible(chromedp.CSS(appRow+" .enable-app")))
			br.do("enable acme", chromedp.Click(chromedp.CSS(appRow+" .enable-app")))
			br.until("acme enabled", okText("Enabled acme")+` && document.querySelector('`+appRow+` .app-disabled') === null && document.querySelector('`+appRow+` .disable-app') !== null`)
			if a, err := f.client.GetApp(f.ctx, "acme"); err != nil || a.DisabledAt != nil {
				t.Errorf("after the enable GetApp = %+v, %v", a, err)
			}

			// Ask a running job's worker to cancel it: the page says the cancel is requested
			// while the handler still runs; the job ends cancelled when the handler returns.
			release := make(chan struct{})
			var releaseOnce sync.Once
			free := func() { releaseOnce.Do(func() { close(release) }) }
			t.Cleanup(free) // before the fixture's client is closed
			// The handler holds on until the page has shown the request, then until its worker
			// has cancelled its context (told at once, but not before the request returned).
			sluice.Handle(f.client, "slow.export", func(ctx context.Context, _ *sluice.Job, _ item) error {
				<-release
				<-ctx.Done()
				return context.Cause(ctx)
			}, &sluice.TypeOptions{MaxAttempts: 1})
			if err := f.client.Start(f.ctx); err != nil {
				t.Fatal(err)
			}
			running := enqueue(sluice.NewJob{App: "acme", Type: "slow.export", Payload: item{N: 4}})
			waitFor(t, "the slow job to run", func() bool { return getJob(running).Status == sluice.StatusRunning })
			br.goTo("#/jobs/" + running.ID.String())
			br.do("cancel the running job", chromedp.Click(chromedp.CSS("#cancel-job"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
			if got := br.text("dialog p"); !strings.Contains(got, "It is running") {
				t.Errorf("the cancel dialog of a running job says %q", got)
			}
			br.do("confirm the cancel", chromedp.Click(chromedp.CSS("#dialog-confirm")))
			br.until("the request", okText("Cancel requested for slow.export job")+` && document.querySelector('#job-status .cancel-requested') !== null && document.querySelector('#job-status .st-running') !== null`)
			if got := getJob(running); got.Status != sluice.StatusRunning || got.CancelRequestedAt == nil {
				t.Errorf("after the request the job is %s, cancel requested at %v", got.Status, got.CancelRequestedAt)
			}
			for _, sel := range []string{"#cancel-job", "#delete-job"} {
				if n := count(sel); n != 0 {
					t.Errorf("a running job being cancelled shows %s", sel)
				}
			}
			if name == "sqlite" {
				br.shot("job-cancel-requested")
			}
			free()
			waitFor(t, "the running job to end", func() bool { return getJob(running).Status != sluice.StatusRunning })
			if got := getJob(running); got.Status != sluice.StatusCancelled {
				t.Errorf("the job whose cancel was requested ended %s, want cancelled", got.Status)
			}
			if err := f.client.Stop(f.ctx); err != nil {
				t.Fatal(err)
			}

			// A read-only token of acme sees the job and the pauses, and no button that writes.
			if _, err := f.client.Pause(f.ctx, sluice.Scope{App: "acme", Type: "report.build"}); err != nil {
				t.Fatal(err)
			}
			br.do("sign out", chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#token")))
			br.signIn(f.srv.URL, f.token(t, sluice.TokenParams{App: "acme", ReadOnly: true}))
			br.goTo("#/pauses")
			br.waitRows(1)
			for _, sel := range []string{"#pause-form", ".resume-pause"} {
				if n := count(sel); n != 0 {
					t.Errorf("a read-only session shows %s", sel)
				}
			}
			br.goTo("#/jobs/" + kept.ID.String())
			br.do("the pending job", chromedp.WaitVisible(chromedp.CSS("#job-status")))
			for _, sel := range []string{"#cancel-job", "#retry-job", "#delete-job"} {
				if n := count(sel); n != 0 {
					t.Errorf("a read-only session shows %s on a pending job", sel)
				}
			}
		})
	}
}
