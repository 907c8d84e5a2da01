package webui_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
)

// An admin renames an app (a taken name is refused in the dialog), deletes an empty one, and
// purges one that holds dead letters and a token, after typing its name to confirm.
func TestAppsRenameDeletePurge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.SQLite(t))
	acme := f.app(t, "acme")
	f.app(t, "spare")
	f.deadLetter(t, failing{app: "acme", jobType: "email.send", n: 3, attempts: 1, errText: func(int, int) string { return "smtp: 550" }})
	f.token(t, sluice.TokenParams{App: "acme"})

	b := newBrowser(t)
	b.signIn(f.srv.URL, f.admin)
	b.do("open the apps", chromedp.Click(chromedp.CSS(`nav a[href="#/apps"]`)), chromedp.WaitVisible(chromedp.CSS("#apps-table")))
	b.until("two apps", `document.querySelectorAll('#apps-table tbody tr').length === 2`)
	row := func(name string) string { return `#apps-table tr[data-name="` + name + `"]` }

	b.do("rename acme", chromedp.Click(chromedp.CSS(row("acme")+" .rename-app")), chromedp.WaitVisible(chromedp.CSS("#rename-name")))
	b.setValue("#rename-name", "spare")
	b.do("confirm a taken name", chromedp.Click(chromedp.CSS("#dialog-confirm")))
	b.until("the refusal", `(document.querySelector('dialog .form-errors') || {}).textContent?.includes('an app named "spare" already exists')`)
	b.setValue("#rename-name", "acme-2")
	b.do("confirm the rename", chromedp.Click(chromedp.CSS("#dialog-confirm")))
	b.until("the renamed row", `document.querySelector('`+row("acme-2")+`') !== null && !document.querySelector('dialog')`)
	if got := b.text("main .alert"); !strings.Contains(got, "Renamed acme to acme-2.") {
		t.Errorf("after the rename the page says %q", got)
	}
	if got, err := f.client.GetApp(f.ctx, "acme-2"); err != nil || got.ID != acme.ID {
		t.Fatalf("the renamed app: %+v, %v", got, err)
	}
	b.shot("apps")

	b.do("delete spare", chromedp.Click(chromedp.CSS(row("spare")+" .delete-app")), chromedp.WaitVisible(chromedp.CSS("#dialog-confirm")))
	if got := b.text("#dialog-title"); got != "Delete spare?" {
		t.Errorf("the delete dialog says %q", got)
	}
	b.do("confirm the delete", chromedp.Click(chromedp.CSS("#dialog-confirm")))
	b.until("spare gone", `document.querySelector('`+row("spare")+`') === null && document.querySelectorAll('#apps-table tbody tr').length === 1`)

	b.do("delete acme-2", chromedp.Click(chromedp.CSS(row("acme-2")+" .delete-app")), chromedp.WaitVisible(chromedp.CSS("#holdings")))
	if got := b.text("#holdings"); !strings.Contains(got, "3 un-replayed dead-letter entries") || !strings.Contains(got, "1 token that is not revoked") {
		t.Errorf("the purge dialog lists %q", got)
	}
	b.shot("apps-purge")
	b.do("confirm without the name", chromedp.Click(chromedp.CSS("#dialog-confirm")))
	b.until("the refusal", `(document.querySelector('dialog .form-errors') || {}).textContent?.includes('Type acme-2 exactly')`)
	if _, err := f.client.GetApp(f.ctx, "acme-2"); err != nil {
		t.Fatalf("the app went without the name typed: %v", err)
	}
	b.setValue("#purge-confirm", "acme-2")
	b.do("confirm the purge", chromedp.Click(chromedp.CSS("#dialog-confirm")))
	b.until("no apps", `document.querySelector('#apps-table') === null && !document.querySelector('dialog')`)
	if got := b.text("main .alert"); !strings.Contains(got, "Deleted app acme-2 with 0 jobs, 3 dead-letter entries, 1 token and 0 retention policies.") {
		t.Errorf("after the purge the page says %q", got)
	}
	if _, err := f.client.GetApp(f.ctx, acme.ID.String()); !errors.Is(err, sluice.ErrNotFound) {
		t.Fatalf("the purged app: %v", err)
	}
	if n := len(f.dead(t, sluice.Filter{})); n != 0 {
		t.Fatalf("%d dead letters left after the purge", n)
	}
}
