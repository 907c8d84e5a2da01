package sqlitestore_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

// previousRelease is the schema version whose queries testdata/queries-NNNN holds: the
// release before this one, whose workers run beside this release's during a rolling upgrade
// (docs/upgrades.md). Move both forward together, when a release ships.
const previousRelease = 9

// TestPreviousReleaseQueries is the rolling-upgrade test, as pgstore's: every query of the
// previous release prepares on the newest schema, no column it had is gone, and every column
// added since is nullable or has a default.
func TestPreviousReleaseQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	open := func() *sqlitestore.Store {
		st, err := sqlitestore.Open(ctx, testdb.SQLite(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	files, err := filepath.Glob(fmt.Sprintf("testdata/queries-%04d/*.sql", previousRelease))
	if err != nil || len(files) == 0 {
		t.Fatalf("no previous release's queries: %v", err)
	}
	prepared := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := sqlfile.Parse(string(src))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, name := range slices.Sorted(maps.Keys(qs)) {
			stmt, err := st.DB().PrepareContext(ctx, qs[name])
			if err != nil {
				t.Errorf("%s %s: the previous release's query fails on the newest schema: %v", filepath.Base(f), name, err)
				continue
			}
			stmt.Close()
			prepared++
		}
	}
	if prepared < 50 {
		t.Fatalf("prepared only %d queries", prepared)
	}

	old := open()
	if _, err := old.MigrateDown(ctx, previousRelease); err != nil {
		t.Fatal(err)
	}
	columns := func(st *sqlitestore.Store) map[string]bool {
		rows, err := st.DB().QueryContext(ctx, `SELECT m.name || '.' || p.name, NOT p."notnull" OR p.dflt_value IS NOT NULL
			FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var col string
			var optional bool
			if err := rows.Scan(&col, &optional); err != nil {
				t.Fatal(err)
			}
			out[col] = optional
		}
		return out
	}
	before, after := columns(old), columns(st)
	for col := range before {
		if _, ok := after[col]; !ok {
			t.Errorf("column %s, which the previous release uses, is gone: drop it only in a later release", col)
		}
	}
	// A new table is the new release's alone; a new column of an old table must not break the
	// previous release's inserts.
	oldTables := map[string]bool{}
	for col := range before {
		oldTables[strings.SplitN(col, ".", 2)[0]] = true
	}
	for col, optional := range after {
		if _, ok := before[col]; !ok && !optional && oldTables[strings.SplitN(col, ".", 2)[0]] {
			t.Errorf("new column %s is NOT NULL without a default: the previous release's inserts would fail", col)
		}
	}
}
