package storecopy_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/storecopy"
)

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not synchronising
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// buildDemo fills the store at url with a row in every table through the Go API: apps (one
// with limits), jobs in every state, dead-letter entries with histories, a replayed entry
// whose job died again (a replay loop), a durable replay operation, tokens (one revoked),
// audit rows, retention policies and a trim report, queued alerts and a failure group's
// alert. The test that copies it checks that no table of the schema is left empty, so a new
// table must be given rows here.
func buildDemo(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	client, err := sluice.Open(ctx, url, &sluice.Config{PollInterval: 20 * time.Millisecond,
		Retention: sluice.RetentionConfig{Disabled: true, ExportDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(ctx)
	must[[]store.Migration](t)(client.Store().MigrateUp(ctx))
	for _, name := range []string{"acme", "globex"} {
		must[sluice.App](t)(client.CreateApp(ctx, name))
	}
	must[sluice.App](t)(client.SetAppLimits(ctx, "acme", sluice.AppLimits{MaxRunning: 5, Rate: 2.5, Burst: 3}))
	sluice.Handle(client, "ok", func(context.Context, *sluice.Job, map[string]any) error { return nil }, nil)
	sluice.Handle(client, "fail", func(_ context.Context, job *sluice.Job, _ map[string]any) error {
		return errors.New("card declined: issuer code 51 (attempt " + job.ID.String()[:4] + ")")
	}, &sluice.TypeOptions{MaxAttempts: 2, Backoff: func(int) time.Duration { return 0 }})
	sluice.Handle(client, "stop", func(context.Context, *sluice.Job, map[string]any) error {
		return sluice.Cancel(errors.New("no longer wanted"))
	}, nil)
	var jobs []sluice.NewJob
	for i := range 3 {
		jobs = append(jobs,
			sluice.NewJob{App: "acme", Type: "ok", Payload: map[string]any{"n": i, "price": 1.5, "big": 1e21, "name": "Zoë ☃"}},
			sluice.NewJob{App: "acme", Type: "fail", Payload: []any{i, "x", nil, true}, Priority: -3, UniqueKey: "fail-" + string(rune('a'+i))},
		)
	}
	jobs = append(jobs,
		sluice.NewJob{App: "globex", Type: "fail", Payload: map[string]any{"nested": map[string]any{"a": []any{1, 2}}}, Queue: "default"},
		sluice.NewJob{App: "globex", Type: "fail", Payload: map[string]any{}},
		sluice.NewJob{App: "globex", Type: "stop", Payload: map[string]any{"why": "cancel"}},
		sluice.NewJob{App: "globex", Type: "ok", Payload: map[string]any{"later": true}, RunAt: time.Now().Add(time.Hour)},
		sluice.NewJob{App: "globex", Type: "later", Payload: map[string]any{"drain": "me"}, MaxAttempts: 7},
		sluice.NewJob{App: "globex", Type: "held", Payload: map[string]any{"running": 1}},
	)
	must[[]sluice.EnqueueResult](t)(client.EnqueueMany(ctx, jobs))
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dead := func(all bool) int {
		page := must[sluice.Page[sluice.DeadJob]](t)(client.DLQ().List(ctx, sluice.Filter{}, sluice.ListOptions{Limit: 1000, All: all}))
		return len(page.Items)
	}
	waitFor(t, "5 dead-letter entries", func() bool { return dead(false) == 5 })
	acmeDead := must[sluice.Page[sluice.DeadJob]](t)(client.DLQ().List(ctx, sluice.Filter{App: "acme"}, sluice.ListOptions{}))
	must[sluice.Job](t)(client.DLQ().Replay(ctx, acmeDead.Items[0].ID))
	op := must[sluice.ReplayOperation](t)(client.DLQ().StartReplay(ctx, sluice.Filter{App: "globex"},
		sluice.ReplayOptions{Attempts: 1, PayloadPatch: json.RawMessage(`{"replayed": true}`)}))
	waitFor(t, "the replays to die again", func() bool {
		o, err := client.DLQ().Operation(ctx, op.ID)
		return err == nil && o.Status == sluice.ReplayDone && dead(true) == 8
	})
	waitFor(t, "the completed and cancelled jobs", func() bool {
		done := must[sluice.Page[sluice.Job]](t)(client.ListJobs(ctx, sluice.JobFilter{Status: "completed"}, sluice.ListOptions{}))
		cancelled := must[sluice.Page[sluice.Job]](t)(client.ListJobs(ctx, sluice.JobFilter{Status: "cancelled"}, sluice.ListOptions{}))
		return len(done.Items) == 3 && len(cancelled.Items) == 1
	})
	if err := client.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	st := client.Store()
	// A running job: claimed, under a lease, by a worker that is not there.
	claimed := must[[]store.Job](t)(st.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"held"}, Limit: 1,
		LeaseToken: uuid.New(), LeaseDuration: time.Hour}))
	if len(claimed) != 1 {
		t.Fatalf("claimed %d held jobs, want 1", len(claimed))
	}
	// Its cancel asked for (jobs.cancel_requested_at), a paused type of one app and a global
	// queue, and a disabled app.
	must[sluice.Job](t)(client.CancelJob(ctx, claimed[0].ID))
	must[sluice.Pause](t)(client.Pause(ctx, sluice.Scope{App: "acme", Type: "fail"}))
	must[sluice.Pause](t)(client.Pause(ctx, sluice.Scope{Queue: "bulk"}))
	must[sluice.App](t)(client.CreateApp(ctx, "initech"))
	must[sluice.App](t)(client.DisableApp(ctx, "initech"))
	must[[]store.GroupAlert](t)(st.ClaimGroupAlerts(ctx, store.GroupAlertClaim{Threshold: 1, Token: uuid.New(), Limit: 10, Lease: time.Hour}))
	// One alert delivered after a failed attempt (a row of alert_log), the rest pending.
	alerter := uuid.New()
	alerted := must[[]store.DeadJob](t)(st.ClaimDeadAlerts(ctx, store.AlertClaim{Token: alerter, Limit: 1, Lease: time.Hour}))
	if len(alerted) != 1 {
		t.Fatalf("claimed %d alerts, want 1", len(alerted))
	}
	must[bool](t)(st.NoteAlertAttempt(ctx, alerter, store.AlertAttempt{Event: store.AlertEventDeadLettered, ID: alerted[0].ID,
		Error: "webhook: webhook answered 503", Retry: time.Second}))
	must[int](t)(st.AckDeadAlerts(ctx, alerter, []store.AlertAck{{ID: alerted[0].ID, Delivered: 1}}, time.Hour))
	must[sluice.Token](t)(tokenOnly(client.CreateToken(ctx, sluice.TokenParams{Name: "ops"})))
	ro := must[sluice.Token](t)(tokenOnly(client.CreateToken(ctx, sluice.TokenParams{Name: "globex dashboard", App: "globex", ReadOnly: true})))
	if err := client.RevokeToken(ctx, ro.ID); err != nil {
		t.Fatal(err)
	}
	must[sluice.RetentionPolicy](t)(client.SetRetention(ctx, sluice.Policy{Kind: sluice.RetainCompleted, MaxAge: 48 * time.Hour}))
	must[sluice.RetentionPolicy](t)(client.SetRetention(ctx, sluice.Policy{Kind: sluice.RetainUnreplayed, App: "acme", Type: "fail", MaxCount: 1}))
	res := must[sluice.RetentionResult](t)(client.RunRetention(ctx, sluice.RetentionOptions{}))
	if res.Deleted[sluice.RetainUnreplayed] == 0 {
		t.Fatalf("retention deleted no un-replayed entries: %+v", res)
	}
	// Periodic schedules: one with a last tick (recorded without a job), one never ticked.
	acme := must[sluice.App](t)(client.GetApp(ctx, "acme"))
	schedules := must[[]store.Schedule](t)(st.SyncSchedules(ctx, []store.ScheduleDef{
		{ID: uuid.Must(uuid.NewV7()), AppID: acme.ID, Name: "nightly", Type: "ok", Cron: "0 3 * * *", TimeZone: "Europe/Berlin",
			Queue: "default", Priority: -2, MaxAttempts: 3, Payload: json.RawMessage(`{"scope": "all"}`), CatchUp: store.CatchUpLatest},
		{ID: uuid.Must(uuid.NewV7()), AppID: acme.ID, Name: "minutely", Type: "ok", Every: time.Minute, TimeZone: "UTC",
			Queue: "default", MaxAttempts: 25, Payload: json.RawMessage(`{}`), CatchUp: store.CatchUpNone},
	}))
	must[store.TickResult](t)(st.TickSchedule(ctx, store.TickParams{ScheduleID: schedules[0].ID,
		Tick: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC), Skipped: 2}))
}

