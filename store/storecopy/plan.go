package storecopy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

// bookkeeping is the migrations' own table: both stores are at the same version before a
// copy, so it is not copied.
const bookkeeping = "sluice_migrations"

// table is one table of the copy plan.
type table struct {
	name string
	cols []column
	// key holds the indexes in cols of the primary key's columns, in key order.
	key []int
}

type column struct {
	name string
	kind kind
}

// catalog is one database's tables as its catalogue describes them.
type catalog map[string]*tableDef

type tableDef struct {
	name string
	cols []colDef
	key  []string
	refs []string // tables its foreign keys reference
}

type colDef struct {
	name      string
	typ       string // as declared: format_type on PostgreSQL, the declared type on SQLite
	generated bool
}

// side is one store as the copier sees it.
type side interface {
	dialect() string
	catalog(ctx context.Context) (catalog, error)
	// snapshot begins a read-only transaction that sees one state of the store.
	snapshot(ctx context.Context) (session, error)
	// begin begins the write transaction a copy runs in.
	begin(ctx context.Context) (session, error)
}

// session is a transaction on one side.
type session interface {
	// scan reads t's rows in primary-key order, each value in its kind's canonical form.
	scan(ctx context.Context, t *table) (rowIter, error)
	hasRows(ctx context.Context, t *table) (bool, error)
	lock(ctx context.Context, tables []*table) error
	clear(ctx context.Context, t *table) error
	// insert writes rows of canonical values.
	insert(ctx context.Context, t *table, rows [][]any) error
	commit(ctx context.Context) error
	// rollback ends the transaction unless it was committed.
	rollback()
}

type rowIter interface {
	next() ([]any, bool)
	err() error
	close()
}

func sideOf(st store.Store) (side, error) {
	switch s := st.(type) {
	case *pgstore.Store:
		return pgSide{s.Pool()}, nil
	case *sqlitestore.Store:
		return sqliteSide{s}, nil
	}
	return nil, fmt.Errorf("storecopy: cannot copy a %s store (%T)", st.Backend(), st)
}

// prepare reads both catalogues and makes the copy plan: the tables in foreign-key order.
func prepare(ctx context.Context, from, to store.Store) (side, side, []*table, error) {
	src, err := sideOf(from)
	if err != nil {
		return nil, nil, nil, err
	}
	dst, err := sideOf(to)
	if err != nil {
		return nil, nil, nil, err
	}
	sc, err := src.catalog(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("storecopy: read the source's catalogue: %w", err)
	}
	dc, err := dst.catalog(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("storecopy: read the target's catalogue: %w", err)
	}
	tables, err := plan(sc, src.dialect(), dc, dst.dialect())
	return src, dst, tables, err
}

// plan matches the two catalogues table by table and column by column and decides each
// column's kind. Both stores are at the same schema version, so any mismatch is a bug in a
// migration, reported by name.
func plan(src catalog, srcDialect string, dst catalog, dstDialect string) ([]*table, error) {
	for name := range dst {
		if _, ok := src[name]; !ok && name != bookkeeping {
			return nil, fmt.Errorf("storecopy: table %s exists in the target but not in the source", name)
		}
	}
	var tables []*table
	for _, name := range slices.Sorted(maps.Keys(src)) {
		if name == bookkeeping {
			continue
		}
		s, d := src[name], dst[name]
		if d == nil {
			return nil, fmt.Errorf("storecopy: table %s exists in the source but not in the target", name)
		}
		t := &table{name: name}
		dcols := map[string]colDef{}
		for _, c := range d.cols {
			dcols[c.name] = c
		}
		for _, c := range s.cols {
			dc, ok := dcols[c.name]
			if !ok {
				return nil, fmt.Errorf("storecopy: column %s.%s exists in the source but not in the target", name, c.name)
			}
			delete(dcols, c.name)
			if c.generated || dc.generated {
				return nil, fmt.Errorf("storecopy: column %s.%s is generated, which the copy does not support", name, c.name)
			}
			k, err := columnKind(c.typ, srcDialect, dc.typ, dstDialect)
			if err != nil {
				return nil, fmt.Errorf("storecopy: column %s.%s: %w", name, c.name, err)
			}
			t.cols = append(t.cols, column{name: c.name, kind: k})
		}
		for c := range dcols {
			return nil, fmt.Errorf("storecopy: column %s.%s exists in the target but not in the source", name, c)
		}
		if !slices.Equal(s.key, d.key) || len(s.key) == 0 {
			return nil, fmt.Errorf("storecopy: table %s needs the same primary key in both stores (source %v, target %v)", name, s.key, d.key)
		}
		for _, k := range s.key {
			t.key = append(t.key, slices.IndexFunc(t.cols, func(c column) bool { return c.name == k }))
		}
		tables = append(tables, t)
	}
	return dependencyOrder(tables, src)
}

