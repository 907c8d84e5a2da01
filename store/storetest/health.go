package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/store"
)

// healthTables are Sluice's tables, in the order Health reports them.
var healthTables = []string{"jobs", "job_dlq", "apps", "api_tokens", "audit_log", "sluice_migrations"}

func testHealth(t *testing.T, r *suite) {
	r.run(t, "ReportsEveryTable", func(t *testing.T, b *bundle) {
		// A row or more in every table: 2 apps (setup), 3 jobs inserted, 2 dead-lettered and one
		// of those replayed (4 jobs, 2 entries), one token, one audit row.
		b.insertNew(t, newJob(b.app.ID, "h"), newJob(b.app.ID, "h"), newJob(b.app2.ID, "h"))
		dead := b.killN(t, 2, b.app.ID, "h")
		audit := &store.Audit{ID: newID(), Actor: "test", Action: "dlq.replay", AppID: &b.app.ID, Details: json.RawMessage(`{}`)}
		must(b.s.ReplayDead(b.ctx, store.ReplayParams{ID: dead[0].ID, Defaults: testDefaults, Audit: audit}))(t)
		hash := sha256.Sum256([]byte("secret"))
		must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), Name: "ops", SecretHash: hash[:]}))(t)
		migrations := must(b.s.MigrationStatus(b.ctx))(t)

		h := must(b.s.Health(b.ctx))(t)
		names := make([]string, len(h.Tables))
		var sum int64
		for i, tb := range h.Tables {
			names[i] = tb.Name
			sum += tb.SizeBytes
			if tb.LiveRows < 0 || tb.DeadRows < 0 || tb.SizeBytes <= 0 {
				t.Errorf("Health: table %+v: want rows not negative and a size above 0", tb)
			}
		}
		if !slices.Equal(names, healthTables) {
			t.Fatalf("Health tables = %v, want %v", names, healthTables)
		}
		if h.SizeBytes < sum {
			t.Errorf("Health: database size %d is less than its tables' sizes, %d", h.SizeBytes, sum)
		}
		if h.XIDAge < 0 || h.MultiXactAge < 0 {
			t.Errorf("Health: XIDAge %d, MultiXactAge %d: want not negative", h.XIDAge, h.MultiXactAge)
		}
		for _, w := range h.Warnings {
			if w == "" {
				t.Errorf("Health: an empty warning in %q", h.Warnings)
			}
		}
		if !r.opts.ExactRowCounts {
			return
		}
		want := []int64{4, 2, 2, 1, 1, int64(len(migrations))}
		for i, tb := range h.Tables {
			if tb.LiveRows != want[i] || tb.DeadRows != 0 {
				t.Errorf("Health: %s has %d live and %d dead rows, want %d and 0", tb.Name, tb.LiveRows, tb.DeadRows, want[i])
			}
		}
	})
}
