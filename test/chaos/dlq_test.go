package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// refusals are the triggers TestRefusedDeadLetterAndReplayInserts installs: one that makes
// every insert into job_dlq fail, one that makes the insert of the job replaying one entry
// (%s) fail, and how to drop each.
type refusals struct {
	refuseDLQ, allowDLQ       string
	refuseReplay, allowReplay string
}

var refusalSQL = map[string]refusals{
	"postgres": {
		refuseDLQ: `CREATE FUNCTION refuse_dlq() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'job_dlq insert refused by the chaos test'; END $$;
			CREATE TRIGGER refuse_dlq BEFORE INSERT ON job_dlq FOR EACH ROW EXECUTE FUNCTION refuse_dlq();`,
		allowDLQ: `DROP TRIGGER refuse_dlq ON job_dlq`,
		refuseReplay: `CREATE FUNCTION refuse_replay() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.replayed_from = '%s' THEN RAISE EXCEPTION 'replay insert refused by the chaos test'; END IF;
				RETURN NEW;
			END $$;
			CREATE TRIGGER refuse_replay BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_replay();`,
		allowReplay: `DROP TRIGGER refuse_replay ON jobs`,
	},
	"sqlite": {
		refuseDLQ: `CREATE TRIGGER refuse_dlq BEFORE INSERT ON job_dlq
			BEGIN SELECT RAISE(ABORT, 'job_dlq insert refused by the chaos test'); END`,
		allowDLQ: `DROP TRIGGER refuse_dlq`,
		refuseReplay: `CREATE TRIGGER refuse_replay BEFORE INSERT ON jobs WHEN NEW.replayed_from = '%s'
			BEGIN SELECT RAISE(ABORT, 'replay insert refused by the chaos test'); END`,
		allowReplay: `DROP TRIGGER refuse_replay`,
	},
}