// dependencyOrder sorts tables so that every table comes after those its foreign keys
// reference (by name among those ready).
func dependencyOrder(tables []*table, cat catalog) ([]*table, error) {
	done := map[string]bool{}
	var out []*table
	for len(out) < len(tables) {
		progressed := false
		for _, t := range tables {
			if done[t.name] {
				continue
			}
			ready := true
			for _, r := range cat[t.name].refs {
				if r != t.name && !done[r] {
					ready = false
				}
			}
			if ready {
				done[t.name] = true
				out = append(out, t)
				progressed = true
			}
		}
		if !progressed {
			var left []string
			for _, t := range tables {
				if !done[t.name] {
					left = append(left, t.name)
				}
			}
			return nil, fmt.Errorf("storecopy: the foreign keys of tables %s form a cycle", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// compare reads every table from both sessions in key order and compares them row by row.
func compare(ctx context.Context, tables []*table, a, b session) (Report, error) {
	var report Report
	diff := &DiffError{}
	add := func(d Difference) {
		diff.Total++
		if len(diff.Differences) < maxDifferences {
			diff.Differences = append(diff.Differences, d)
		}
	}
	for _, t := range tables {
		n, err := compareTable(ctx, t, a, b, add)
		if err != nil {
			return report, err
		}
		report.Tables = append(report.Tables, TableCount{Table: t.name, Rows: n})
		report.Rows += n
	}
	if diff.Total > 0 {
		return report, diff
	}
	return report, nil
}

// compareTable merges the two key-ordered streams of t, reporting rows only one side has
// and columns that differ, and returns the source's row count.
func compareTable(ctx context.Context, t *table, a, b session, add func(Difference)) (int64, error) {
	ia, err := a.scan(ctx, t)
	if err != nil {
		return 0, fmt.Errorf("storecopy: read the source's %s: %w", t.name, err)
	}
	defer ia.close()
	ib, err := b.scan(ctx, t)
	if err != nil {
		return 0, fmt.Errorf("storecopy: read the target's %s: %w", t.name, err)
	}
	defer ib.close()
	var n int64
	ra, oka := ia.next()
	rb, okb := ib.next()
	for oka || okb {
		c := 0
		switch {
		case !oka:
			c = 1
		case !okb:
			c = -1
		default:
			c = compareKeys(t, ra, rb)
		}
		switch {
		case c < 0:
			add(Difference{Table: t.name, Key: keyString(t, ra), Source: "(present)", Target: "(missing)"})
		case c > 0:
			add(Difference{Table: t.name, Key: keyString(t, rb), Source: "(missing)", Target: "(present)"})
		default:
			for i, col := range t.cols {
				if !equal(col.kind, ra[i], rb[i]) {
					add(Difference{Table: t.name, Key: keyString(t, ra), Column: col.name,
						Source: display(col.kind, ra[i]), Target: display(col.kind, rb[i])})
				}
			}
		}
		if c <= 0 {
			n++
			ra, oka = ia.next()
		}
		if c >= 0 {
			rb, okb = ib.next()
		}
	}
	if err := ia.err(); err != nil {
		return n, fmt.Errorf("storecopy: read the source's %s: %w", t.name, err)
	}
	if err := ib.err(); err != nil {
		return n, fmt.Errorf("storecopy: read the target's %s: %w", t.name, err)
	}
	return n, nil
}

// compareKeys orders two rows by primary key as both stores sort them (text bytewise).
func compareKeys(t *table, a, b []any) int {
	for _, i := range t.key {
		if c := compareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok && x != y {
			if !x {
				return -1
			}
			return 1
		}
		return 0
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func keyString(t *table, row []any) string {
	parts := make([]string, len(t.key))
	for j, i := range t.key {
		parts[j] = t.cols[i].name + "=" + display(t.cols[i].kind, row[i])
	}
	return strings.Join(parts, ",")
}