func tokenOnly(tok sluice.Token, _ string, err error) (sluice.Token, error) { return tok, err }

func openStore(t *testing.T, url string) store.Store {
	t.Helper()
	st, err := sluice.OpenStore(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// snapshotAPI reads everything the Go API lists, as JSON, to compare two stores through the
// API rather than through the copier's own reading.
func snapshotAPI(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	client, err := sluice.NewClient(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := sluice.ListOptions{Limit: 1000}
	out := map[string]string{}
	put := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Payloads and details are raw JSON, whose key order and number spelling the stores
		// do not keep: compare them by value.
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(generic)
		out[name] = string(b)
	}
	apps, err := client.ListApps(ctx)
	put("apps", apps, err)
	jobs, err := client.ListJobs(ctx, sluice.JobFilter{}, all)
	put("jobs", jobs, err)
	dead, err := client.DLQ().List(ctx, sluice.Filter{}, sluice.ListOptions{Limit: 1000, All: true})
	put("dlq", dead, err)
	ops, err := client.DLQ().Operations(ctx, sluice.OperationFilter{}, all)
	put("operations", ops, err)
	tokens, err := client.ListTokens(ctx)
	put("tokens", tokens, err)
	audit, err := client.ListAudit(ctx, all)
	put("audit", audit, err)
	policies, err := client.ListRetention(ctx)
	put("retention", policies, err)
	reports, err := client.TrimReports(ctx, sluice.ListOptions{Limit: 1000, All: true})
	put("trim reports", reports, err)
	stats, err := client.Stats(ctx)
	put("stats", stats, err)
	return out
}

// TestCopySQLiteToPostgresAndBack copies a demo database with a row in every table from
// SQLite into a fresh PostgreSQL schema and back into a new SQLite file, compares them row by
// row and through the API, and then uses the copy: lists its dead-letter queue, replays an
// entry, and drains a copied job with a worker.
func TestCopySQLiteToPostgresAndBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srcURL := testdb.SQLite(t)
	buildDemo(t, srcURL)
	src := openStore(t, srcURL)
	pg := openStore(t, testdb.Postgres(t))

	var progress []storecopy.TableCount
	report, err := storecopy.Copy(ctx, src, pg, &storecopy.Options{BatchSize: 3,
		Progress: func(c storecopy.TableCount) { progress = append(progress, c) }})
	if err != nil {
		t.Fatal(err)
	}
	// Every table of the newest schema holds rows in the demo, so the copy of each is tested.
	var empty []string
	for _, tc := range report.Tables {
		if tc.Rows == 0 {
			empty = append(empty, tc.Table)
		}
	}
	if len(empty) > 0 {
		t.Errorf("the demo database leaves tables %s empty: give them rows in buildDemo so their copy is tested", strings.Join(empty, ", "))
	}
	if len(progress) != len(report.Tables) || report.Rows < 25 {
		t.Errorf("progress %v, report %+v", progress, report)
	}
	t.Logf("copied %+v", report)
	if _, err := storecopy.Verify(ctx, src, pg); err != nil {
		t.Fatal(err)
	}
	want := snapshotAPI(t, src)
	if got := snapshotAPI(t, pg); !equalMaps(t, want, got) {
		t.Fatal("the PostgreSQL copy answers the API differently")
	}

	// Back into SQLite: the round trip is exact. (Verify compares JSON by value only when one
	// side is PostgreSQL, whose types say which text is JSON.)
	back := openStore(t, testdb.SQLite(t))
	if _, err := storecopy.Copy(ctx, pg, back, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := storecopy.Verify(ctx, pg, back); err != nil {
		t.Fatal(err)
	}
	if got := snapshotAPI(t, back); !equalMaps(t, want, got) {
		t.Fatal("the SQLite round trip answers the API differently")
	}

	// A second copy into the same target is refused, naming a table that holds rows.
	_, err = storecopy.Copy(ctx, src, pg, nil)
	var fe *store.FieldError
	if !errors.Is(err, storecopy.ErrTargetNotEmpty) || !errors.As(err, &fe) || fe.Field != "to" || !strings.Contains(err.Error(), "holds rows in table alert_groups") {
		t.Fatalf("copy into a full target: %v", err)
	}

	// Verify sees a changed value and a missing row.
	var tampered, gone uuid.UUID
	jobs := must[[]store.Job](t)(back.ListJobs(ctx, store.JobFilter{}, store.Page{Limit: 2}))
	tampered, gone = jobs[0].ID, jobs[1].ID
	sq := back.(interface{ DB() *sql.DB }).DB()
	if _, err := sq.ExecContext(ctx, `UPDATE jobs SET payload = '{"tampered": 1}' WHERE id = ?`, tampered.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := sq.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, gone.String()); err != nil {
		t.Fatal(err)
	}
	_, err = storecopy.Verify(ctx, pg, back)
	var diff *storecopy.DiffError
	if !errors.As(err, &diff) || diff.Total != 2 {
		t.Fatalf("verify after tampering: %v", err)
	}
	for _, s := range []string{"jobs id=\"" + tampered.String() + "\": column payload", "jobs id=\"" + gone.String() + "\": source (present), target (missing)"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("verify's error lacks %q:\n%v", s, err)
		}
	}

	// The copy works: its dead-letter queue lists and replays, and a worker drains a job.
	client, err := sluice.NewClient(pg, &sluice.Config{PollInterval: 20 * time.Millisecond, Retention: sluice.RetentionConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	page := must[sluice.Page[sluice.DeadJob]](t)(client.DLQ().List(ctx, sluice.Filter{App: "globex"}, sluice.ListOptions{}))
	if len(page.Items) == 0 || len(page.Items[0].ErrorHistory) == 0 {
		t.Fatalf("the copy's dead-letter queue: %+v", page)
	}
	replayed := must[sluice.Job](t)(client.DLQ().Replay(ctx, page.Items[0].ID))
	if _, err := client.DLQ().Replay(ctx, page.Items[0].ID); !errors.Is(err, sluice.ErrAlreadyReplayed) {
		t.Fatalf("second replay: %v", err)
	}
	drained := make(chan uuid.UUID, 1)
	sluice.Handle(client, "later", func(_ context.Context, job *sluice.Job, p map[string]any) error {
		if p["drain"] != "me" {
			return sluice.Permanent(errors.New("payload lost in the copy"))
		}
		drained <- job.ID
		return nil
	}, nil)
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-drained:
		waitFor(t, "the drained job to complete", func() bool {
			j, err := client.GetJob(ctx, id)
			return err == nil && j.Status == sluice.StatusCompleted
		})
	case <-time.After(time.Minute):
		t.Fatal("no worker ran the copied job")
	}
	if err := client.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if j := must[sluice.Job](t)(client.GetJob(ctx, replayed.ID)); j.ReplayedFrom == nil || *j.ReplayedFrom != page.Items[0].ID {
		t.Fatalf("the replayed job: %+v", j)
	}
}

func equalMaps(t *testing.T, want, got map[string]string) bool {
	t.Helper()
	ok := true
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s differ:\nsource: %s\ncopy:   %s", k, w, got[k])
			ok = false
		}
	}
	return ok
}

// TestCopyRefusesNewerSource: a store migrated by a newer sluice is not copied, and neither
// store is touched.
func TestCopyRefusesNewerSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := openStore(t, testdb.SQLite(t))
	must[[]store.Migration](t)(src.MigrateUp(ctx))
	sq := src.(interface{ DB() *sql.DB }).DB()
	if _, err := sq.ExecContext(ctx, `INSERT INTO sluice_migrations (version, name) VALUES (9999, 'future')`); err != nil {
		t.Fatal(err)
	}
	dst := openStore(t, testdb.Postgres(t))
	_, err := storecopy.Copy(ctx, src, dst, nil)
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "from" || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("copy from a newer store: %v", err)
	}
	if status := must[[]store.Migration](t)(dst.MigrationStatus(ctx)); status[0].AppliedAt != nil {
		t.Fatal("the target was migrated although the copy was refused")
	}
}
