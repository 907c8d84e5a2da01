package storecopy

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

//go:embed sqlite.sql
var sqliteSQL string

var sq = sqlfile.MustParse(sqliteSQL)

// sqliteSide is a SQLite store: it reads on the store's readers and writes on its writer.
type sqliteSide struct{ st *sqlitestore.Store }

func (sqliteSide) dialect() string { return "sqlite" }

func (s sqliteSide) catalog(ctx context.Context) (catalog, error) {
	cat := catalog{}
	get := func(name string) *tableDef {
		if cat[name] == nil {
			cat[name] = &tableDef{name: name}
		}
		return cat[name]
	}
	db := s.st.Reader()
	if err := eachRow(ctx, db, sq.Get("Columns"), func(rows *sql.Rows) error {
		var tbl string
		var c colDef
		if err := rows.Scan(&tbl, &c.name, &c.typ, &c.generated); err != nil {
			return err
		}
		t := get(tbl)
		t.cols = append(t.cols, c)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(ctx, db, sq.Get("PrimaryKeys"), func(rows *sql.Rows) error {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			return err
		}
		t := get(tbl)
		t.key = append(t.key, col)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(ctx, db, sq.Get("ForeignKeys"), func(rows *sql.Rows) error {
		var tbl, ref string
		if err := rows.Scan(&tbl, &ref); err != nil {
			return err
		}
		t := get(tbl)
		t.refs = append(t.refs, ref)
		return nil
	}); err != nil {
		return nil, err
	}
	return cat, nil
}

func eachRow(ctx context.Context, db *sql.DB, query string, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// snapshot begins a read transaction on a reader: in WAL mode it sees the database as of
// its first read, whatever is written after.
func (s sqliteSide) snapshot(ctx context.Context) (session, error) {
	tx, err := s.st.Reader().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqliteSession{tx: tx}, nil
}

// begin begins a write transaction on the writer (BEGIN IMMEDIATE): it holds the
// database's write lock until it ends.
func (s sqliteSide) begin(ctx context.Context) (session, error) {
	tx, err := s.st.DB().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqliteSession{tx: tx}, nil
}

type sqliteSession struct {
	tx   *sql.Tx
	done bool
}

func (s *sqliteSession) scan(ctx context.Context, t *table) (rowIter, error) {
	sel := make([]string, len(t.cols))
	for i, c := range t.cols {
		sel[i] = ident(c.name)
	}
	order := make([]string, len(t.key))
	for j, i := range t.key {
		order[j] = ident(t.cols[i].name)
	}
	rows, err := s.tx.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+ident(t.name)+" ORDER BY "+strings.Join(order, ", "))
	if err != nil {
		return nil, err
	}
	return &sqliteRows{rows: rows, t: t}, nil
}

func (s *sqliteSession) hasRows(ctx context.Context, t *table) (bool, error) {
	var has bool
	err := s.tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+ident(t.name)+")").Scan(&has)
	return has, err
}

// lock does nothing: the write transaction already keeps every other writer out.
func (s *sqliteSession) lock(context.Context, []*table) error { return nil }

func (s *sqliteSession) clear(ctx context.Context, t *table) error {
	_, err := s.tx.ExecContext(ctx, "DELETE FROM "+ident(t.name))
	return err
}

func (s *sqliteSession) insert(ctx context.Context, t *table, rows [][]any) error {
	cols := make([]string, len(t.cols))
	params := make([]string, len(t.cols))
	for i, c := range t.cols {
		cols[i] = ident(c.name)
		params[i] = "?"
	}
	stmt, err := s.tx.PrepareContext(ctx, "INSERT INTO "+ident(t.name)+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(params, ", ")+")")
	if err != nil {
		return err
	}
	defer stmt.Close()
	args := make([]any, len(t.cols))
	for _, row := range rows {
		for i, v := range row {
			args[i] = toSQLite(t.cols[i].kind, v)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("row %s: %w", keyString(t, row), err)
		}
	}
	return nil
}

func (s *sqliteSession) commit(context.Context) error {
	s.done = true
	return s.tx.Commit()
}

func (s *sqliteSession) rollback() {
	if !s.done {
		s.done = true
		s.tx.Rollback()
	}
}

type sqliteRows struct {
	rows   *sql.Rows
	t      *table
	failed error
}

func (r *sqliteRows) next() ([]any, bool) {
	if r.failed != nil || !r.rows.Next() {
		return nil, false
	}
	vals := make([]any, len(r.t.cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := r.rows.Scan(ptrs...); err != nil {
		r.failed = err
		return nil, false
	}
	for i, c := range r.t.cols {
		v, err := fromSQLite(c.kind, vals[i])
		if err != nil {
			r.failed = fmt.Errorf("column %s.%s: %w", r.t.name, c.name, err)
			return nil, false
		}
		vals[i] = v
	}
	return vals, true
}

func (r *sqliteRows) err() error {
	if r.failed != nil {
		return r.failed
	}
	return r.rows.Err()
}

func (r *sqliteRows) close() { r.rows.Close() }
