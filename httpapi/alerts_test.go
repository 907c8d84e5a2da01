package httpapi

import (
	"testing"

	"github.com/sluicehq/sluice"
)

// TestAlertsRoute: GET /v1/alerts lists the pending dead-letter alerts newest first, paged;
// an app token sees only its app's, and status= selects.
func TestAlertsRoute(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		ids := func(path, token string) []string {
			t.Helper()
			var out []string
			cursor := ""
			for {
				var p page[sluice.AlertDelivery]
				b.ok(200, call{method: "GET", path: path + "&limit=2&cursor=" + cursor, token: token}).decode(t, &p)
				for _, a := range p.Items {
					if a.Status != sluice.AlertPending || a.Event != "job.dead_lettered" || a.Attempts != 0 || a.CreatedAt.IsZero() {
						t.Fatalf("alert %+v, want a pending dead-letter alert never tried", a)
					}
					out = append(out, a.ID.String())
				}
				if p.NextCursor == "" {
					return out
				}
				cursor = p.NextCursor
			}
		}
		var want, acme []string
		for _, e := range append(append([]sluice.DeadJob{}, b.acmeEntries...), b.globexEntries...) {
			want = append(want, e.ID.String())
		}
		for _, e := range b.acmeEntries {
			acme = append(acme, e.ID.String())
		}
		if got := ids("/v1/alerts?status=pending", b.admin); !sameSet(got, want) {
			t.Fatalf("admin sees %v, want every entry's alert %v", got, want)
		}
		if got := ids("/v1/alerts?app=", b.acmeTok); !sameSet(got, acme) || len(got) != len(acme) {
			t.Fatalf("acme's token sees %v, want acme's alerts %v", got, acme)
		}
		if got := ids("/v1/alerts?app=acme", b.admin); !sameSet(got, acme) {
			t.Fatalf("admin with app=acme sees %v, want %v", got, acme)
		}
		if got := ids("/v1/alerts?status=delivered", b.admin); len(got) != 0 {
			t.Fatalf("delivered alerts %v, none was delivered", got)
		}
		b.fail(404, "app", call{method: "GET", path: "/v1/alerts?app=globex", token: b.acmeTok})
	})
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
