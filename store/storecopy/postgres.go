package storecopy

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/internal/sqlfile"
)

//go:embed postgres.sql
var postgresSQL string

var pgq = sqlfile.MustParse(postgresSQL)

// pgSide is a PostgreSQL store: its tables in the pool's default schema.
type pgSide struct{ pool *pgxpool.Pool }

func (pgSide) dialect() string { return "postgres" }

func (s pgSide) catalog(ctx context.Context) (catalog, error) {
	cat := catalog{}
	get := func(name string) *tableDef {
		if cat[name] == nil {
			cat[name] = &tableDef{name: name}
		}
		return cat[name]
	}
	var tbl, col, typ string
	var generated bool
	rows, _ := s.pool.Query(ctx, pgq.Get("Columns"))
	if _, err := pgx.ForEachRow(rows, []any{&tbl, &col, &typ, &generated}, func() error {
		t := get(tbl)
		t.cols = append(t.cols, colDef{name: col, typ: typ, generated: generated})
		return nil
	}); err != nil {
		return nil, err
	}
	rows, _ = s.pool.Query(ctx, pgq.Get("PrimaryKeys"))
	if _, err := pgx.ForEachRow(rows, []any{&tbl, &col}, func() error {
		t := get(tbl)
		t.key = append(t.key, col)
		return nil
	}); err != nil {
		return nil, err
	}
	rows, _ = s.pool.Query(ctx, pgq.Get("ForeignKeys"))
	if _, err := pgx.ForEachRow(rows, []any{&tbl, &col}, func() error {
		t := get(tbl)
		t.refs = append(t.refs, col)
		return nil
	}); err != nil {
		return nil, err
	}
	return cat, nil
}

func (s pgSide) snapshot(ctx context.Context) (session, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	return &pgSession{tx: tx}, nil
}

func (s pgSide) begin(ctx context.Context) (session, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &pgSession{tx: tx}, nil
}

type pgSession struct {
	tx   pgx.Tx
	done bool
}

// ident quotes a name from the catalogue as an SQL identifier (the same in both dialects).
func ident(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// The statements below are built from the catalogue's table and column names: the copy
// follows whatever schema the migrations made, so they cannot live in a .sql file.

func (p *pgSession) scan(ctx context.Context, t *table) (rowIter, error) {
	sel := make([]string, len(t.cols))
	for i, c := range t.cols {
		sel[i] = ident(c.name)
		if c.kind == kindUUID || c.kind == kindJSON {
			sel[i] += "::text" // read as text, the canonical form
		}
	}
	order := make([]string, len(t.key))
	for j, i := range t.key {
		order[j] = ident(t.cols[i].name)
		if t.cols[i].kind == kindText {
			order[j] += ` COLLATE "C"` // bytewise, as SQLite sorts text
		}
	}
	rows, err := p.tx.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+ident(t.name)+" ORDER BY "+strings.Join(order, ", "))
	if err != nil {
		return nil, err
	}
	return &pgRows{rows: rows, t: t}, nil
}

func (p *pgSession) hasRows(ctx context.Context, t *table) (bool, error) {
	var has bool
	err := p.tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+ident(t.name)+")").Scan(&has)
	return has, err
}

// lock keeps every other writer out of the target's tables until the copy commits; readers
// see them empty meanwhile.
func (p *pgSession) lock(ctx context.Context, tables []*table) error {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = ident(t.name)
	}
	_, err := p.tx.Exec(ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN EXCLUSIVE MODE")
	return err
}

func (p *pgSession) clear(ctx context.Context, t *table) error {
	_, err := p.tx.Exec(ctx, "DELETE FROM "+ident(t.name))
	return err
}

func (p *pgSession) insert(ctx context.Context, t *table, rows [][]any) error {
	cols := make([]string, len(t.cols))
	params := make([]string, len(t.cols))
	for i, c := range t.cols {
		cols[i] = ident(c.name)
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	sql := "INSERT INTO " + ident(t.name) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(params, ", ") + ")"
	b := &pgx.Batch{}
	for _, row := range rows {
		args := make([]any, len(row))
		for i, v := range row {
			args[i] = toPostgres(t.cols[i].kind, v)
		}
		b.Queue(sql, args...)
	}
	br := p.tx.SendBatch(ctx, b)
	for _, row := range rows {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("row %s: %w", keyString(t, row), err)
		}
	}
	return br.Close()
}

func (p *pgSession) commit(ctx context.Context) error {
	p.done = true
	return p.tx.Commit(ctx)
}

func (p *pgSession) rollback() {
	if !p.done {
		p.done = true
		p.tx.Rollback(context.Background())
	}
}

type pgRows struct {
	rows   pgx.Rows
	t      *table
	failed error
}

func (r *pgRows) next() ([]any, bool) {
	if r.failed != nil || !r.rows.Next() {
		return nil, false
	}
	vals, err := r.rows.Values()
	if err != nil {
		r.failed = err
		return nil, false
	}
	for i, c := range r.t.cols {
		if vals[i], err = fromPostgres(c.kind, vals[i]); err != nil {
			r.failed = fmt.Errorf("column %s.%s: %w", r.t.name, c.name, err)
			return nil, false
		}
	}
	return vals, true
}

func (r *pgRows) err() error {
	if r.failed != nil {
		return r.failed
	}
	return r.rows.Err()
}

func (r *pgRows) close() { r.rows.Close() }
