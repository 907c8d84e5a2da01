package chaos

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the driver for reading the file back

	"github.com/sluicehq/sluice/internal/testdb"
)

// sqliteKillRounds is how many times TestSQLiteKill9MidWrite kills its writers: 20 by
// default, more with CHAOS_SQLITE_ROUNDS.
func sqliteKillRounds() int { return envInt("CHAOS_SQLITE_ROUNDS", 20) }

// TestSQLiteKill9MidWrite kills an enqueuing process and a working process with SIGKILL while
// both write to one SQLite file, several times over; then the file must pass PRAGMA
// integrity_check, every acknowledged enqueue must be there, and every job must end in
// exactly one final state.
func TestSQLiteKill9MidWrite(t *testing.T) {
	t.Parallel()
	url := testdb.SQLite(t)
	c := newCluster(t, url)
	acks := filepath.Join(c.dir, "acks")
	for round := range sqliteKillRounds() {
		before := len(c.acked(acks))
		w := c.startWorker("CHAOS_CONCURRENCY=4")
		p := c.startEnqueuer(acks)
		c.waitFor("acknowledged enqueues in round "+strconv.Itoa(round), func() bool { return len(c.acked(acks)) >= before+100 })
		p.kill9()
		w.kill9()
	}
	if got := integrityCheck(t, strings.TrimPrefix(url, "sqlite:")); got != "ok" {
		t.Fatalf("PRAGMA integrity_check after the kills: %s", got)
	}
	c.startWorker()
	c.startWorker()
	c.waitFor("every job to settle", func() bool { return c.snapshot().settled() })

	acked := c.acked(acks)
	s := c.snapshot()
	known := map[uuid.UUID]bool{}
	for _, id := range acked {
		known[id] = true
	}
	// A process killed between its commit and writing the ack leaves committed jobs that were
	// never acknowledged: at most one batch (ten) per kill. They must still end properly.
	ids := acked
	unacked := 0
	for id := range s.jobs {
		if !known[id] {
			ids = append(ids, id)
			unacked++
		}
	}
	if unacked > 10*sqliteKillRounds() {
		t.Errorf("%d committed jobs were never acknowledged: more than one batch per kill", unacked)
	}
	check(t, ids, s, c.events())
	if got := integrityCheck(t, strings.TrimPrefix(url, "sqlite:")); got != "ok" {
		t.Fatalf("PRAGMA integrity_check at the end: %s", got)
	}
	t.Logf("%d rounds, %d acknowledged jobs, %d committed but unacknowledged", sqliteKillRounds(), len(acked), unacked)
}

// acked reads the acknowledged job ids; a torn last line (a kill mid-write) is ignored.
func (c *cluster) acked(path string) []uuid.UUID {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		c.t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, line := range strings.Split(string(b), "\n") {
		if id, err := uuid.Parse(line); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// integrityCheck runs PRAGMA integrity_check on the SQLite file and returns its answer.
func integrityCheck(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	rows, err := db.QueryContext(context.Background(), "PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		out = append(out, line)
	}
	return strings.Join(out, "; ")
}
