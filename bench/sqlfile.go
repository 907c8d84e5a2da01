package main

import (
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

//go:embed queries.sql
var queriesSQL string

// q holds the suite's own named queries.
var q = mustParseQueries(queriesSQL)

// queries maps a query's name to its SQL, read from a file of `-- name: X` sections (the
// layout Sluice's store uses).
type queries map[string]string

// parseQueries splits src into named queries; comment lines are dropped.
func parseQueries(src string) (queries, error) {
	qs := queries{}
	var name string
	var body strings.Builder
	flush := func() error {
		if name == "" {
			return nil
		}
		sql := strings.TrimSpace(body.String())
		if sql == "" {
			return fmt.Errorf("query %s is empty", name)
		}
		if _, dup := qs[name]; dup {
			return fmt.Errorf("query %s is defined twice", name)
		}
		qs[name] = sql
		return nil
	}
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(trimmed, "-- name:"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			name = strings.TrimSpace(rest)
			body.Reset()
			continue
		}
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		body.WriteString(line)
	}
	return qs, flush()
}

func mustParseQueries(src string) queries {
	qs, err := parseQueries(src)
	if err != nil {
		panic(err)
	}
	return qs
}

// get returns the named query; a missing one is a programming error.
func (qs queries) get(name string) string {
	sql, ok := qs[name]
	if !ok {
		panic("no query named " + name)
	}
	return sql
}

// libraryQuery returns one named query from src, the text of the library's file path, so
// that the suite explains exactly the SQL Sluice runs.
func libraryQuery(src []byte, path, name string) (string, error) {
	qs, err := parseQueries(string(src))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	sql, ok := qs[name]
	if !ok {
		return "", fmt.Errorf("%s has no query named %s", path, name)
	}
	return sql, nil
}

// queryParams returns the number of a query's parameters: its highest $n.
func queryParams(sql string) int {
	n := 0
	for _, m := range paramRef.FindAllStringSubmatch(sql, -1) {
		if i, err := strconv.Atoi(m[1]); err == nil {
			n = max(n, i)
		}
	}
	return n
}

var paramRef = regexp.MustCompile(`\$(\d+)`)
