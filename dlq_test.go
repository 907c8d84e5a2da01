package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// deadLetter makes n entries of jobType through the engine: handlers that always fail, with
// one attempt each. The client must not be started yet.
func (b *bundle) deadLetter(t *testing.T, jobType string, n int) []sluice.DeadJob {
	t.Helper()
	sluice.Handle(b.client, jobType, func(ctx context.Context, job *sluice.Job, a countArgs) error {
		return fmt.Errorf("%s failed for item %d", jobType, a.N)
	}, &sluice.TypeOptions{MaxAttempts: 1})
	b.start(t)
	var jobs []sluice.NewJob
	for i := range n {
		jobs = append(jobs, sluice.NewJob{App: b.app.ID.String(), Type: jobType, Payload: countArgs{N: i}})
	}
	if _, err := b.client.EnqueueMany(b.ctx, jobs); err != nil {
		t.Fatal(err)
	}
	var page sluice.Page[sluice.DeadJob]
	waitFor(t, fmt.Sprintf("%d dead-letter entries", n), func() bool {
		var err error
		page, err = b.client.DLQ().List(b.ctx, sluice.Filter{Type: jobType}, sluice.ListOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Items) == n
	})
	if err := b.client.Stop(b.ctx); err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func TestDLQListingAndFilters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		entries := b.deadLetter(t, "report.build", 12)
		dlq := b.client.DLQ()

		byApp, err := dlq.ByApp(b.ctx, b.app.ID, 5, "")
		if err != nil || len(byApp.Items) != 5 || byApp.NextCursor == "" {
			t.Fatalf("ByApp: %v, %d items", err, len(byApp.Items))
		}
		rest, err := dlq.ByApp(b.ctx, b.app.ID, 100, byApp.NextCursor)
		if err != nil || len(rest.Items) != 7 || rest.NextCursor != "" {
			t.Fatalf("ByApp page 2: %v, %d items, cursor %q", err, len(rest.Items), rest.NextCursor)
		}
		if _, err := dlq.ByType(b.ctx, "report.build", 5, byApp.NextCursor); err == nil {
			t.Fatal("a ByApp cursor was accepted by ByType")
		}
		byType, err := dlq.ByType(b.ctx, "report.build", 0, "")
		if err != nil || len(byType.Items) != 12 {
			t.Fatalf("ByType: %v, %d", err, len(byType.Items))
		}
		got, err := dlq.List(b.ctx, sluice.Filter{ErrorContains: "for item 7"}, sluice.ListOptions{})
		if err != nil || len(got.Items) != 1 || got.Items[0].Payload == nil {
			t.Fatalf("ErrorContains: %v %+v", err, got.Items)
		}
		if got, _ = dlq.List(b.ctx, sluice.Filter{ErrorContains: "FOR ITEM 7"}, sluice.ListOptions{}); len(got.Items) != 0 {
			t.Fatalf("ErrorContains is documented as case-sensitive")
		}
		oldest := entries[len(entries)-1].FailedAt
		if got, _ = dlq.List(b.ctx, sluice.Filter{FailedBefore: oldest.Add(time.Millisecond)}, sluice.ListOptions{}); len(got.Items) < 1 {
			t.Fatalf("FailedBefore found nothing")
		}
		if got, _ = dlq.List(b.ctx, sluice.Filter{FailedAfter: time.Now().Add(time.Hour)}, sluice.ListOptions{}); len(got.Items) != 0 {
			t.Fatalf("FailedAfter in the future found %d", len(got.Items))
		}
		one, err := dlq.Get(b.ctx, entries[0].ID)
		if err != nil || one.ID != entries[0].ID || len(one.ErrorHistory) != 1 {
			t.Fatalf("Get: %v %+v", err, one)
		}
		if _, err := dlq.Get(b.ctx, uuid.New()); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("Get of a missing entry: %v", err)
		}
		for _, tc := range []struct {
			name  string
			f     sluice.Filter
			field string
		}{
			{"unknown app", sluice.Filter{App: "nobody"}, "app"},
			{"bad type", sluice.Filter{Type: "has space"}, "type"},
			{"inverted range", sluice.Filter{FailedAfter: time.Now(), FailedBefore: time.Now().Add(-time.Hour)}, "failedBefore"},
			{"ancient", sluice.Filter{FailedAfter: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, "failedAfter"},
			{"NUL in error text", sluice.Filter{ErrorContains: "a\x00"}, "errorContains"},
		} {
			var fe *sluice.FieldError
			if _, err := dlq.List(b.ctx, tc.f, sluice.ListOptions{}); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("%s: got %v, want a FieldError on %q", tc.name, err, tc.field)
			}
		}
		injection := "'; DROP TABLE job_dlq; --"
		if got, err := dlq.List(b.ctx, sluice.Filter{ErrorContains: injection}, sluice.ListOptions{}); err != nil || len(got.Items) != 0 {
			t.Fatalf("injection string: %v, %d", err, len(got.Items))
		}
	})
}

