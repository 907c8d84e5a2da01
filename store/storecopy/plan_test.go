package storecopy

import (
	"strings"
	"testing"
)

func cat(tables ...*tableDef) catalog {
	c := catalog{}
	for _, t := range tables {
		c[t.name] = t
	}
	return c
}

// TestPlanRefusesWhatItCannotCarry: a column type the copy does not know, a column or table
// only one side has, and a SQLite type that cannot hold the PostgreSQL one are errors that
// name table.column — never a column skipped.
func TestPlanRefusesWhatItCannotCarry(t *testing.T) {
	t.Parallel()
	pg := func(cols ...colDef) catalog {
		return cat(&tableDef{name: "things", cols: append([]colDef{{name: "id", typ: "uuid"}}, cols...), key: []string{"id"}})
	}
	lite := func(cols ...colDef) catalog {
		return cat(&tableDef{name: "things", cols: append([]colDef{{name: "id", typ: "TEXT"}}, cols...), key: []string{"id"}})
	}
	for _, tc := range []struct {
		name     string
		src, dst catalog
		want     string
	}{
		{"unknown PostgreSQL type", lite(colDef{name: "amount", typ: "TEXT"}), pg(colDef{name: "amount", typ: "numeric(10,2)"}),
			`column things.amount: PostgreSQL type "numeric(10,2)" is not one the copy knows`},
		{"unknown PostgreSQL type as the source", pg(colDef{name: "tags", typ: "text[]"}), lite(colDef{name: "tags", typ: "TEXT"}),
			`column things.tags: PostgreSQL type "text[]"`},
		{"wrong SQLite storage", lite(colDef{name: "at", typ: "TEXT"}), pg(colDef{name: "at", typ: "timestamp with time zone"}),
			`column things.at: SQLite type "TEXT" cannot hold a PostgreSQL timestamp with time zone (INTEGER expected)`},
		{"column only in the source", lite(colDef{name: "extra", typ: "TEXT"}), pg(),
			"column things.extra exists in the source but not in the target"},
		{"column only in the target", lite(), pg(colDef{name: "extra", typ: "text"}),
			"column things.extra exists in the target but not in the source"},
		{"table only in the target", lite(), cat(pg()["things"], &tableDef{name: "more", key: []string{"id"}}),
			"table more exists in the target but not in the source"},
		{"generated column", lite(colDef{name: "g", typ: "TEXT", generated: true}), pg(colDef{name: "g", typ: "text"}),
			"column things.g is generated"},
		{"no primary key", cat(&tableDef{name: "things", cols: []colDef{{name: "id", typ: "TEXT"}}}), cat(&tableDef{name: "things", cols: []colDef{{name: "id", typ: "uuid"}}}),
			"table things needs the same primary key"},
	} {
		_, err := plan(tc.src, "sqlite", tc.dst, "postgres")
		if tc.name == "unknown PostgreSQL type as the source" {
			_, err = plan(tc.src, "postgres", tc.dst, "sqlite")
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestPlanOrdersByForeignKeys: every table comes after those it references.
func TestPlanOrdersByForeignKeys(t *testing.T) {
	t.Parallel()
	def := func(name string, refs ...string) *tableDef {
		return &tableDef{name: name, cols: []colDef{{name: "id", typ: "uuid"}}, key: []string{"id"}, refs: refs}
	}
	c := cat(def("a_outbox", "dlq"), def("dlq", "apps"), def("apps"), def("jobs", "apps", "jobs"), def("sluice_migrations"))
	tables, err := plan(c, "postgres", c, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.name)
	}
	if got := strings.Join(names, " "); got != "apps dlq jobs a_outbox" {
		t.Fatalf("order %s", got)
	}
	c = cat(def("x", "y"), def("y", "x"))
	if _, err := plan(c, "postgres", c, "postgres"); err == nil || !strings.Contains(err.Error(), "x, y form a cycle") {
		t.Fatalf("cycle: %v", err)
	}
}

// TestValuesNormalise: JSON compares by value, every kind survives both stores' forms.
func TestValuesNormalise(t *testing.T) {
	t.Parallel()
	if !equal(kindJSON, `{"b":[1,2.50],"a":1e2,"s":"\u00e9"}`, `{"a": 100, "s": "é", "b": [1, 2.5]}`) {
		t.Error("equal JSON values compare unequal")
	}
	if equal(kindJSON, `{"a":1}`, `{"a":1.0000001}`) || equal(kindJSON, `[1,2]`, `[2,1]`) {
		t.Error("different JSON values compare equal")
	}
	for _, tc := range []struct {
		k      kind
		sqlite any
		pg     any
		want   any
	}{
		{kindUUID, "0190A0B1-0000-7000-8000-000000000001", "0190a0b1-0000-7000-8000-000000000001", "0190a0b1-0000-7000-8000-000000000001"},
		{kindBool, int64(1), true, true},
		{kindInt, int64(-7), int16(-7), int64(-7)},
		{kindFloat, int64(3), 3.0, 3.0},
	} {
		a, err := fromSQLite(tc.k, tc.sqlite)
		if err != nil || a != tc.want {
			t.Errorf("fromSQLite(%s, %v) = %v, %v", tc.k, tc.sqlite, a, err)
		}
		b, err := fromPostgres(tc.k, tc.pg)
		if err != nil || b != tc.want {
			t.Errorf("fromPostgres(%s, %v) = %v, %v", tc.k, tc.pg, b, err)
		}
	}
	if _, err := fromSQLite(kindBool, int64(2)); err == nil {
		t.Error("2 read as a boolean")
	}
	if _, err := fromSQLite(kindUUID, "nope"); err == nil {
		t.Error("nope read as a UUID")
	}
}
