package sluice_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
)

func TestEnqueueRejectsBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		app := b.app.ID.String()
		ok := sluice.NewJob{App: app, Type: "t", Payload: map[string]int{"a": 1}}
		with := func(edit func(*sluice.NewJob)) sluice.NewJob { j := ok; edit(&j); return j }
		cases := []struct {
			name  string
			job   sluice.NewJob
			field string
			is    error
		}{
			{"unknown app name", with(func(j *sluice.NewJob) { j.App = "nope" }), "app", sluice.ErrNotFound},
			{"unknown app id", with(func(j *sluice.NewJob) { j.App = "01a21a3a-7311-7b2a-b271-0054f363b355" }), "app", sluice.ErrNotFound},
			{"no app", with(func(j *sluice.NewJob) { j.App = "" }), "app", nil},
			{"empty type", with(func(j *sluice.NewJob) { j.Type = "" }), "type", nil},
			{"type with space", with(func(j *sluice.NewJob) { j.Type = "a b" }), "type", nil},
			{"long type", with(func(j *sluice.NewJob) { j.Type = strings.Repeat("t", 129) }), "type", nil},
			{"no payload", with(func(j *sluice.NewJob) { j.Payload = nil }), "payload", nil},
			{"scalar payload", with(func(j *sluice.NewJob) { j.Payload = 42 }), "payload", nil},
			{"invalid JSON", with(func(j *sluice.NewJob) { j.Payload = json.RawMessage(`{"a":`) }), "payload", nil},
			{"NUL escape", with(func(j *sluice.NewJob) { j.Payload = json.RawMessage(`{"a":"x\u0000y"}`) }), "payload", nil},
			{"NUL in key", with(func(j *sluice.NewJob) { j.Payload = map[string]int{"a\x00": 1} }), "payload", nil},
			{"invalid UTF-8", with(func(j *sluice.NewJob) { j.Payload = json.RawMessage("{\"a\":\"\xff\"}") }), "payload", nil},
			{"lone surrogate", with(func(j *sluice.NewJob) { j.Payload = json.RawMessage(`{"a":"\ud800"}`) }), "payload", nil},
			{"duplicate key", with(func(j *sluice.NewJob) { j.Payload = json.RawMessage(`{"a":1,"a":2}`) }), "payload", nil},
			{"too deep", with(func(j *sluice.NewJob) {
				j.Payload = json.RawMessage(strings.Repeat("[", 101) + strings.Repeat("]", 101))
			}), "payload", nil},
			{"huge number", with(func(j *sluice.NewJob) { j.Payload = json.RawMessage(`{"a":1e400}`) }), "payload", nil},
			{"too large", with(func(j *sluice.NewJob) {
				j.Payload = map[string]string{"a": strings.Repeat("x", 1<<20)}
			}), "payload", nil},
			{"bad queue", with(func(j *sluice.NewJob) { j.Queue = "q\n" }), "queue", nil},
			{"priority high", with(func(j *sluice.NewJob) { j.Priority = 101 }), "priority", nil},
			{"priority low", with(func(j *sluice.NewJob) { j.Priority = -101 }), "priority", nil},
			{"max attempts negative", with(func(j *sluice.NewJob) { j.MaxAttempts = -1 }), "maxAttempts", nil},
			{"max attempts huge", with(func(j *sluice.NewJob) { j.MaxAttempts = 1 << 31 }), "maxAttempts", nil},
			{"run at before 1970", with(func(j *sluice.NewJob) { j.RunAt = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }), "runAt", nil},
			{"run at after 9999", with(func(j *sluice.NewJob) { j.RunAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), "runAt", nil},
			{"unique key with NUL", with(func(j *sluice.NewJob) { j.UniqueKey = "k\x00" }), "uniqueKey", nil},
			{"unique key too long", with(func(j *sluice.NewJob) { j.UniqueKey = strings.Repeat("k", 256) }), "uniqueKey", nil},
		}
		for _, tc := range cases {
			_, err := b.client.Enqueue(b.ctx, tc.job)
			var fe *sluice.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("%s: got %v, want a FieldError on %q", tc.name, err, tc.field)
				continue
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%s: %v does not wrap %v", tc.name, err, tc.is)
			}
		}
		page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{}, sluice.ListOptions{})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("rejected enqueues left %d jobs (%v)", len(page.Items), err)
		}
	})
}

func TestEnqueueManyIsAllOrNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		good := sluice.NewJob{App: b.app.Name, Type: "t", Payload: []int{1}}
		bad := sluice.NewJob{App: b.app.Name, Type: "t", Payload: []int{1}, Priority: 500}
		_, err := b.client.EnqueueMany(b.ctx, []sluice.NewJob{good, good, bad})
		var fe *sluice.FieldError
		if !errors.As(err, &fe) || fe.Field != "jobs[2].priority" {
			t.Fatalf("got %v, want a FieldError on jobs[2].priority", err)
		}
		res, err := b.client.EnqueueMany(b.ctx, []sluice.NewJob{good, good})
		if err != nil || len(res) != 2 || res[0].Job.ID == res[1].Job.ID {
			t.Fatalf("EnqueueMany: %v %+v", err, res)
		}
		page, _ := b.client.ListJobs(b.ctx, sluice.JobFilter{App: b.app.Name}, sluice.ListOptions{})
		if len(page.Items) != 2 {
			t.Fatalf("%d jobs, want 2", len(page.Items))
		}
	})
}

func TestEnqueueDefaultsComeFromTheType(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		cfg := fastConfig()
		cfg.Queues = map[string]sluice.QueueConfig{"mail": {}}
		b := setup(t, url, cfg)
		sluice.Handle(b.client, "email.send", func(context.Context, *sluice.Job, map[string]any) error { return nil },
			&sluice.TypeOptions{Queue: "mail", MaxAttempts: 7})
		job := b.enqueue(t, "email.send", map[string]string{"to": "a@example.com"})
		if job.Queue != "mail" || job.MaxAttempts != 7 || job.Status != sluice.StatusPending || job.Attempts != 0 {
			t.Fatalf("got %+v", job)
		}
		other := b.enqueue(t, "other", []int{})
		if other.Queue != "default" || other.MaxAttempts != 25 {
			t.Fatalf("got %+v", other)
		}
	})
}

func TestUniqueKeyIsIdempotentWhileLive(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		j := sluice.NewJob{App: b.app.Name, Type: "once", Payload: []int{1}, UniqueKey: "invoice-42"}
		first, err := b.client.Enqueue(b.ctx, j)
		if err != nil || first.Duplicate {
			t.Fatal(err, first.Duplicate)
		}
		second, err := b.client.Enqueue(b.ctx, j)
		if err != nil || !second.Duplicate || second.Job.ID != first.Job.ID {
			t.Fatalf("second enqueue: %v %+v", err, second)
		}
		sluice.Handle(b.client, "once", func(context.Context, *sluice.Job, []int) error { return nil }, nil)
		b.start(t)
		b.waitForStatus(t, first.Job, sluice.StatusCompleted)
		third, err := b.client.Enqueue(b.ctx, j)
		if err != nil || third.Duplicate || third.Job.ID == first.Job.ID {
			t.Fatalf("after completion the key should be free: %v %+v", err, third)
		}
	})
}

func TestEnqueueTxCommitsAndRollsBackWithTheCaller(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		job := sluice.NewJob{App: b.app.Name, Type: "tx", Payload: map[string]bool{"ok": true}}

		tx, _, rollback := b.beginTx(t)
		if _, err := b.client.EnqueueTx(b.ctx, tx, job); err != nil {
			t.Fatal(err)
		}
		if err := rollback(); err != nil {
			t.Fatal(err)
		}
		tx, commit, _ := b.beginTx(t)
		committed, err := b.client.EnqueueTx(b.ctx, tx, job)
		if err != nil {
			t.Fatal(err)
		}
		if err := commit(); err != nil {
			t.Fatal(err)
		}
		page, _ := b.client.ListJobs(b.ctx, sluice.JobFilter{}, sluice.ListOptions{})
		if len(page.Items) != 1 || page.Items[0].ID != committed[0].Job.ID {
			t.Fatalf("want only the committed job, got %d jobs", len(page.Items))
		}
		if _, err := b.client.EnqueueTx(b.ctx, struct{}{}, job); !errors.Is(err, sluice.ErrTxType) {
			t.Fatalf("a foreign transaction type: %v", err)
		}
	})
}

