package metrics_test

import (
	"testing"

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