// TestDLQListByAppID covers a listing by app id from a client that has never seen the app:
// pages of an app with entries and of one without, and an unknown app reported as not found
// on "app" before any other field but the filter's own (a bad cursor included).
func TestDLQListByAppID(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		entries := b.deadLetter(t, "invoice.send", 3)
		empty, err := b.client.CreateApp(b.ctx, "empty-"+b.app.Name)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := sluice.Open(b.ctx, url, nil) // knows no app yet
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close(b.ctx)
		dlq := fresh.DLQ()

		page, err := dlq.ByApp(b.ctx, b.app.ID, 2, "")
		if err != nil || len(page.Items) != 2 || page.Items[0].ID != entries[0].ID || page.NextCursor == "" {
			t.Fatalf("ByApp: %v, %+v", err, page)
		}
		if page, err = dlq.ByApp(b.ctx, empty.ID, 10, ""); err != nil || len(page.Items) != 0 || page.NextCursor != "" {
			t.Fatalf("ByApp of an app without entries: %v, %+v", err, page)
		}
		if page, err = dlq.List(b.ctx, sluice.Filter{App: b.app.ID.String(), Type: "other.type"}, sluice.ListOptions{}); err != nil || len(page.Items) != 0 {
			t.Fatalf("List of an app by id matching nothing: %v, %+v", err, page)
		}
		byType, err := dlq.ByType(b.ctx, "invoice.send", 1, "")
		if err != nil || byType.NextCursor == "" {
			t.Fatalf("ByType: %v, %+v", err, byType)
		}
		missing := uuid.New()
		for _, tc := range []struct {
			name  string
			f     sluice.Filter
			opts  sluice.ListOptions
			field string
		}{
			{"unknown app id", sluice.Filter{App: missing.String()}, sluice.ListOptions{}, "app"},
			{"unknown app id and a type", sluice.Filter{App: missing.String(), Type: "invoice.send"}, sluice.ListOptions{}, "app"},
			{"unknown app id, replayed too", sluice.Filter{App: missing.String()}, sluice.ListOptions{All: true}, "app"},
			{"unknown app id and a bad cursor", sluice.Filter{App: missing.String()}, sluice.ListOptions{Cursor: "garbage"}, "app"},
			{"unknown app id and another filter's cursor", sluice.Filter{App: missing.String()}, sluice.ListOptions{Cursor: byType.NextCursor}, "app"},
			{"unknown app id and a bad type", sluice.Filter{App: missing.String(), Type: "has space"}, sluice.ListOptions{}, "type"},
			{"unknown app id and a bad limit", sluice.Filter{App: missing.String()}, sluice.ListOptions{Limit: -1}, "limit"},
			{"known app id and another filter's cursor", sluice.Filter{App: b.app.ID.String()}, sluice.ListOptions{Cursor: byType.NextCursor}, "cursor"},
		} {
			_, err := dlq.List(b.ctx, tc.f, tc.opts)
			var fe *sluice.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("%s: got %v, want a FieldError on %q", tc.name, err, tc.field)
			}
			if tc.field == "app" && !errors.Is(err, sluice.ErrNotFound) {
				t.Errorf("%s: %v does not wrap ErrNotFound", tc.name, err)
			}
		}
		if _, err := dlq.ByApp(b.ctx, missing, 10, ""); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("ByApp of an unknown app: %v", err)
		}
	})
}

func TestReplayOneIsAtMostOnce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		entry := b.deadLetter(t, "charge", 1)[0]
		dlq := b.client.DLQ()
		job, err := dlq.Replay(b.ctx, entry.ID)
		if err != nil {
			t.Fatal(err)
		}
		if job.Attempts != 0 || job.Status != sluice.StatusPending || job.ReplayedFrom == nil || *job.ReplayedFrom != entry.ID ||
			job.Type != entry.Type || job.AppID != entry.AppID || string(job.Payload) != string(entry.Payload) || job.MaxAttempts != 1 {
			t.Fatalf("replayed job %+v from %+v", job, entry)
		}
		if _, err := dlq.Replay(b.ctx, entry.ID); !errors.Is(err, sluice.ErrAlreadyReplayed) {
			t.Fatalf("second replay: %v", err)
		}
		if _, err := dlq.Replay(b.ctx, uuid.New()); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("replay of a missing entry: %v", err)
		}
		after, _ := dlq.Get(b.ctx, entry.ID)
		if after.ReplayedAt == nil || after.ReplayJobID == nil || *after.ReplayJobID != job.ID {
			t.Fatalf("entry after replay: %+v", after)
		}
		if page, _ := dlq.ByApp(b.ctx, b.app.ID, 0, ""); len(page.Items) != 0 {
			t.Fatalf("a replayed entry is still listed")
		}
		if page, _ := dlq.List(b.ctx, sluice.Filter{}, sluice.ListOptions{All: true}); len(page.Items) != 1 {
			t.Fatalf("All should list the replayed entry")
		}
	})
}