func TestListJobsPagesWithCursors(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		var jobs []sluice.NewJob
		for range 25 {
			jobs = append(jobs, sluice.NewJob{App: b.app.Name, Type: "page", Payload: []int{}})
		}
		if _, err := b.client.EnqueueMany(b.ctx, jobs); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		cursor, pages := "", 0
		for {
			page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Type: "page"}, sluice.ListOptions{Limit: 10, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for i, j := range page.Items {
				if seen[j.ID.String()] {
					t.Fatalf("job %s listed twice", j.ID)
				}
				seen[j.ID.String()] = true
				if i > 0 && page.Items[i-1].ID.String() < j.ID.String() {
					t.Fatalf("not newest first")
				}
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 25 || pages != 3 {
			t.Fatalf("saw %d jobs on %d pages", len(seen), pages)
		}
		first, _ := b.client.ListJobs(b.ctx, sluice.JobFilter{Type: "page"}, sluice.ListOptions{Limit: 10})
		for _, tc := range []struct {
			name   string
			filter sluice.JobFilter
			opts   sluice.ListOptions
			field  string
		}{
			{"other filter", sluice.JobFilter{Type: "other"}, sluice.ListOptions{Cursor: first.NextCursor}, "cursor"},
			{"tampered", sluice.JobFilter{Type: "page"}, sluice.ListOptions{Cursor: first.NextCursor[:len(first.NextCursor)-2] + "xx"}, "cursor"},
			{"garbage", sluice.JobFilter{Type: "page"}, sluice.ListOptions{Cursor: "'; DROP TABLE jobs; --"}, "cursor"},
			{"limit zero is default, negative is not", sluice.JobFilter{}, sluice.ListOptions{Limit: -1}, "limit"},
			{"limit too big", sluice.JobFilter{}, sluice.ListOptions{Limit: 1_000_000_000_000}, "limit"},
			{"bad status", sluice.JobFilter{Status: "done"}, sluice.ListOptions{}, "status"},
			{"unknown app", sluice.JobFilter{App: "ghost"}, sluice.ListOptions{}, "app"},
			{"NUL in app", sluice.JobFilter{App: "gh\x00ost"}, sluice.ListOptions{}, "app"},
			{"NUL in type", sluice.JobFilter{Type: "t\x00"}, sluice.ListOptions{}, "type"},
		} {
			_, err := b.client.ListJobs(b.ctx, tc.filter, tc.opts)
			var fe *sluice.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("%s: got %v, want a FieldError on %q", tc.name, err, tc.field)
			}
		}
	})
}

func TestAppNames(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		for _, bad := range []string{"", " padded", "tab\there", strings.Repeat("a", 129), "01a21a3a-7311-7b2a-b271-0054f363b355", "bad\xffutf8"} {
			var fe *sluice.FieldError
			if _, err := b.client.CreateApp(b.ctx, bad); !errors.As(err, &fe) || fe.Field != "name" {
				t.Errorf("CreateApp(%q) = %v, want a FieldError on name", bad, err)
			}
		}
		if _, err := b.client.CreateApp(b.ctx, b.app.Name); !errors.Is(err, sluice.ErrConflict) {
			t.Errorf("duplicate name: %v", err)
		}
		odd, err := b.client.CreateApp(b.ctx, "Zürich 🚀 ‮rtl")
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.client.GetApp(b.ctx, odd.Name)
		if err != nil || got.ID != odd.ID {
			t.Fatalf("GetApp by name: %v", err)
		}
		if got, err = b.client.GetApp(b.ctx, odd.ID.String()); err != nil || got.Name != odd.Name {
			t.Fatalf("GetApp by id: %v", err)
		}
	})
}
