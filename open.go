package sluice

import (
	"context"
	"strings"

	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

// Open opens the store the URL names and returns a client on it, which owns the store and
// closes it on Close. The URL picks the store: postgres:// or postgresql:// for PostgreSQL;
// sqlite:PATH or a bare file path (./sluice.db) for SQLite. Open does not migrate: call
// client.Store().MigrateUp (or run `sluice migrate up`) first.
func Open(ctx context.Context, url string, cfg *Config) (*Client, error) {
	st, err := OpenStore(ctx, url)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(st, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	c.ownsStore = true
	return c, nil
}

// OpenStore opens the store the URL names without a client: postgres:// or postgresql:// for
// PostgreSQL; sqlite:PATH or a bare file path for SQLite (see package sqlitestore for its
// query parameters). A URL of another kind (mysql://...) is a *FieldError on "database-url".
func OpenStore(ctx context.Context, url string) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return pgstore.Open(ctx, url)
	case sqlitestore.IsURL(url):
		return sqlitestore.Open(ctx, url)
	}
	return nil, &FieldError{Field: "database-url", Message: "must start with postgres://, postgresql:// or sqlite:, or be a file path"}
}