// TestRefusedDeadLetterAndReplayInserts makes the database refuse, with triggers that raise,
// first every dead-letter insert and then the insert of one entry's replayed job, while worker
// processes run. Nothing may be left half-done:
//
//   - a job whose move to the DLQ is refused stays in jobs (running, never lost, never in both
//     tables) through its worker's retries and every rescue; and one such job must not hold
//     back the rescue of other expired jobs (a worker killed meanwhile: its jobs must still be
//     rescued and completed — RescueExpired once failed as a whole on one refused job);
//   - a refused replay — one entry through the Go API, then a bulk replay whose one
//     transaction includes it — leaves every entry un-replayed and inserts no job;
//
// and once each trigger is dropped, things resume: the jobs are dead-lettered with one history
// entry per attempt, the entries replay exactly once, and their jobs complete.
func TestRefusedDeadLetterAndReplayInserts(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		c := newCluster(t, url)
		sql := refusalSQL[c.backend()]
		const maxAttempts = 2
		c.exec(sql.refuseDLQ)
		poison := c.enqueue(10, maxAttempts, func(int) event.Args { return event.Args{FailUnlessReplayed: true} })
		ids := append(c.enqueue(scaled(150), 25, func(i int) event.Args { return event.Args{SleepMs: 5 + i%20} }), poison...)
		w1, w2 := c.startWorker(), c.startWorker()

		// Every poisoned job has failed its last attempt, its move was refused, and its lease
		// has expired: the rescuers now try, and fail, to move it on every round.
		var s snapshot
		c.waitFor("the poisoned jobs to be stuck behind the refused inserts, the others done", func() bool {
			s = c.snapshot()
			now := c.dbNow()
			for _, id := range poison {
				j := s.jobs[id]
				if j.Status != sluice.StatusRunning || j.Attempts != maxAttempts || j.LeaseExpiresAt == nil || !j.LeaseExpiresAt.Before(now) {
					return false
				}
			}
			return s.finished() == len(ids)-len(poison)
		})
		if len(s.dead) != 0 {
			t.Fatalf("%d DLQ entries while every insert is refused", len(s.dead))
		}
		c.waitFor("a rescuer to fail on the refused moves", func() bool {
			return w1.logCount("rescuing expired leases failed")+w2.logCount("rescuing expired leases failed") > 0
		})

		// A worker dies holding jobs: they must be rescued even though every rescue round also
		// meets the poisoned jobs.
		victims := c.enqueue(6, 25, func(int) event.Args { return event.Args{FirstAttemptSleepMs: 60000, SleepMs: 5} })
		ids = append(ids, victims...)
		c.waitFor("the new jobs to be running", func() bool {
			return len(c.startedBy(w1, idSet(victims)))+len(c.startedBy(w2, idSet(victims))) == len(victims)
		})
		for _, w := range []*worker{w1, w2} {
			if len(c.startedBy(w, idSet(victims))) > 0 {
				w.kill9()
			}
		}
		c.startWorker()
		c.waitWithin(30*time.Second, "the dead worker's jobs to be rescued past the stuck ones", func() bool {
			return c.snapshot().finished() == len(ids)-len(poison)
		})
		s = c.snapshot()
		for _, id := range poison {
			if j, ok := s.jobs[id]; !ok || j.Status != sluice.StatusRunning {
				t.Fatalf("poisoned job %s left jobs or changed state while its move was refused: %+v", id, j)
			}
		}

		// Moves allowed again: the rescuers dead-letter the poisoned jobs.
		c.exec(sql.allowDLQ)
		c.waitFor("the poisoned jobs to reach the DLQ", func() bool { return len(c.snapshot().dead) == len(poison) })
		s = c.snapshot()
		entries := map[uuid.UUID]sluice.DeadJob{}
		for _, d := range s.dead {
			entries[d.ID] = d
			if _, inJobs := s.jobs[d.OriginalJobID]; inJobs {
				t.Fatalf("I6: job %s is in jobs and in job_dlq", d.OriginalJobID)
			}
			if d.Attempts != maxAttempts || len(d.ErrorHistory) != maxAttempts {
				t.Fatalf("entry %s: %d attempts, %d history entries; want %d of each", d.ID, d.Attempts, len(d.ErrorHistory), maxAttempts)
			}
		}

		// Replays refused: one entry alone, then the bulk replay whose transaction holds it.
		refused := s.dead[0].ID
		c.exec(fmt.Sprintf(sql.refuseReplay, refused))
		if job, err := c.client.DLQ().Replay(c.ctx, refused); err == nil {
			t.Fatalf("a refused replay returned job %s and no error", job.ID)
		}
		if d, err := c.client.DLQ().Get(c.ctx, refused); err != nil || d.ReplayedAt != nil || d.ReplayJobID != nil {
			t.Fatalf("entry %s after its replay was refused: replayed at %v, replay job %v (%v); want un-replayed", refused, d.ReplayedAt, d.ReplayJobID, err)
		}
		res, err := c.client.DLQ().ReplayMany(c.ctx, sluice.Filter{App: c.app.ID.String()}, sluice.ReplayOptions{})
		if err == nil || res.Replayed != 0 {
			t.Fatalf("a bulk replay including the refused entry: %+v, %v; want an error and nothing replayed", res, err)
		}
		s = c.snapshot()
		for _, d := range s.dead {
			if d.ReplayedAt != nil || d.ReplayJobID != nil {
				t.Errorf("entry %s is marked replayed after its replay was refused", d.ID)
			}
		}
		for id, j := range s.jobs {
			if j.ReplayedFrom != nil {
				t.Errorf("a refused replay left job %s behind", id)
			}
		}

		// Replays allowed again: the one entry, then the rest in bulk, each exactly once.
		c.exec(sql.allowReplay)
		if _, err := c.client.DLQ().Replay(c.ctx, refused); err != nil {
			t.Fatalf("replaying once allowed: %v", err)
		}
		res, err = c.client.DLQ().ReplayMany(c.ctx, sluice.Filter{App: c.app.ID.String()}, sluice.ReplayOptions{})
		if err != nil || res.Replayed != len(poison)-1 {
			t.Fatalf("bulk replay once allowed: %+v, %v; want the other %d replayed", res, err, len(poison)-1)
		}
		s = c.waitSettled()
		check(t, ids, s, c.events())
		replayed := 0
		for _, j := range s.jobs {
			if j.ReplayedFrom != nil && j.Status == sluice.StatusCompleted {
				replayed++
			}
		}
		if replayed != len(poison) {
			t.Errorf("%d replayed jobs completed, want %d", replayed, len(poison))
		}
	})
}