func TestReplayManyInBatches(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		b.deadLetter(t, "sync", 23)
		dlq := b.client.DLQ()
		f := sluice.Filter{Type: "sync"}
		var fe *sluice.FieldError
		if _, err := dlq.ReplayMany(b.ctx, sluice.Filter{}, sluice.ReplayOptions{}); !errors.As(err, &fe) || fe.Field != "filter" {
			t.Fatalf("empty filter: %v", err)
		}
		if _, err := dlq.ReplayMany(b.ctx, f, sluice.ReplayOptions{Rate: -1}); !errors.As(err, &fe) || fe.Field != "rate" {
			t.Fatalf("negative rate: %v", err)
		}
		dry, err := dlq.ReplayMany(b.ctx, f, sluice.ReplayOptions{DryRun: true})
		if err != nil || dry.Matched != 23 || dry.Replayed != 0 {
			t.Fatalf("dry run: %v %+v", err, dry)
		}
		if page, _ := dlq.List(b.ctx, f, sluice.ListOptions{}); len(page.Items) != 23 {
			t.Fatalf("dry run changed something")
		}
		res, err := dlq.ReplayMany(b.ctx, f, sluice.ReplayOptions{BatchSize: 5, Rate: 1000})
		if err != nil || res.Matched != 23 || res.Replayed != 23 || res.Conflicts != 0 {
			t.Fatalf("replay: %v %+v", err, res)
		}
		jobs, _ := b.client.ListJobs(b.ctx, sluice.JobFilter{Type: "sync"}, sluice.ListOptions{Limit: 1000})
		from := map[uuid.UUID]int{}
		for _, j := range jobs.Items {
			if j.ReplayedFrom != nil {
				from[*j.ReplayedFrom]++
			}
		}
		if len(from) != 23 {
			t.Fatalf("%d distinct entries replayed into jobs, want 23", len(from))
		}
		for id, n := range from {
			if n != 1 {
				t.Fatalf("entry %s replayed %d times", id, n)
			}
		}
		again, err := dlq.ReplayMany(b.ctx, f, sluice.ReplayOptions{})
		if err != nil || again.Matched != 0 || again.Replayed != 0 {
			t.Fatalf("second bulk replay: %v %+v", err, again)
		}
	})
}

func TestPurge(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		entries := b.deadLetter(t, "cleanup", 10)
		dlq := b.client.DLQ()
		var fe *sluice.FieldError
		if _, err := dlq.Purge(b.ctx, sluice.Filter{}, sluice.PurgeOptions{}); !errors.As(err, &fe) || fe.Field != "filter" {
			t.Fatalf("empty filter without All: %v", err)
		}
		for _, e := range entries[:3] {
			if _, err := dlq.Replay(b.ctx, e.ID); err != nil {
				t.Fatal(err)
			}
		}
		dry, err := dlq.Purge(b.ctx, sluice.Filter{}, sluice.PurgeOptions{ReplayedOnly: true, DryRun: true})
		if err != nil || dry.Matched != 3 || dry.Purged != 0 {
			t.Fatalf("dry run: %v %+v", err, dry)
		}
		res, err := dlq.Purge(b.ctx, sluice.Filter{}, sluice.PurgeOptions{ReplayedOnly: true})
		if err != nil || res.Purged != 3 {
			t.Fatalf("replayed-only purge: %v %+v", err, res)
		}
		if err := dlq.Delete(b.ctx, entries[3].ID); err != nil {
			t.Fatal(err)
		}
		if err := dlq.Delete(b.ctx, entries[3].ID); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		res, err = dlq.Purge(b.ctx, sluice.Filter{Type: "cleanup", ErrorContains: entries[4].LastError()}, sluice.PurgeOptions{})
		if err != nil || res.Purged != 1 {
			t.Fatalf("filtered purge: %v %+v", err, res)
		}
		res, err = dlq.Purge(b.ctx, sluice.Filter{}, sluice.PurgeOptions{All: true})
		if err != nil || res.Purged != 5 {
			t.Fatalf("purge all: %v %+v", err, res)
		}
		if page, _ := dlq.List(b.ctx, sluice.Filter{}, sluice.ListOptions{All: true}); len(page.Items) != 0 {
			t.Fatalf("%d entries left", len(page.Items))
		}
	})
}
