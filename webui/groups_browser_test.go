package webui_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
)

// An operator with more failure groups than a page sees the largest first, switches to every
// group by app and type, and loads the rest with "Load more": each group once, in key order.
func TestGroupsWalkInKeyOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.SQLite(t))
	f.app(t, "acme")
	f.app(t, "globex")
	// 110 groups of one type (their errors differ in letters, which no mask touches) and 3
	// of another app.
	kind := func(n, _ int) string { return fmt.Sprintf("failure kind %c%c", 'g'+n/20, 'g'+n%20) }
	f.deadLetter(t,
		failing{app: "acme", jobType: "batch.run", n: 110, attempts: 1, errText: kind},
		failing{app: "globex", jobType: "mail.send", n: 3, attempts: 1, errText: func(n, _ int) string { return "smtp: refused by relay " + strings.Repeat("x", n) }})
	all, err := f.client.DLQ().ListGroups(f.ctx, sluice.Filter{}, sluice.ListOptions{Limit: 1000})
	if err != nil || len(all.Items) != 113 {
		t.Fatalf("the groups: %v, %d of them", err, len(all.Items))
	}
	var want []string
	for _, g := range all.Items {
		want = append(want, g.Type+"/"+g.Signature)
	}

	b := newBrowser(t)
	shown := func() []string {
		t.Helper()
		var out []string
		raw := eval[string](b, `JSON.stringify([...document.querySelectorAll('#groups-table tbody tr[data-signature]')].map((tr) => tr.querySelector('td.type').textContent + '/' + tr.dataset.signature))`)
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	rows := func(n int) string {
		return fmt.Sprintf(`document.querySelectorAll('#groups-table tbody tr[data-signature]').length === %d`, n)
	}
	b.signIn(f.srv.URL, f.admin)
	b.goTo("#/groups")
	b.until("the ranked groups", rows(113))
	if got := shown(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("the ranking shows %v", got)
	}
	if eval[bool](b, `!document.querySelector('#groups-more').hidden`) {
		t.Error("the ranking offers to load more")
	}

	b.do("walk every group", chromedp.Click(chromedp.CSS(`#groups-order a`)))
	b.until("the first page in key order", `location.hash === '#/groups?order=key' && `+rows(100))
	if got := shown(); !slices.Equal(got, want[:100]) {
		t.Fatalf("the first page shows %v\nwant %v", got, want[:100])
	}
	if got := b.text("#groups-count"); got != "100 groups shown, more below" {
		t.Errorf("the first page's status reads %q", got)
	}
	b.shot("groups-by-key")
	b.do("load more", chromedp.Click(chromedp.CSS("#groups-more")))
	b.until("every group", rows(113)+` && document.querySelector('#groups-more').hidden`)
	if got := shown(); !slices.Equal(got, want) {
		t.Fatalf("the walk shows %v\nwant %v", got, want)
	}
	if got := b.text("#groups-count"); got != "113 groups shown" {
		t.Errorf("the last page's status reads %q", got)
	}

	// The filter keeps the order; the ranking is one click back.
	b.goTo("#/groups?app=globex&order=key")
	b.until("globex's groups in key order", rows(3)+` && document.querySelector('#groups-more').hidden`)
	globex := slices.DeleteFunc(slices.Clone(want), func(k string) bool { return !strings.HasPrefix(k, "mail.send/") })
	if got := shown(); len(globex) != 3 || !slices.Equal(got, globex) {
		t.Fatalf("globex's groups show %v", got)
	}
	b.do("back to the ranking", chromedp.Click(chromedp.CSS(`#groups-order a`)))
	b.until("the ranking of globex", `location.hash === '#/groups?app=globex' && `+rows(3))
}
