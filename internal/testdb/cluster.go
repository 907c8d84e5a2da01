package testdb

import (
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Cluster is a throwaway PostgreSQL server for one test, for faults that must never reach the
// shared test server (a restart, a crash): initdb into the test's temporary directory, its own
// port on loopback, trust authentication, fsync on. It is stopped when the test ends.
//
// The server binaries come from SLUICE_PG_BINDIR, else the newest
// /usr/lib/postgresql/*/bin, else the PATH. PostgreSQL refuses to run as root: a test running
// as root runs them as the "postgres" user.
type Cluster struct {
	t testing.TB
	// Dir is the data directory.
	Dir string
	// Port is the port the server listens on, on 127.0.0.1.
	Port int

	bin     string
	logFile string
	cred    *syscall.Credential
	running bool
}

// NewCluster creates and starts a cluster. settings are extra postgresql.conf lines
// ("max_connections = 20").
func NewCluster(t testing.TB, settings ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: pgBinDir(t)}
	dir := t.TempDir()
	c.Dir = filepath.Join(dir, "data")
	c.logFile = filepath.Join(dir, "postgres.log")
	if os.Geteuid() == 0 {
		c.cred = postgresUser(t)
		// The server's user must be able to reach its directory through the test's own.
		for p := dir; p != filepath.Dir(p) && p != os.TempDir(); p = filepath.Dir(p) {
			if err := os.Chmod(p, 0o711); err != nil {
				t.Fatalf("testdb: %v", err)
			}
		}
	}
	for _, p := range []string{c.Dir, c.logFile} {
		var err error
		if p == c.Dir {
			err = os.Mkdir(p, 0o700)
		} else {
			err = os.WriteFile(p, nil, 0o600)
		}
		if err == nil && c.cred != nil {
			err = os.Chown(p, int(c.cred.Uid), int(c.cred.Gid))
		}
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
	}
	c.run("initdb", "-D", c.Dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
	t.Cleanup(func() {
		if c.running {
			c.pgCtl("-m", "immediate", "stop")
		}
	})
	// A port picked free can be taken before the server binds it: try a few.
	for attempt := 0; ; attempt++ {
		c.Port = FreePort(t)
		conf := append([]string{
			fmt.Sprintf("port = %d", c.Port),
			"listen_addresses = '127.0.0.1'",
			"unix_socket_directories = ''",
			"fsync = on",
			"synchronous_commit = on",
			"shared_buffers = 16MB",
			"max_connections = 100",
		}, settings...)
		if err := os.WriteFile(filepath.Join(c.Dir, "postgresql.auto.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		if c.cred != nil {
			os.Chown(filepath.Join(c.Dir, "postgresql.auto.conf"), int(c.cred.Uid), int(c.cred.Gid))
		}
		if err := c.tryStart(); err == nil {
			return c
		} else if attempt == 2 {
			t.Fatalf("testdb: starting the cluster: %v", err)
		}
	}
}

// URL returns the URL of a database of the cluster with extra query parameters
// ("application_name=x").
func (c *Cluster) URL(database string, params ...string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?%s", c.Port, database,
		strings.Join(append([]string{"sslmode=disable"}, params...), "&"))
}

// Start starts the stopped cluster and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	if err := c.tryStart(); err != nil {
		c.t.Fatalf("testdb: starting the cluster: %v", err)
	}
}

func (c *Cluster) tryStart() error {
	out, err := c.command("pg_ctl", "-D", c.Dir, "-l", c.logFile, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s\n%s", err, out, c.Log())
	}
	c.running = true
	return nil
}

// Stop stops the cluster: mode "fast" (clients disconnected, a clean shutdown) or "immediate"
// (every process killed at once, a crash: the next start recovers from the WAL).
func (c *Cluster) Stop(mode string) {
	c.t.Helper()
	c.pgCtl("-m", mode, "stop")
	c.running = false
}

// Restart stops the cluster in mode (see Stop) and starts it again.
func (c *Cluster) Restart(mode string) {
	c.t.Helper()
	c.Stop(mode)
	c.Start()
}

// Log returns the server's log so far.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.logFile)
	return string(b)
}

func (c *Cluster) pgCtl(args ...string) {
	c.t.Helper()
	c.run("pg_ctl", append([]string{"-D", c.Dir, "-w", "-t", "60"}, args...)...)
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("testdb: %s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, c.Log())
	}
}

// command is one of the server's programs, run as the server's user.
func (c *Cluster) command(name string, args ...string) *osexec.Cmd {
	cmd := osexec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = filepath.Dir(c.Dir)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pgBinDir finds the directory of PostgreSQL's server programs.
func pgBinDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SLUICE_PG_BINDIR"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) < pgVersion(dirs[j]) })
	if len(dirs) > 0 {
		return dirs[len(dirs)-1]
	}
	initdb, err := osexec.LookPath("initdb")
	if err != nil {
		t.Fatalf("testdb: no PostgreSQL server programs (set SLUICE_PG_BINDIR): %v", err)
	}
	return filepath.Dir(initdb)
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// postgresUser is the credential of the "postgres" user, which the server runs as when the
// test runs as root.
func postgresUser(t testing.TB) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("testdb: running as root, PostgreSQL needs another user and there is no \"postgres\": %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}
