// Package sqlitestore is Sluice's embedded SQLite store, built on modernc.org/sqlite (pure Go,
// no cgo) through database/sql. It behaves as pgstore does: the same tables, constraints,
// migrations and errors, in SQLite's dialect.
//
// Its schema lives in migrations/ and every query it runs in queries.sql.
//
// # Opening
//
// Open takes "sqlite:PATH" or a bare file path ("./sluice.db", "/var/lib/sluice.db"); the
// form "sqlite:///abs/path.db" is read as "/abs/path.db". The file is created if it does not
// exist (its directory must). Query parameters, all optional:
//
//   - synchronous=full|normal: when a commit reaches the disk. Defaults to full: every
//     commit is fsynced before it is acknowledged, so an acknowledged enqueue survives a
//     process kill and an OS crash or power loss alike. With normal (in WAL mode) a commit
//     survives the process being killed (kill -9) but the last commits may be lost if the
//     machine itself goes down; in exchange commits skip the fsync.
//   - busy_timeout=DURATION: how long one attempt waits for another process's write lock
//     before the store backs off and tries again (a Go duration, "10s"). Defaults to 10s.
//   - readers=N: the most concurrent read connections. Defaults to max(4, GOMAXPROCS).
//
// In-memory databases (":memory:") are not supported: readers and the writer are separate
// connections and each would get a database of its own.
//
// # Connections and locking
//
// Every connection runs in WAL mode with foreign_keys=ON and the busy timeout. Writes go
// through one writer connection (a *sql.DB limited to one connection) and every write
// transaction begins with BEGIN IMMEDIATE, taking SQLite's write lock before its first
// statement; reads go to a separate pool of read-only connections, which WAL lets run while
// a write is in progress. Writers of one process therefore queue in Go, never in SQLite, and
// a transaction can never fail to upgrade a read lock to a write lock (the deferred-BEGIN
// deadlock that SQLite reports as SQLITE_BUSY at once). Against other processes' writers the
// busy timeout waits, and a write that still finds the database busy is rolled back and run
// again until its context ends: a caller never sees "database is locked".
//
// # Caller transactions
//
// InsertJobs takes a *sql.Tx begun on DB(), the writer: begin it with DB().BeginTx. It holds
// the store's only writer connection until it commits or rolls back, so keep it short and do
// not call the store's other writing methods from the goroutine that holds it (they would
// wait for it).
//
// # Notifications
//
// SQLite has no cross-process notifications: ListenForJobs blocks until its context ends.
// The client wakes its own producers when it enqueues and polls otherwise.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/internal/migrate"
	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

//go:embed queries.sql
var queriesSQL string

var q = sqlfile.MustParse(queriesSQL)

// Defaults for the URL's query parameters.
const (
	DefaultBusyTimeout = 10 * time.Second
	DefaultSynchronous = "full"
	MinReaders         = 4
)

// Store is the SQLite implementation of store.Store.
type Store struct {
	writer *sql.DB
	reader *sql.DB
	path   string
	files  []migrate.File
}

var _ store.Store = (*Store)(nil)

// options are what a URL's query parameters set.
type options struct {
	synchronous string
	busyTimeout time.Duration
	readers     int
}

// otherScheme matches the start of a URL such as postgres://, mysql:// or https://.
var otherScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// IsURL reports whether url is one Open takes: "sqlite:..." or a bare path, that is anything
// not empty that looks like neither another kind of URL ("scheme://...") nor a SQLite "file:"
// URI. A path with a colon in its first segment ("C:\data\x.db", "jobs:1.db") is a path.
func IsURL(url string) bool {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		return true
	case url == "", strings.HasPrefix(url, "file:"), otherScheme.MatchString(url):
		return false
	}
	return true
}

