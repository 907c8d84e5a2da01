package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaPrefix starts the name of every schema the suite creates, so that leftovers of an
// interrupted run can be found and dropped.
const schemaPrefix = "peerbench_"

// Env is what every workload shares: the options, the PostgreSQL server (an admin pool for
// creating and dropping schemas and for counting), Redis, and a scratch directory.
type Env struct {
	opts   *Options
	admin  *pgxpool.Pool
	tmpDir string
	start  time.Time
	// busyPhases counts measured phases that began while other processes kept the machine
	// busy.
	busyPhases int
	// libraryQueries is -library-queries as it was when the suite started, close to the
	// library it was compiled with: a long run must not explain SQL that changed in the tree
	// meanwhile (its binary still runs the old). libraryQueriesErr is why it could not be read.
	libraryQueries    []byte
	libraryQueriesErr error
}

// newEnv connects to PostgreSQL and drops schemas left over by an interrupted run.
func newEnv(ctx context.Context, opts *Options) (*Env, error) {
	cfg, err := pgxpool.ParseConfig(opts.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("bad -pg URL: %w", err)
	}
	cfg.MaxConns = 4
	admin, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := admin.Ping(ctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", opts.PostgresURL, err)
	}
	tmp, err := os.MkdirTemp("", "sluicebench-")
	if err != nil {
		admin.Close()
		return nil, err
	}
	e := &Env{opts: opts, admin: admin, tmpDir: tmp, start: time.Now()}
	e.libraryQueries, e.libraryQueriesErr = os.ReadFile(opts.LibraryQueries)
	if err := e.dropLeftovers(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close drops the scratch directory and disconnects.
func (e *Env) Close() {
	os.RemoveAll(e.tmpDir)
	e.admin.Close()
}

// logf reports progress on stderr; stdout carries only the results.
func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(e.start).Seconds(), fmt.Sprintf(format, args...))
}

// newSchema creates an empty schema with a fresh name.
func (e *Env) newSchema(ctx context.Context, kind string) (string, error) {
	name := schemaPrefix + kind + "_" + randomHex(4)
	_, err := e.admin.Exec(ctx, "CREATE SCHEMA "+name)
	return name, err
}

// dropSchema drops a schema the suite created, with everything in it.
func (e *Env) dropSchema(ctx context.Context, name string) error {
	_, err := e.admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	return err
}

