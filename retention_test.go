package sluice_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// retentionObserver counts retention's events.
type retentionObserver struct {
	mu      sync.Mutex
	deleted map[sluice.RetentionKind]int
	trimmed map[string]int
}

func (o *retentionObserver) JobEnqueued(*sluice.Job)                                    {}
func (o *retentionObserver) AttemptStarted(*sluice.Job)                                 {}
func (o *retentionObserver) AttemptFinished(*sluice.Job, sluice.Outcome, time.Duration) {}
func (o *retentionObserver) LeasesRescued(int, int, int)                                {}
func (o *retentionObserver) DeadReplayed(int)                                           {}

func (o *retentionObserver) RetentionDeleted(kind sluice.RetentionKind, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deleted[kind] += n
}

func (o *retentionObserver) DeadTrimmed(app uuid.UUID, typ string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.trimmed[app.String()+"/"+typ] += n
}

// lockedLog collects a logger's output.
type lockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// backdateAll moves every entry's failed_at and every job's completed_at back by d, as
// retention sees them.
func (b *bundle) backdateAll(t *testing.T, d time.Duration) {
	t.Helper()
	if backendOf(b.url) == "postgres" {
		b.execSQL(t, sprintf(`UPDATE job_dlq SET failed_at = failed_at - interval '%d milliseconds'`, d.Milliseconds()))
		b.execSQL(t, sprintf(`UPDATE jobs SET completed_at = completed_at - interval '%d milliseconds'`, d.Milliseconds()))
		return
	}
	b.execSQL(t, sprintf(`UPDATE job_dlq SET failed_at = failed_at - %d`, d.Microseconds()))
	b.execSQL(t, sprintf(`UPDATE jobs SET completed_at = completed_at - %d`, d.Microseconds()))
}

// readExport reads the JSON Lines files in dir.
func readExport(t *testing.T, dir string) []map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var out []map[string]any
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: a line that is not JSON: %v", name, err)
			}
			out = append(out, m)
		}
		f.Close()
	}
	return out
}

