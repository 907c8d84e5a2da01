// Package pgstore is Sluice's PostgreSQL store, built on pgx/v5.
//
// Its schema lives in migrations/ and every query it runs in queries.sql. Tables live in the
// connection's default schema (set search_path in the URL to choose another), and the
// LISTEN/NOTIFY channel is named after that schema so several Sluice schemas can share a
// database.
package pgstore

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/internal/migrate"
	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

//go:embed queries.sql
var queriesSQL string

var q = sqlfile.MustParse(queriesSQL)

// DefaultMaxConns is the pool size when the URL does not set pool_max_conns.
const DefaultMaxConns = 16

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool     *pgxpool.Pool
	channel  string
	schema   string
	files    []migrate.File
	notifier *notifier
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres:// or postgresql://). It does not migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &store.FieldError{Field: "database-url", Message: "not a valid PostgreSQL URL", Err: err}
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.AfterConnect = registerUUID
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	var schema *string
	if err := pool.QueryRow(ctx, q.Get("CurrentSchema")).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if schema == nil {
		pool.Close()
		return nil, store.Fieldf("database-url", "its search_path names no schema that exists")
	}
	files, err := migrationsFS()
	if err != nil {
		pool.Close()
		return nil, err
	}
	channel := channelName(*schema)
	return &Store{pool: pool, schema: *schema, channel: channel, files: files, notifier: newNotifier(pool, channel)}, nil
}

// channelName is the LISTEN/NOTIFY channel for the jobs of a schema. PostgreSQL refuses a
// channel name longer than an identifier (pg_notify fails, LISTEN truncates it), so a schema
// name too long to fit is replaced by a hash of it.
func channelName(schema string) string {
	const maxIdentifier = 63
	if name := "sluice_jobs." + schema; len(name) <= maxIdentifier {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return "sluice_jobs." + hex.EncodeToString(sum[:16])
}

// Pool returns the store's connection pool, for callers that begin their own transactions on
// the same database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the schema the store's tables live in.
func (s *Store) Schema() string { return s.schema }

// Backend returns "postgres".
func (s *Store) Backend() string { return "postgres" }

// Close stops the store's notifier and closes the pool. Closing a closed store does nothing.
func (s *Store) Close() error {
	s.notifier.close()
	s.pool.Close()
	return nil
}

func migrationsFS() ([]migrate.File, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return migrate.Load(sub)
}

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// inTx runs fn in a transaction on the pool, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// PostgreSQL error codes the store maps to its own errors.
const (
	codeForeignKeyViolation = "23503"
	codeUniqueViolation     = "23505"
)

func pgErrorCode(err error) (code, constraint string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}

func millis(d time.Duration) int64 { return d.Milliseconds() }
