// Package pgstore is Sluice's PostgreSQL store, built on pgx/v5.
//
// Its schema lives in migrations/ and every query it runs in queries.sql. Tables live in the
// connection's default schema (set search_path in the URL to choose another), and the
// LISTEN/NOTIFY channel is named after that schema so several Sluice schemas can share a
// database.
//
// # URL parameters
//
// Besides pgx's own (pool_max_conns, default_query_exec_mode, ...), Open takes two of its own:
//
//   - pgbouncer=true: the URL points at PgBouncer in transaction pooling mode (or another
//     pooler that hands each transaction to any server connection). Queries then use no named
//     prepared statements (pgx's cache_describe mode, unless the URL sets
//     default_query_exec_mode), and ListenForJobs does not LISTEN through it, since a LISTEN
//     through such a pooler hears nothing reliably: workers find jobs by polling, unless
//     listen_url names a direct connection. Migrations work as always: they hold a
//     transaction-scoped advisory lock. See docs/pgbouncer.md.
//   - listen_url=URL (percent-encoded): ListenForJobs LISTENs on a connection to this URL, a
//     direct one to the same PostgreSQL database, instead of one like the pool's.
package pgstore

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	neturl "net/url"
	"strconv"
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
	// listen is the connection ListenForJobs LISTENs on: like the pool's, or the URL's
	// listen_url; nil with pgbouncer=true and no listen_url (no LISTEN: workers poll).
	listen *pgx.ConnConfig
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres:// or postgresql://), with the URL
// parameters the package documentation lists. It does not migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	url, bouncer, listenURL, err := ownParams(url)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &store.FieldError{Field: "database-url", Message: "not a valid PostgreSQL URL", Err: err}
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if bouncer && !strings.Contains(url, "default_query_exec_mode") {
		// Statement descriptions are cached per connection, but every execution parses the
		// unnamed statement in its own round trip: nothing outlives a transaction.
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
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
	st := &Store{pool: pool, schema: *schema, channel: channel, files: files, notifier: newNotifier(pool, channel)}
	switch {
	case listenURL != "":
		if st.listen, err = pgx.ParseConfig(listenURL); err != nil {
			st.Close()
			return nil, &store.FieldError{Field: "database-url", Message: "listen_url is not a valid PostgreSQL URL", Err: err}
		}
	case !bouncer:
		st.listen = cfg.ConnConfig.Copy()
	}
	return st, nil
}

// ownParams takes the store's own parameters, pgbouncer and listen_url, out of url: pgx would
// send them to the server as settings.
func ownParams(raw string) (url string, bouncer bool, listenURL string, err error) {
	u, perr := neturl.Parse(raw)
	if perr != nil {
		return raw, false, "", nil // pgx reports a URL it cannot parse
	}
	q := u.Query()
	if !q.Has("pgbouncer") && !q.Has("listen_url") {
		return raw, false, "", nil
	}
	if q.Has("pgbouncer") {
		if bouncer, err = strconv.ParseBool(q.Get("pgbouncer")); err != nil {
			return "", false, "", store.Fieldf("database-url", "pgbouncer must be true or false, got %q", q.Get("pgbouncer"))
		}
	}
	listenURL = q.Get("listen_url")
	if q.Has("listen_url") && !strings.HasPrefix(listenURL, "postgres://") && !strings.HasPrefix(listenURL, "postgresql://") {
		return "", false, "", store.Fieldf("database-url", "listen_url must be a percent-encoded postgres:// URL")
	}
	q.Del("pgbouncer")
	q.Del("listen_url")
	u.RawQuery = q.Encode()
	return u.String(), bouncer, listenURL, nil
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