func TestRetention(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		dir := t.TempDir()
		obs := &retentionObserver{deleted: map[sluice.RetentionKind]int{}, trimmed: map[string]int{}}
		cfg := fastConfig()
		cfg.Observer = obs
		logs := &lockedLog{}
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		cfg.Retention = sluice.RetentionConfig{Disabled: true, ExportDir: dir, BatchSize: 2}
		b := setup(t, url, cfg)
		entries := b.deadLetter(t, "ret", 5)
		b.deadLetter(t, "keep", 2)

		var fe *sluice.FieldError
		for _, c := range []struct {
			p     sluice.Policy
			field string
		}{
			{sluice.Policy{Kind: "forever", MaxAge: time.Hour}, "kind"},
			{sluice.Policy{Kind: sluice.RetainUnreplayed}, "maxAge"},
			{sluice.Policy{Kind: sluice.RetainUnreplayed, MaxAge: -time.Hour}, "maxAge"},
			{sluice.Policy{Kind: sluice.RetainUnreplayed, MaxCount: -1}, "maxCount"},
			{sluice.Policy{Kind: sluice.RetainUnreplayed, MaxAge: time.Hour, App: "no-such-app"}, "app"},
			{sluice.Policy{Kind: sluice.RetainUnreplayed, MaxAge: time.Hour, Type: "bad type"}, "type"},
		} {
			if _, err := b.client.SetRetention(b.ctx, c.p); !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("SetRetention(%+v) = %v, want a FieldError on %s", c.p, err, c.field)
			}
		}
		p, err := b.client.SetRetention(b.ctx, sluice.Policy{Kind: sluice.RetainUnreplayed, App: b.app.Name, Type: "ret", MaxAge: time.Hour})
		if err != nil || p.AppID == nil || *p.AppID != b.app.ID {
			t.Fatalf("SetRetention: %+v, %v", p, err)
		}
		b.backdateAll(t, 2*time.Hour)

		dry, err := b.client.RunRetention(b.ctx, sluice.RetentionOptions{DryRun: true})
		if err != nil || dry.Deleted[sluice.RetainUnreplayed] != 5 || len(dry.Trims) != 1 || dry.Trims[0].Count != 5 {
			t.Fatalf("dry run: %+v, %v", dry, err)
		}
		if got := readExport(t, dir); len(got) != 0 {
			t.Fatalf("a dry run exported %d entries", len(got))
		}

		res, err := b.client.RunRetention(b.ctx, sluice.RetentionOptions{})
		if err != nil || res.Deleted[sluice.RetainUnreplayed] != 5 || len(res.Trims) != 1 || res.Trims[0].Count != 5 ||
			res.Trims[0].PolicyID == nil || *res.Trims[0].PolicyID != p.ID {
			t.Fatalf("RunRetention: %+v, %v", res, err)
		}
		left, err := b.client.DLQ().List(b.ctx, sluice.Filter{}, sluice.ListOptions{All: true})
		if err != nil || len(left.Items) != 2 || left.Items[0].Type != "keep" {
			t.Fatalf("entries left: %+v, %v; want the 2 of keep, which no policy covers", left.Items, err)
		}
		exported := readExport(t, dir)
		if len(exported) != 5 {
			t.Fatalf("%d entries exported, want 5", len(exported))
		}
		ids := map[string]bool{}
		for _, e := range entries {
			ids[e.ID.String()] = true
		}
		for _, m := range exported {
			for _, k := range []string{"id", "originalJobId", "appId", "type", "payload", "attempts", "errorHistory", "failedAt", "replayedAt"} {
				if _, ok := m[k]; !ok {
					t.Fatalf("exported entry %v lacks %q", m, k)
				}
			}
			if !ids[m["id"].(string)] {
				t.Fatalf("exported entry %v is not one of ret's", m["id"])
			}
		}
		// One warning per batch (2, 2, 1 entries), with the app, type, count and id range.
		var warned int
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "retention deleted un-replayed dead-letter entries") {
				warned++
				for _, want := range []string{"level=WARN", "app=" + b.app.ID.String(), "type=ret", "count=", "min_id=", "max_id=", "oldest_failed_at=", "export_file=" + dir} {
					if !strings.Contains(line, want) {
						t.Fatalf("the log line lacks %q: %s", want, line)
					}
				}
			}
		}
		if warned != 3 {
			t.Fatalf("%d warnings logged, want one per batch (3):\n%s", warned, logs.String())
		}
		if obs.deleted[sluice.RetainUnreplayed] != 5 || obs.trimmed[b.app.ID.String()+"/ret"] != 5 {
			t.Fatalf("observer saw %v and %v", obs.deleted, obs.trimmed)
		}

		reps, err := b.client.TrimReports(b.ctx, sluice.ListOptions{})
		if err != nil || len(reps.Items) != 1 || reps.Items[0].Count != 5 || reps.Items[0].ExportFile == "" ||
			reps.Items[0].Type != "ret" || reps.Items[0].AppID != b.app.ID {
			t.Fatalf("TrimReports: %+v, %v", reps, err)
		}
		if _, err := b.client.DismissTrimReport(b.ctx, reps.Items[0].ID, "tester"); err != nil {
			t.Fatal(err)
		}
		if reps, _ := b.client.TrimReports(b.ctx, sluice.ListOptions{}); len(reps.Items) != 0 {
			t.Fatalf("undismissed reports after dismissing: %+v", reps.Items)
		}
		if reps, _ := b.client.TrimReports(b.ctx, sluice.ListOptions{All: true}); len(reps.Items) != 1 || reps.Items[0].DismissedBy != "tester" {
			t.Fatalf("all reports: %+v", reps.Items)
		}
		list, err := b.client.ListRetention(b.ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListRetention: %+v, %v", list, err)
		}
		if err := b.client.DeleteRetention(b.ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := b.client.DeleteRetention(b.ctx, p.ID); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
	})
}

func TestRetentionExportFailureDeletesNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		notADir := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(notADir, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := fastConfig()
		cfg.Retention = sluice.RetentionConfig{Disabled: true, ExportDir: notADir}
		b := setup(t, url, cfg)
		b.deadLetter(t, "ret", 3)
		if _, err := b.client.SetRetention(b.ctx, sluice.Policy{Kind: sluice.RetainUnreplayed, MaxCount: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.RunRetention(b.ctx, sluice.RetentionOptions{}); err == nil {
			t.Fatal("RunRetention with an export that cannot be written succeeded")
		}
		left, _ := b.client.DLQ().List(b.ctx, sluice.Filter{}, sluice.ListOptions{})
		if len(left.Items) != 3 {
			t.Fatalf("%d entries left, want all 3", len(left.Items))
		}
		if reps, _ := b.client.TrimReports(b.ctx, sluice.ListOptions{All: true}); len(reps.Items) != 0 {
			t.Fatalf("reports after a failed export: %+v", reps.Items)
		}
	})
}

