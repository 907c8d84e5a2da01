package chaos

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

// sluiceBin builds cmd/sluice once, for the tests that run the CLI.
var sluiceBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(buildDir, "sluice")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/sluice").CombinedOutput()
	if err != nil {
		return "", &buildError{out: string(out), err: err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "building cmd/sluice: " + e.err.Error() + "\n" + e.out }

// TestConcurrentMigrateUp runs four `sluice migrate up` processes at once on a fresh database:
// all must exit 0, each migration must be applied by exactly one of them and recorded once in
// sluice_migrations, and the schema must come out exactly as one migrate up alone makes it.
func TestConcurrentMigrateUp(t *testing.T) {
	t.Parallel()
	bin, err := sluiceBin()
	if err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, func(t *testing.T, url string) {
		const processes = 4
		cmds := make([]*exec.Cmd, processes)
		outs := make([]*bytes.Buffer, processes)
		errs := make([]*bytes.Buffer, processes)
		for i := range cmds {
			cmds[i] = exec.Command(bin, "migrate", "up", "--json", "--database-url", url)
			outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
			cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
		}
		for _, cmd := range cmds { // started back to back, to race
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
		}
		appliedBy := map[int][]int{}
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Errorf("migrate up process %d: %v\n%s", i, err, errs[i])
				continue
			}
			var res struct {
				Applied []store.Migration `json:"applied"`
				Version int               `json:"version"`
			}
			if err := json.Unmarshal(outs[i].Bytes(), &res); err != nil {
				t.Errorf("migrate up process %d printed %q: %v", i, outs[i], err)
			}
			for _, m := range res.Applied {
				appliedBy[m.Version] = append(appliedBy[m.Version], i)
			}
		}

		ctx := context.Background()
		client, err := sluice.Open(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close(ctx)
		status, err := client.Store().MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range status {
			if m.AppliedAt == nil {
				t.Errorf("migration %04d_%s is not applied", m.Version, m.Name)
			}
			if by := appliedBy[m.Version]; len(by) != 1 {
				t.Errorf("migration %04d_%s was applied by processes %v, want exactly one", m.Version, m.Name, by)
			}
		}
		if rows := migrationRows(t, url); rows != len(status) {
			t.Errorf("sluice_migrations holds %d rows for %d migrations", rows, len(status))
		}

		// The schema is complete: the same as one migrate up alone makes.
		reference := backendURL(t, client.Store().Backend())
		ref, err := sluice.Open(ctx, reference, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close(ctx)
		if _, err := ref.Store().MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		got, want := describeSchema(t, url), describeSchema(t, reference)
		if strings.Count(want, "\n") < 20 {
			t.Fatalf("the reference schema is too short to be Sluice's:\n%s", want)
		}
		if got != want {
			t.Errorf("the schema after concurrent migrations differs from one migrated alone:\n got: %s\nwant: %s", got, want)
		}
	})
}

// backendURL returns a fresh database of the backend.
func backendURL(t *testing.T, backend string) string {
	for _, b := range backends {
		if b.name == backend {
			return b.url(t)
		}
	}
	t.Fatalf("no backend %q", backend)
	return ""
}

// migrationRows counts the rows of sluice_migrations.
func migrationRows(t *testing.T, url string) int {
	t.Helper()
	var n int
	queryRow(t, url, "SELECT count(*) FROM sluice_migrations", &n)
	return n
}

// describeSchema lists the database's tables, columns, indexes and constraints, one per line,
// in a form that does not depend on the schema's name.
func describeSchema(t *testing.T, url string) string {
	t.Helper()
	var out string
	if strings.HasPrefix(url, "postgres") {
		queryRow(t, url, `SELECT string_agg(x, E'\n' ORDER BY x) FROM (
			SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type, is_nullable, column_default) AS x
			FROM information_schema.columns WHERE table_schema = current_schema()
			UNION ALL
			SELECT format('index %s %s', indexname, replace(indexdef, current_schema() || '.', ''))
			FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL
			SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid))
			FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
		) AS s`, &out)
	} else {
		queryRow(t, url, `SELECT group_concat(x, char(10)) FROM (
			SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS x FROM sqlite_schema ORDER BY type, name)`, &out)
	}
	return out
}

// queryRow runs a one-row query on the database at url (either store) and scans it into dst.
func queryRow(t *testing.T, url, query string, dst any) {
	t.Helper()
	ctx := context.Background()
	if strings.HasPrefix(url, "postgres") {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, query).Scan(dst); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return
	}
	path := strings.TrimPrefix(url, "sqlite:")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, query).Scan(dst); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
