// Package sqlfile reads named queries from a .sql file, so that SQL lives in readable files
// rather than in Go strings.
//
// A query starts with a line `-- name: QueryName` and runs until the next such line. Other
// comment lines are kept as written; they document the query where it lives.
package sqlfile

import (
	"fmt"
	"strings"
)

// Queries maps a query's name to its SQL.
type Queries map[string]string

// Parse splits src into named queries. It fails on a duplicate name, an empty query, or SQL
// before the first name line.
func Parse(src string) (Queries, error) {
	qs := Queries{}
	var name string
	var body strings.Builder
	flush := func() error {
		if name == "" {
			if strings.TrimSpace(stripComments(body.String())) != "" {
				return fmt.Errorf("sqlfile: SQL before the first `-- name:` line")
			}
			return nil
		}
		sql := strings.TrimSpace(body.String())
		if strings.TrimSpace(stripComments(sql)) == "" {
			return fmt.Errorf("sqlfile: query %s is empty", name)
		}
		if _, dup := qs[name]; dup {
			return fmt.Errorf("sqlfile: query %s is defined twice", name)
		}
		qs[name] = sql
		return nil
	}
	for line := range strings.Lines(src) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			name = strings.TrimSpace(rest)
			body.Reset()
			continue
		}
		body.WriteString(line)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return qs, nil
}

// MustParse is Parse for embedded files, which are known at build time: it panics on error.
func MustParse(src string) Queries {
	qs, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return qs
}

// Get returns the named query, panicking if it does not exist: a missing query is a
// programming error that every test run would show.
func (q Queries) Get(name string) string {
	sql, ok := q[name]
	if !ok {
		panic("sqlfile: no query named " + name)
	}
	return sql
}

func stripComments(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
		}
	}
	return b.String()
}
