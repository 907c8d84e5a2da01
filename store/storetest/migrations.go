package storetest

import (
	"sync"
	"testing"

	"github.com/sluicehq/sluice/store"
)

// wantVersions fails the test unless the migrations are exactly versions from..to, in order.
func wantVersions(t *testing.T, got []store.Migration, from, to int, what string) {
	t.Helper()
	var versions []int
	for _, m := range got {
		versions = append(versions, m.Version)
	}
	var want []int
	if from <= to {
		for v := from; v <= to; v++ {
			want = append(want, v)
		}
	} else {
		for v := from; v >= to; v-- {
			want = append(want, v)
		}
	}
	if len(versions) != len(want) {
		t.Fatalf("%s: got versions %v, want %v", what, versions, want)
	}
	for i := range want {
		if versions[i] != want[i] {
			t.Fatalf("%s: got versions %v, want %v", what, versions, want)
		}
	}
}

// wantApplied fails the test unless MigrationStatus lists versions 1..n and exactly 1..applied
// of them are applied.
func wantApplied(t *testing.T, s store.Store, n, applied int, what string) []store.Migration {
	t.Helper()
	status := must(s.MigrationStatus(t.Context()))(t)
	wantVersions(t, status, 1, n, what+": MigrationStatus")
	for _, m := range status {
		if m.Name == "" {
			t.Fatalf("%s: migration %d has no name", what, m.Version)
		}
		if is := m.AppliedAt != nil; is != (m.Version <= applied) {
			t.Fatalf("%s: migration %04d_%s applied = %v, want %v", what, m.Version, m.Name, is, m.Version <= applied)
		}
	}
	return status
}

// migrateAll migrates a fresh store and returns how many migrations there are.
func migrateAll(t *testing.T, s store.Store) int {
	t.Helper()
	up := must(s.MigrateUp(t.Context()))(t)
	if len(up) < 2 {
		t.Fatalf("MigrateUp applied %d migrations, want at least 0001_initial and 0002_job_dlq", len(up))
	}
	wantVersions(t, up, 1, len(up), "MigrateUp on an empty database")
	return len(up)
}