func (e *Env) dropLeftovers(ctx context.Context) error {
	rows, err := e.admin.Query(ctx, "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", schemaPrefix)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, n := range names {
		e.logf("dropping schema %s left over by an interrupted run", n)
		if err := e.dropSchema(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// schemaURL returns the PostgreSQL URL whose default schema is schema, with extra query
// parameters (pool_max_conns, application_name).
func (e *Env) schemaURL(schema string, params map[string]string) string {
	u, err := url.Parse(e.opts.PostgresURL)
	if err != nil {
		panic(err) // checked in newEnv
	}
	q := u.Query()
	q.Set("search_path", schema)
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// quiesce prepares the machine for a measured phase: a CHECKPOINT, so that no system pays
// for writing out another's dirty pages during its own timing, then a wait (up to
// -quiet-wait) for the machine to go idle, since other processes may share it.
func (e *Env) quiesce(ctx context.Context) error {
	if _, err := e.admin.Exec(ctx, "CHECKPOINT"); err != nil {
		return err
	}
	deadline := time.Now().Add(e.opts.QuietWait)
	for {
		before := readCPU()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(quietWindow):
		}
		busy := readCPU().since(before).machine
		if float64(busy) < quietBusy*float64(quietWindow) {
			return nil
		}
		if time.Now().After(deadline) {
			e.busyPhases++
			e.logf("the machine stays busy (%.0f %% of a core used by others); measuring anyway", 100*float64(busy)/float64(quietWindow))
			return nil
		}
	}
}

// The idle check before a measured phase: the machine counts as idle when its CPUs were busy
// less than quietBusy of one core over quietWindow.
const (
	quietWindow = 300 * time.Millisecond
	quietBusy   = 0.25
)

// sqlitePath returns a fresh file name in the scratch directory (on the same disk as the
// PostgreSQL data directory on the reference machine).
func (e *Env) sqlitePath(kind string) string {
	return fmt.Sprintf("%s/%s-%s.db", e.tmpDir, kind, randomHex(4))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Machine describes where the suite ran, for the report header.
type Machine struct {
	CPU, Kernel, Postgres, Go, Redis string
	// Tree is the Sluice source the suite ran: commit, and how many files differed from it.
	Tree       string
	Cores      int
	MemGiB     float64
	PGSettings string
}

// describeMachine reads the CPU model and memory from /proc and asks the servers their
// versions.
func (e *Env) describeMachine(ctx context.Context) Machine {
	m := Machine{CPU: "unknown", Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if kb := procField("/proc/meminfo", "MemTotal"); kb > 0 {
		m.MemGiB = float64(kb) / (1 << 20)
	}
	var uts syscall.Utsname
	if syscall.Uname(&uts) == nil {
		m.Kernel = utsString(uts.Release[:])
	}
	_ = e.admin.QueryRow(ctx, "SELECT version()").Scan(&m.Postgres)
	var settings []string
	for _, s := range []string{"shared_buffers", "synchronous_commit", "fsync", "max_connections", "autovacuum"} {
		var v string
		if e.admin.QueryRow(ctx, "SELECT current_setting($1)", s).Scan(&v) == nil {
			settings = append(settings, s+"="+v)
		}
	}
	m.PGSettings = strings.Join(settings, ", ")
	m.Redis = redisVersion(ctx, e.opts.RedisAddr)
	m.Tree = sourceTree(ctx)
	return m
}

func utsString(b []int8) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}

// procField reads a "Name:   123 kB" field from a /proc status-style file, in kB; 0 if absent.
func procField(path, name string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		return n
	}
	return 0
}

// cpuClock reads the CPU time spent so far by this process and by the whole machine, so
// that a phase can report where its CPU went.
type cpuClock struct {
	self, machine time.Duration
}

func readCPU() cpuClock {
	var c cpuClock
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if f, err := os.Open("/proc/stat"); err == nil {
		sc := bufio.NewScanner(f)
		if sc.Scan() {
			// cpu user nice system idle iowait irq softirq steal ...
			fields := strings.Fields(sc.Text())
			var busy int64
			for i, f := range fields[1:] {
				if i == 3 || i == 4 || i >= 8 { // idle, iowait, guest
					continue
				}
				n, _ := strconv.ParseInt(f, 10, 64)
				busy += n
			}
			c.machine = time.Duration(busy) * time.Second / 100 // USER_HZ
		}
		f.Close()
	}
	return c
}

func (c cpuClock) since(start cpuClock) cpuClock {
	return cpuClock{self: c.self - start.self, machine: c.machine - start.machine}
}

// prober runs the suite's own queries (counting outcomes, loading rows) on one instance's
// database, apart from the connections of the system under test.
type prober interface {
	count(ctx context.Context, query string, args ...any) (int64, error)
	close() error
}

// pgProber is a small pool whose search_path is an instance's schema.
type pgProber struct{ pool *pgxpool.Pool }

// newPGProber opens a two-connection pool on schema.
func (e *Env) newPGProber(ctx context.Context, schema string) (*pgProber, error) {
	pool, err := pgxpool.New(ctx, e.schemaURL(schema, map[string]string{"pool_max_conns": "2", "application_name": "sluicebench-probe"}))
	if err != nil {
		return nil, err
	}
	return &pgProber{pool: pool}, nil
}

func (p *pgProber) count(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := p.pool.QueryRow(ctx, query, args...).Scan(&n)
	return n, err
}

func (p *pgProber) close() error {
	p.pool.Close()
	return nil
}

// sqliteProber is a read-only connection to an instance's SQLite file (WAL lets it read
// while the system writes).
type sqliteProber struct{ db *sql.DB }

func newSQLiteProber(path string) (*sqliteProber, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	return &sqliteProber{db: db}, nil
}

func (p *sqliteProber) count(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := p.db.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

func (p *sqliteProber) close() error { return p.db.Close() }

// sourceTree names the library source the suite ran against: the parent directory's git
// commit and the number of files changed since (Sluice is built from ../, not a release).
func sourceTree(ctx context.Context) string {
	commit, err := exec.CommandContext(ctx, "git", "-C", "..", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	status, _ := exec.CommandContext(ctx, "git", "-C", "..", "status", "--porcelain", "--untracked-files=no").Output()
	changed := 0
	if trimmed := strings.TrimSpace(string(status)); trimmed != "" {
		changed = strings.Count(trimmed, "\n") + 1
	}
	return fmt.Sprintf("commit %s with %d tracked file(s) modified in the working tree", strings.TrimSpace(string(commit)), changed)
}