// TestRetentionTwoRunners runs two clients' passes at once on one database: every entry is
// deleted once, exported (at least) once, and counted once in the reports.
func TestRetentionTwoRunners(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		dirs := []string{t.TempDir(), t.TempDir()}
		cfg := fastConfig()
		cfg.Retention = sluice.RetentionConfig{Disabled: true, ExportDir: dirs[0], BatchSize: 3}
		b := setup(t, url, cfg)
		const n = 30
		b.deadLetter(t, "ret", n)
		cfg2 := fastConfig()
		cfg2.Retention = sluice.RetentionConfig{Disabled: true, ExportDir: dirs[1], BatchSize: 3}
		other, err := sluice.Open(b.ctx, url, cfg2)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close(context.Background())
		if _, err := b.client.SetRetention(b.ctx, sluice.Policy{Kind: sluice.RetainUnreplayed, MaxAge: time.Hour}); err != nil {
			t.Fatal(err)
		}
		b.backdateAll(t, 2*time.Hour)
		var wg sync.WaitGroup
		deleted := make([]int, 2)
		for i, c := range []*sluice.Client{b.client, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := c.RunRetention(b.ctx, sluice.RetentionOptions{})
				if err != nil {
					t.Errorf("runner %d: %v", i, err)
				}
				deleted[i] = res.Deleted[sluice.RetainUnreplayed]
			}()
		}
		wg.Wait()
		if deleted[0]+deleted[1] != n {
			t.Fatalf("the runners deleted %v, want %d in all", deleted, n)
		}
		ids := map[string]bool{}
		for _, d := range dirs {
			for _, m := range readExport(t, d) {
				ids[m["id"].(string)] = true
			}
		}
		if len(ids) != n {
			t.Fatalf("%d distinct entries exported, want %d", len(ids), n)
		}
		reps, err := b.client.TrimReports(b.ctx, sluice.ListOptions{})
		var total int64
		for _, r := range reps.Items {
			total += r.Count
		}
		if err != nil || total != n {
			t.Fatalf("reports count %d entries (%v), want %d", total, err, n)
		}
	})
}

// TestRetentionRunsInUpkeep: a started client cleans completed jobs past the default age
// and un-replayed entries past a stored policy's, without being asked.
func TestRetentionRunsInUpkeep(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		cfg := fastConfig()
		cfg.Retention = sluice.RetentionConfig{Disabled: true}
		b := setup(t, url, cfg)
		b.deadLetter(t, "ret", 3)
		sluice.Handle(b.client, "ok", func(ctx context.Context, job *sluice.Job, a countArgs) error { return nil }, nil)
		b.start(t)
		job := b.enqueue(t, "ok", countArgs{N: 1})
		b.waitForStatus(t, job, sluice.StatusCompleted)
		if err := b.client.Stop(b.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.SetRetention(b.ctx, sluice.Policy{Kind: sluice.RetainUnreplayed, Type: "ret", MaxAge: time.Hour}); err != nil {
			t.Fatal(err)
		}
		b.backdateAll(t, 8*24*time.Hour)

		cfg2 := fastConfig()
		cfg2.Retention.Interval = 20 * time.Millisecond
		runner, err := sluice.Open(b.ctx, url, cfg2)
		if err != nil {
			t.Fatal(err)
		}
		if err := runner.Start(b.ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			runner.Stop(context.Background())
			runner.Close(context.Background())
		}()
		waitFor(t, "retention to delete the completed job and the entries", func() bool {
			_, jobErr := b.client.GetJob(b.ctx, job.ID)
			left, err := b.client.DLQ().List(b.ctx, sluice.Filter{}, sluice.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return errors.Is(jobErr, sluice.ErrNotFound) && len(left.Items) == 0
		})
		reps, err := b.client.TrimReports(b.ctx, sluice.ListOptions{})
		if err != nil || len(reps.Items) != 1 || reps.Items[0].Count != 3 {
			t.Fatalf("reports: %+v, %v", reps.Items, err)
		}
	})
}