func testMigrations(t *testing.T, r *suite) {
	r.runRaw(t, "UpAppliesAllInOrderAndIsIdempotent", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		before := must(s.MigrationStatus(ctx))(t)
		for _, m := range before {
			if m.AppliedAt != nil {
				t.Fatalf("a fresh store reports migration %04d_%s as applied", m.Version, m.Name)
			}
		}
		up := must(s.MigrateUp(ctx))(t)
		n := len(up)
		wantVersions(t, up, 1, n, "MigrateUp")
		if n < 2 || up[0].Name != "initial" || up[1].Name != "job_dlq" {
			t.Fatalf("MigrateUp applied %v, want 0001_initial, 0002_job_dlq, ...", up)
		}
		for _, m := range up {
			if m.AppliedAt == nil {
				t.Fatalf("MigrateUp returned migration %04d_%s without AppliedAt", m.Version, m.Name)
			}
		}
		wantVersions(t, before, 1, n, "MigrationStatus before MigrateUp")
		if again := must(s.MigrateUp(ctx))(t); len(again) != 0 {
			t.Fatalf("a second MigrateUp applied %v, want nothing", again)
		}
		status := wantApplied(t, s, n, n, "after MigrateUp")
		for i, m := range status {
			if m.Name != up[i].Name {
				t.Fatalf("MigrationStatus names migration %d %q, MigrateUp named it %q", m.Version, m.Name, up[i].Name)
			}
		}
		// The schema works.
		if _, err := s.CreateApp(ctx, store.App{ID: newID(), Name: "after-up"}); err != nil {
			t.Fatalf("CreateApp after MigrateUp: %v", err)
		}
	})

	r.runRaw(t, "DownToZeroUndoesAllAndUpWorksAgain", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		n := migrateAll(t, s)
		b := &bundle{ctx: ctx, s: s}
		app := b.createApp(t, "doomed")
		b.kill(t, spec(app.ID, "t", "e"))

		down := must(s.MigrateDown(ctx, 0))(t)
		wantVersions(t, down, n, 1, "MigrateDown(0)")
		wantApplied(t, s, n, 0, "after MigrateDown(0)")
		if _, err := s.ListApps(ctx); err == nil {
			t.Fatal("ListApps succeeded after every migration was undone")
		}
		if again := must(s.MigrateDown(ctx, 0))(t); len(again) != 0 {
			t.Fatalf("a second MigrateDown(0) undid %v, want nothing", again)
		}

		up := must(s.MigrateUp(ctx))(t)
		wantVersions(t, up, 1, n, "MigrateUp after MigrateDown(0)")
		wantApplied(t, s, n, n, "after migrating up again")
		if apps := must(s.ListApps(ctx))(t); len(apps) != 0 {
			t.Fatalf("after down and up, ListApps = %v, want no apps", apps)
		}
		if n := must(s.CountDead(ctx, store.DeadFilter{IncludeReplayed: true}))(t); n != 0 {
			t.Fatalf("after down and up, CountDead = %d, want 0", n)
		}
		app = b.createApp(t, "doomed")
		b.kill(t, spec(app.ID, "t", "e"))
	})

	r.runRaw(t, "DownToIntermediateVersion", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		n := migrateAll(t, s)
		b := &bundle{ctx: ctx, s: s}
		app := b.createApp(t, "survivor")

		if none := must(s.MigrateDown(ctx, n))(t); len(none) != 0 {
			t.Fatalf("MigrateDown(%d) at version %d undid %v, want nothing", n, n, none)
		}
		down := must(s.MigrateDown(ctx, 1))(t)
		wantVersions(t, down, n, 2, "MigrateDown(1)")
		wantApplied(t, s, n, 1, "after MigrateDown(1)")
		// job_dlq is gone; 0001's apps are still there, with their data (read back once the
		// later migrations, whose columns the store's queries read, are applied again).
		if _, err := s.CountDead(ctx, store.DeadFilter{}); err == nil {
			t.Fatal("CountDead succeeded after 0002_job_dlq was undone")
		}

		up := must(s.MigrateUp(ctx))(t)
		wantVersions(t, up, 2, n, "MigrateUp after MigrateDown(1)")
		wantApplied(t, s, n, n, "after migrating up again")
		if got := must(s.GetApp(ctx, app.ID))(t); got.Name != app.Name || got.CreatedAt != app.CreatedAt {
			t.Fatalf("after MigrateDown(1) and up, GetApp = %+v, want %+v", got, app)
		}
		b.kill(t, spec(app.ID, "t", "e"))

		if n > 2 {
			// One version down and up again: the newest migration's down works on its own.
			one := must(s.MigrateDown(ctx, n-1))(t)
			wantVersions(t, one, n, n, "MigrateDown(n-1)")
			wantApplied(t, s, n, n-1, "after MigrateDown(n-1)")
			wantVersions(t, must(s.MigrateUp(ctx))(t), n, n, "MigrateUp after MigrateDown(n-1)")
		}
	})

	r.runRaw(t, "ConcurrentUpUnderLock", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const runners = 4
		results := make([][]store.Migration, runners)
		errs := make([]error, runners)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range runners {
			wg.Go(func() {
				<-start
				results[i], errs[i] = s.MigrateUp(ctx)
			})
		}
		close(start)
		wg.Wait()
		winners, n := 0, 0
		for i := range runners {
			if errs[i] != nil {
				t.Fatalf("concurrent MigrateUp %d: %v", i, errs[i])
			}
			if len(results[i]) > 0 {
				winners++
				n = len(results[i])
				wantVersions(t, results[i], 1, n, "the MigrateUp that applied the migrations")
			}
		}
		if winners != 1 {
			t.Fatalf("%d concurrent MigrateUp calls applied migrations, want exactly 1", winners)
		}
		wantApplied(t, s, n, n, "after concurrent MigrateUp")
	})
}
