package pgstore_test

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
	"github.com/sluicehq/sluice/store/pgstore"
)

// previousRelease is the schema version whose queries testdata/queries-NNNN holds: the
// release before this one, whose workers run beside this release's during a rolling upgrade
// (docs/upgrades.md). Move both forward together, when a release ships.
const previousRelease = 9

// TestPreviousReleaseQueries is the rolling-upgrade test. The previous release's workers keep
// running on a schema migrated to the newest version, so every query they run must still
// work there: each is prepared against the newest schema (a dropped or renamed table, column
// or function fails it), and every column added since the previous release must be nullable
// or have a default (so the old release's inserts, which do not name it, still work), and no
// column the old release had may be gone.
func TestPreviousReleaseQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := st.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
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
			if _, err := conn.Conn().Prepare(ctx, "", qs[name]); err != nil {
				t.Errorf("%s %s: the previous release's query fails on the newest schema: %v", filepath.Base(f), name, err)
			}
			prepared++
		}
	}
	if prepared < 50 {
		t.Fatalf("prepared only %d queries", prepared)
	}

	// The columns of the previous release's schema against the newest one's.
	old, err := pgstore.Open(ctx, testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := old.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := old.MigrateDown(ctx, previousRelease); err != nil {
		t.Fatal(err)
	}
	columns := func(st *pgstore.Store) map[string]bool {
		rows, err := st.Pool().Query(ctx, `SELECT table_name || '.' || column_name, is_nullable = 'YES' OR column_default IS NOT NULL
			FROM information_schema.columns WHERE table_schema = current_schema()`)
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
