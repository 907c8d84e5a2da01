package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/sqlitestore"
	"github.com/sluicehq/sluice/store/storetest"
)

// TestConformance runs the suite every store passes, each subtest on a new SQLite file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlitestore.Open(context.Background(), testdb.SQLite(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, &storetest.Options{
		BeginTx:          beginTx,
		InsertBareDead:   insertBareDead,
		Backdate:         backdate,
		RefuseDeadLetter: refuseDeadLetter,
		Notifies:         false,
		ExactRowCounts:   true,
	})
}

// beginTx begins the caller's transaction InsertJobs takes: a *sql.Tx on the store's DB().
func beginTx(t *testing.T, s store.Store) (store.ExternalTx, func(), func()) {
	t.Helper()
	tx, err := s.(*sqlitestore.Store).DB().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	t.Cleanup(func() { tx.Rollback() })
	commit := func() {
		t.Helper()
		if err := tx.Commit(); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	rollback := func() {
		t.Helper()
		if err := tx.Rollback(); err != nil {
			t.Fatalf("Rollback: %v", err)
		}
	}
	return tx, commit, rollback
}

// insertBareDead writes an entry with only the nine contract columns of DESIGN.md, failed_at
// and replayed_at left to their defaults, as a writer that knows nothing else would.
func insertBareDead(t *testing.T, s store.Store, d store.DeadJob) {
	t.Helper()
	history := "[]"
	if len(d.ErrorHistory) > 0 {
		history = string(jsonText(t, d.ErrorHistory))
	}
	_, err := s.(*sqlitestore.Store).DB().ExecContext(context.Background(),
		`INSERT INTO job_dlq (id, original_job_id, app_id, type, payload, attempts, error_history)
		 VALUES (:id, :original_job_id, :app_id, :type, :payload, :attempts, :error_history)`,
		sql.Named("id", d.ID.String()), sql.Named("original_job_id", d.OriginalJobID.String()),
		sql.Named("app_id", d.AppID.String()), sql.Named("type", d.Type),
		sql.Named("payload", string(d.Payload)), sql.Named("attempts", d.Attempts),
		sql.Named("error_history", history))
	if err != nil {
		t.Fatalf("insert a bare dead-letter entry: %v", err)
	}
}

// refuseDeadLetter installs a trigger that aborts every job_dlq insert of the job.
func refuseDeadLetter(t *testing.T, s store.Store, jobID uuid.UUID) func() {
	t.Helper()
	db := s.(*sqlitestore.Store).DB()
	_, err := db.ExecContext(context.Background(), fmt.Sprintf(`CREATE TRIGGER refuse_dead_letter BEFORE INSERT ON job_dlq
		WHEN NEW.original_job_id = '%s' BEGIN SELECT RAISE(ABORT, 'job_dlq insert refused by the test'); END`, jobID))
	if err != nil {
		t.Fatalf("installing the refusing trigger: %v", err)
	}
	return func() {
		t.Helper()
		if _, err := db.ExecContext(context.Background(), `DROP TRIGGER refuse_dead_letter`); err != nil {
			t.Fatalf("dropping the refusing trigger: %v", err)
		}
	}
}

// backdate moves failed_at and completed_at of the rows with these ids back by by.
func backdate(t *testing.T, s store.Store, ids []uuid.UUID, by time.Duration) {
	t.Helper()
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = id.String()
	}
	raw, _ := json.Marshal(list)
	for _, stmt := range []string{
		`UPDATE job_dlq SET failed_at = failed_at - :us WHERE id IN (SELECT value FROM json_each(:ids))`,
		`UPDATE jobs SET completed_at = completed_at - :us WHERE id IN (SELECT value FROM json_each(:ids))`,
	} {
		_, err := s.(*sqlitestore.Store).DB().ExecContext(context.Background(), stmt,
			sql.Named("us", by.Microseconds()), sql.Named("ids", string(raw)))
		if err != nil {
			t.Fatalf("backdating rows: %v", err)
		}
	}
}
