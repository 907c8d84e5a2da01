package testdb

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	execpkg "os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PgBouncer is a PgBouncer (Debian's pgbouncer package) in transaction pooling mode in front
// of the test server, started for one test.
type PgBouncer struct {
	dir, config string
	port        int
	server      *url.URL

	mu      sync.Mutex
	aliases []string // [databases] lines, one per schema
}

// pgbouncerPaths are where Debian installs pgbouncer, in case /usr/sbin is not on PATH.
var pgbouncerPaths = []string{"pgbouncer", "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"}

// StartPgBouncer starts PgBouncer with a configuration of its own (pool_mode=transaction,
// auth_type=trust, a free port on 127.0.0.1) in a temporary directory, and stops it when the
// test ends. It fails the test — never skips it — when pgbouncer is not installed.
func StartPgBouncer(t testing.TB) *PgBouncer {
	t.Helper()
	bin := ""
	for _, p := range pgbouncerPaths {
		if path, err := execpkg.LookPath(p); err == nil {
			bin = path
			break
		}
	}
	if bin == "" {
		t.Fatal("testdb: pgbouncer is not installed: apt-get install pgbouncer (scripts/test.sh installs it)")
	}
	server, err := url.Parse(PostgresBaseURL())
	if err != nil {
		t.Fatalf("testdb: bad database URL: %v", err)
	}
	// PgBouncer refuses to run as root: it is started as postgres then, which must be able to
	// read its configuration and write its log.
	dir, err := os.MkdirTemp("", "sluice-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	b := &PgBouncer{dir: dir, config: filepath.Join(dir, "pgbouncer.ini"), port: freePort(t), server: server}
	userlist := fmt.Sprintf("%q \"\"\n", server.User.Username())
	if err := os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(userlist), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.writeConfig(); err != nil {
		t.Fatal(err)
	}
	args := []string{b.config}
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		args = []string{"-u", "postgres", b.config}
	}
	cmd := execpkg.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("testdb: start pgbouncer: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // SIGINT: a safe shutdown
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := b.admin("SHOW VERSION")
		if err == nil {
			break
		}
		select {
		case werr := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("testdb: pgbouncer exited (%v):\n%s", werr, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testdb: pgbouncer does not answer on port %d: %v", b.port, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for the server to come up
	}
	return b
}

// Postgres creates an empty schema for the test, as the package's Postgres does, and returns a
// URL to it through PgBouncer, with pgbouncer=true, and the direct URL. PgBouncer 1.18 passes
// no search_path from the client, so each schema gets a database entry of its own whose server
// connections set it.
func (b *PgBouncer) Postgres(t testing.TB) (bouncerURL, directURL string) {
	t.Helper()
	directURL = Postgres(t)
	direct, err := url.Parse(directURL)
	if err != nil {
		t.Fatal(err)
	}
	schema := direct.Query().Get("search_path")
	host, port, _ := net.SplitHostPort(b.server.Host)
	if port == "" {
		host, port = b.server.Host, "5432"
	}
	b.mu.Lock()
	b.aliases = append(b.aliases, fmt.Sprintf("%s = host=%s port=%s dbname=%s user=%s connect_query='SET search_path TO %s'",
		schema, host, port, strings.TrimPrefix(b.server.Path, "/"), b.server.User.Username(), schema))
	err = b.writeConfig()
	if err == nil {
		err = b.admin("RELOAD")
	}
	b.mu.Unlock()
	if err != nil {
		t.Fatalf("testdb: add %s to pgbouncer: %v", schema, err)
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&pgbouncer=true", b.server.User.Username(), b.port, schema), directURL
}

func (b *PgBouncer) writeConfig() error {
	cfg := "[databases]\n" + strings.Join(b.aliases, "\n") + `

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ` + fmt.Sprint(b.port) + `
unix_socket_dir =
auth_type = trust
auth_file = ` + filepath.Join(b.dir, "userlist.txt") + `
admin_users = ` + b.server.User.Username() + `
pool_mode = transaction
default_pool_size = 5
max_client_conn = 1000
server_idle_timeout = 2
ignore_startup_parameters = extra_float_digits
logfile = ` + filepath.Join(b.dir, "pgbouncer.log") + `
syslog = 0
`
	tmp := b.config + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, b.config)
}

// admin runs a command on PgBouncer's admin console, which speaks only the simple protocol.
func (b *PgBouncer) admin(command string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@127.0.0.1:%d/pgbouncer?sslmode=disable&default_query_exec_mode=simple_protocol",
		b.server.User.Username(), b.port))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, command)
	return err
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
