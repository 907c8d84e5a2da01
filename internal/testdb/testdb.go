// Package testdb gives each test a database of its own: a fresh PostgreSQL schema in the test
// database, or a fresh SQLite file. Tests never share tables, so they run in parallel and
// packages run side by side.
//
// The PostgreSQL server comes from SLUICE_TEST_DATABASE_URL, defaulting to the local test
// database. If it cannot be reached the test fails: it is never skipped.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the server tests use when SLUICE_TEST_DATABASE_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresBaseURL returns the test server's URL.
func PostgresBaseURL() string {
	if u := os.Getenv("SLUICE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Postgres creates an empty schema for the test and returns a URL whose default schema it
// is. The schema is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	base := PostgresBaseURL()
	schema := "sluice_test_" + randomHex(6)
	exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	return WithSearchPath(t, base, schema)
}

// WithSearchPath returns base with its default schema set.
func WithSearchPath(t testing.TB, base, schema string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testdb: bad database URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs one statement on the database at url.
func Exec(t testing.TB, url, sql string) {
	t.Helper()
	exec(t, url, sql)
}

func exec(t testing.TB, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("testdb: cannot reach PostgreSQL at %s (start it, or set SLUICE_TEST_DATABASE_URL): %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("testdb: %s: %v", sql, err)
	}
}

// SQLite returns a URL for a new SQLite file in the test's temporary directory.
func SQLite(t testing.TB) string {
	t.Helper()
	return "sqlite:" + t.TempDir() + "/sluice.db"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