// Open opens (creating if needed) the SQLite database url names: "sqlite:PATH" or a bare
// path, with the query parameters the package documentation lists. A URL it cannot take is a
// *store.FieldError on "database-url". It does not migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	path, opts, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	files, err := migrationsFS()
	if err != nil {
		return nil, err
	}
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", opts.busyTimeout.Milliseconds()),
		"foreign_keys(1)",
		"synchronous(" + opts.synchronous + ")",
	}
	// The writer sets WAL mode (which the file then keeps) and begins every transaction
	// with BEGIN IMMEDIATE.
	writer, err := sql.Open("sqlite", dsn(path, slices.Concat(pragmas, []string{"journal_mode(wal)"}), "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	s := &Store{writer: writer, path: path, files: files}
	if err := s.checkWriter(ctx); err != nil {
		writer.Close()
		return nil, err
	}
	// Readers open after the writer has put the file in WAL mode; query_only makes sure a
	// write can never slip onto one.
	reader, err := sql.Open("sqlite", dsn(path, slices.Concat(pragmas, []string{"query_only(1)"}), ""))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	reader.SetMaxOpenConns(opts.readers)
	reader.SetMaxIdleConns(opts.readers)
	reader.SetConnMaxIdleTime(5 * time.Minute)
	s.reader = reader
	return s, nil
}

// checkWriter opens the writer connection and makes sure its settings took.
func (s *Store) checkWriter(ctx context.Context) error {
	var mode string
	var fk int
	err := s.retryBusy(ctx, func() error {
		if err := s.writer.QueryRowContext(ctx, q.Get("JournalMode")).Scan(&mode); err != nil {
			return err
		}
		return s.writer.QueryRowContext(ctx, q.Get("ForeignKeys")).Scan(&fk)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlitestore: open %s: the database is in %s journal mode, not WAL (is it on a network file system?)", s.path, mode)
	}
	if fk != 1 {
		return fmt.Errorf("sqlitestore: open %s: foreign keys could not be enabled", s.path)
	}
	return nil
}

func parseURL(raw string) (string, options, error) {
	bad := func(format string, args ...any) (string, options, error) {
		return "", options{}, &store.FieldError{Field: "database-url", Message: fmt.Sprintf(format, args...)}
	}
	if !IsURL(raw) {
		return bad("not a SQLite URL: use sqlite:PATH or a file path")
	}
	rest, _ := strings.CutPrefix(raw, "sqlite:")
	if r, ok := strings.CutPrefix(rest, "//"); ok {
		rest = r // sqlite:///abs/path.db or sqlite://rel.db
	}
	path, query, _ := strings.Cut(rest, "?")
	opts := options{synchronous: DefaultSynchronous, busyTimeout: DefaultBusyTimeout, readers: max(MinReaders, runtime.GOMAXPROCS(0))}
	if path == "" {
		return bad("names no SQLite file")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return bad("in-memory and file: URI databases are not supported; name a file")
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return bad("bad query parameters: %v", err)
	}
	for key, vals := range values {
		v := vals[len(vals)-1]
		switch key {
		case "synchronous":
			switch strings.ToLower(v) {
			case "full", "normal":
				opts.synchronous = strings.ToLower(v)
			default:
				return bad("synchronous must be full or normal, got %q", v)
			}
		case "busy_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return bad("busy_timeout must be a duration such as 10s, got %q", v)
			}
			opts.busyTimeout = d
		case "readers":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad("readers must be a positive number, got %q", v)
			}
			opts.readers = n
		default:
			return bad("unknown parameter %q (known: synchronous, busy_timeout, readers)", key)
		}
	}
	return path, opts, nil
}

// dsn builds the driver's data source name: the path, then the pragmas every new connection
// runs (busy_timeout first) and any extra driver parameter.
func dsn(path string, pragmas []string, extra string) string {
	params := make([]string, 0, len(pragmas)+1)
	for _, p := range pragmas {
		params = append(params, "_pragma="+url.QueryEscape(p))
	}
	if extra != "" {
		params = append(params, extra)
	}
	return path + "?" + strings.Join(params, "&")
}

// DB returns the store's writer: begin the *sql.Tx that InsertJobs takes on it (BeginTx
// starts it with BEGIN IMMEDIATE). It is limited to one connection, which the transaction
// holds until it ends.
func (s *Store) DB() *sql.DB { return s.writer }

// Reader returns the store's pool of read-only connections. A transaction begun on it reads
// one snapshot of the database (WAL) and never holds up a writer.
func (s *Store) Reader() *sql.DB { return s.reader }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Backend returns "sqlite".
func (s *Store) Backend() string { return "sqlite" }

// Close closes the readers and the writer.
func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

func migrationsFS() ([]migrate.File, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return migrate.Load(sub)
}

// querier is what the DBs and a transaction offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in a transaction on the writer (BEGIN IMMEDIATE), committing if it returns
// nil. If the database is busy (another process holds the write lock past the busy timeout)
// the transaction is rolled back and fn runs again, so fn must set its results afresh.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.retryBusy(ctx, func() error {
		tx, err := s.writer.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// read runs fn on the reader pool, again if the database was busy.
func (s *Store) read(ctx context.Context, fn func(db querier) error) error {
	return s.retryBusy(ctx, func() error { return fn(s.reader) })
}

// retryBusy runs fn until it returns anything but SQLITE_BUSY, backing off between tries, or
// until ctx ends (its error is returned then).
func (s *Store) retryBusy(ctx context.Context, fn func() error) error {
	backoff := time.Millisecond
	for {
		err := fn()
		if !isBusy(err) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isBusy(err error) bool {
	return err != nil && sqliteCode(err)&0xff == sqlite3.SQLITE_BUSY
}

// Values bound to and read from SQLite.

// nullID is id as bound text, or NULL.
func nullID(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return id.String()
}

// micros is t in Unix microseconds, the store's time format.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros is t in Unix microseconds, or NULL.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// fromMicros is a stored time as a UTC time.Time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}

func millis(d time.Duration) int64 { return d.Milliseconds() }

// jsonParam encodes a list parameter, which queries take apart with json_each.
func jsonParam(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings, numbers, nulls and uuids go in: this cannot fail.
		panic(fmt.Sprintf("sqlitestore: encode parameter: %v", err))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// scanIDs reads rows of one id column.
func scanIDs(rows *sql.Rows) ([]uuid.UUID, error) {
	defer rows.Close()
	ids := []uuid.UUID{}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// newID returns a UUIDv7, the id of every row Sluice creates.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
