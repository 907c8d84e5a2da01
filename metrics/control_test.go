package metrics_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/metrics"
)

// TestControlMetrics: sluice_paused_scopes counts the pauses and sluice_app_disabled is 1 for
// each disabled app and 0 for every other, both following pauses, resumes, disables and
// enables from one scrape to the next.
func TestControlMetrics(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := openStore(t, url)
		m := metrics.New(st, nil)
		c := newClient(t, st, m)
		apps := map[string]sluice.App{}
		for _, name := range []string{"alpha", "beta"} {
			a, err := c.CreateApp(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			apps[name] = a
		}
		// Apps are disabled through the store, which is what the gauge reads.
		setDisabled := func(name string, disabled bool) {
			t.Helper()
			if _, err := st.SetAppDisabled(ctx, apps[name].ID, disabled, nil); err != nil {
				t.Fatal(err)
			}
		}
		check := func(when string, paused, alpha, beta float64) {
			t.Helper()
			families := scrape(t, m.Handler())
			for _, g := range []struct {
				name string
				l    labels
				want float64
			}{
				{"sluice_paused_scopes", labels{}, paused},
				{"sluice_app_disabled", labels{"app": "alpha"}, alpha},
				{"sluice_app_disabled", labels{"app": "beta"}, beta},
				{"sluice_db_up", labels{}, 1},
			} {
				if got := value(t, families, g.name, g.l); got != g.want {
					t.Errorf("%s: %s%v = %v, want %v", when, g.name, g.l, got, g.want)
				}
			}
		}
		check("at first", 0, 0, 0)

		mail := sluice.Scope{App: "alpha", Queue: "mail"}
		for _, s := range []sluice.Scope{mail, {Type: "report.build"}, mail} { // the second pause of mail is the first
			if _, err := c.Pause(ctx, s); err != nil {
				t.Fatalf("pause %+v: %v", s, err)
			}
		}
		setDisabled("beta", true)
		check("after two pauses and disabling beta", 2, 0, 1)

		if _, err := c.Resume(ctx, mail); err != nil {
			t.Fatal(err)
		}
		setDisabled("beta", false)
		setDisabled("alpha", true)
		check("after a resume, enabling beta and disabling alpha", 1, 1, 0)
	})
}

// TestTokenExpiry: sluice_token_expires_in_seconds gives each expiring token that is not
// revoked its time left, by the scrape's clock, and nothing for the others.
func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := openStore(t, url)
		m := metrics.New(st, nil)
		c := newClient(t, st, m)
		expiring, _, err := c.CreateToken(ctx, sluice.TokenParams{Name: "ci deploy", TTL: 48 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.CreateToken(ctx, sluice.TokenParams{Name: "forever"}); err != nil {
			t.Fatal(err)
		}
		revoked, _, err := c.CreateToken(ctx, sluice.TokenParams{Name: "gone", TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.RevokeToken(ctx, revoked.ID); err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		families := scrape(t, m.Handler())
		after := time.Now()
		got := value(t, families, "sluice_token_expires_in_seconds", labels{"token": expiring.ID.String(), "name": "ci deploy"})
		if lo, hi := expiring.ExpiresAt.Sub(after).Seconds(), expiring.ExpiresAt.Sub(before).Seconds(); got < lo || got > hi {
			t.Fatalf("the expiring token has %v s left, want within [%v, %v]", got, lo, hi)
		}
		if n := len(families["sluice_token_expires_in_seconds"].GetMetric()); n != 1 {
			t.Fatalf("%d token expiry series, want 1 (neither the token without a lifetime nor the revoked one)", n)
		}
	})
}
