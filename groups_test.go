package sluice_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

// errArgs is the payload of a job whose handler fails with Err.
type errArgs struct {
	Err string `json:"err"`
}

// failWith dead-letters one job of jobType per error text, one attempt each, and waits for
// them all. The client must not be started yet.
func (b *bundle) failWith(t *testing.T, jobType string, errs ...string) {
	t.Helper()
	sluice.Handle(b.client, jobType, func(_ context.Context, _ *sluice.Job, a errArgs) error {
		return errors.New(a.Err)
	}, &sluice.TypeOptions{MaxAttempts: 1})
	b.start(t)
	var jobs []sluice.NewJob
	for _, e := range errs {
		jobs = append(jobs, sluice.NewJob{App: b.app.Name, Type: jobType, Payload: errArgs{Err: e}})
	}
	if _, err := b.client.EnqueueMany(b.ctx, jobs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the jobs to be dead-lettered", func() bool {
		page, err := b.client.DLQ().List(b.ctx, sluice.Filter{Type: jobType}, sluice.ListOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Items) == len(errs)
	})
	if err := b.client.Stop(b.ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFailureGroups(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		b.failWith(t, "db.sync",
			"timeout after 30s connecting to 10.0.0.1:5432",
			"timeout after 45s connecting to 10.0.0.7:5432",
			"timeout after 12s connecting to 10.0.0.9:5432",
			`relation "users" does not exist`,
			`relation "orders" does not exist`,
			"disk full")
		dlq := b.client.DLQ()

		groups, err := dlq.Groups(b.ctx, sluice.Filter{App: b.app.Name}, sluice.GroupOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 3 || groups[0].Count != 3 || groups[1].Count != 2 || groups[2].Count != 1 {
			t.Fatalf("Groups = %+v, want groups of 3, 2 and 1", groups)
		}
		timeouts := groups[0]
		if timeouts.Normalized != "timeout after <n>s connecting to <addr>" || timeouts.AppID != b.app.ID || timeouts.Type != "db.sync" ||
			timeouts.FirstFailedAt.After(timeouts.LastFailedAt) || len(timeouts.Signature) != 16 {
			t.Fatalf("the timeouts' group: %+v", timeouts)
		}
		if groups[1].Normalized != `relation "<q>" does not exist` {
			t.Fatalf("the relations' group: %+v", groups[1])
		}
		sample, err := dlq.Get(b.ctx, timeouts.SampleID)
		if err != nil || sample.LastError() != timeouts.SampleError || sample.ErrorSignature != timeouts.Signature {
			t.Fatalf("the group's sample %s: %v %+v", timeouts.SampleID, err, sample)
		}
		if top, err := dlq.Groups(b.ctx, sluice.Filter{}, sluice.GroupOptions{Limit: 1}); err != nil || len(top) != 1 || top[0] != timeouts {
			t.Fatalf("Groups with limit 1: %v %+v", err, top)
		}

		// Walk the groups in key order, one a page: the same groups, each once.
		var walked []sluice.FailureGroup
		var cursor string
		for range 10 {
			page, err := dlq.ListGroups(b.ctx, sluice.Filter{App: b.app.Name}, sluice.ListOptions{Limit: 1, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, page.Items...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		whole, err := dlq.ListGroups(b.ctx, sluice.Filter{}, sluice.ListOptions{})
		if err != nil || whole.NextCursor != "" || len(whole.Items) != 3 || !slices.Equal(walked, whole.Items) {
			t.Fatalf("ListGroups: %v %+v, walked one a page: %+v", err, whole, walked)
		}
		if !slices.IsSortedFunc(walked, func(x, y sluice.FailureGroup) int { return strings.Compare(x.Signature, y.Signature) }) ||
			!slices.ContainsFunc(walked, func(g sluice.FailureGroup) bool { return g == timeouts }) {
			t.Fatalf("ListGroups is not in signature order (one app, one type), or lacks the timeouts: %+v", walked)
		}
		first2, err := dlq.ListGroups(b.ctx, sluice.Filter{Type: "db.sync"}, sluice.ListOptions{Limit: 2})
		if err != nil || len(first2.Items) != 2 || first2.NextCursor == "" {
			t.Fatalf("ListGroups, limit 2: %v %+v", err, first2)
		}
		idPage, err := dlq.List(b.ctx, sluice.Filter{Type: "db.sync"}, sluice.ListOptions{Limit: 1})
		if err != nil || idPage.NextCursor == "" {
			t.Fatalf("List, limit 1: %v %+v", err, idPage)
		}
		var fe *sluice.FieldError
		for _, c := range []struct {
			f     sluice.Filter
			opts  sluice.ListOptions
			field string
		}{
			{sluice.Filter{}, sluice.ListOptions{Cursor: first2.NextCursor}, "cursor"}, // another filter
			{sluice.Filter{Type: "db.sync"}, sluice.ListOptions{Cursor: first2.NextCursor[1:]}, "cursor"},
			{sluice.Filter{Type: "db.sync"}, sluice.ListOptions{Cursor: idPage.NextCursor}, "cursor"}, // an id cursor
			{sluice.Filter{Type: "db.sync"}, sluice.ListOptions{All: true}, "all"},
			{sluice.Filter{}, sluice.ListOptions{Limit: 1001}, "limit"},
			{sluice.Filter{Group: "nope"}, sluice.ListOptions{}, "group"},
		} {
			if _, err := dlq.ListGroups(b.ctx, c.f, c.opts); !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("ListGroups(%+v, %+v): %v, want a FieldError on %s", c.f, c.opts, err, c.field)
			}
		}
		if _, err := dlq.List(b.ctx, sluice.Filter{Type: "db.sync"}, sluice.ListOptions{Cursor: first2.NextCursor}); !errors.As(err, &fe) || fe.Field != "cursor" {
			t.Fatalf("List with a group cursor: %v", err)
		}

		// List by group, page by page; a cursor is tied to its group.
		byGroup := sluice.Filter{Group: timeouts.Signature}
		first, err := dlq.List(b.ctx, byGroup, sluice.ListOptions{Limit: 2})
		if err != nil || len(first.Items) != 2 || first.NextCursor == "" {
			t.Fatalf("List by group: %v %+v", err, first)
		}
		rest, err := dlq.List(b.ctx, byGroup, sluice.ListOptions{Limit: 2, Cursor: first.NextCursor})
		if err != nil || len(rest.Items) != 1 || rest.NextCursor != "" {
			t.Fatalf("List by group, page 2: %v %+v", err, rest)
		}
		if _, err := dlq.List(b.ctx, sluice.Filter{Group: groups[1].Signature}, sluice.ListOptions{Cursor: first.NextCursor}); !errors.As(err, &fe) || fe.Field != "cursor" {
			t.Fatalf("a cursor of another group: %v", err)
		}
		for _, bad := range []string{"0123", "0123456789ABCDEF", "' OR 1=1 --", "Unknown"} {
			for _, call := range []func() error{
				func() error { _, err := dlq.List(b.ctx, sluice.Filter{Group: bad}, sluice.ListOptions{}); return err },
				func() error {
					_, err := dlq.Groups(b.ctx, sluice.Filter{Group: bad}, sluice.GroupOptions{})
					return err
				},
				func() error {
					_, err := dlq.ReplayMany(b.ctx, sluice.Filter{Group: bad}, sluice.ReplayOptions{DryRun: true})
					return err
				},
				func() error {
					_, err := dlq.Purge(b.ctx, sluice.Filter{Group: bad}, sluice.PurgeOptions{DryRun: true})
					return err
				},
			} {
				if err := call(); !errors.As(err, &fe) || fe.Field != "group" {
					t.Fatalf("group %q: got %v, want a FieldError on group", bad, err)
				}
			}
		}
		if _, err := dlq.Groups(b.ctx, sluice.Filter{}, sluice.GroupOptions{Limit: 1001}); !errors.As(err, &fe) || fe.Field != "limit" {
			t.Fatalf("limit 1001: %v", err)
		}

		// Replay one group, purge another: the third stays.
		res, err := dlq.ReplayMany(b.ctx, byGroup, sluice.ReplayOptions{})
		if err != nil || res.Matched != 3 || res.Replayed != 3 {
			t.Fatalf("ReplayMany by group: %v %+v", err, res)
		}
		purged, err := dlq.Purge(b.ctx, sluice.Filter{Group: groups[1].Signature}, sluice.PurgeOptions{})
		if err != nil || purged.Purged != 2 {
			t.Fatalf("Purge by group: %v %+v", err, purged)
		}
		left, err := dlq.Groups(b.ctx, sluice.Filter{}, sluice.GroupOptions{})
		if err != nil || len(left) != 1 || left[0].Signature != groups[2].Signature || left[0].Count != 1 {
			t.Fatalf("groups left: %v %+v", err, left)
		}
		stats, err := b.client.Stats(b.ctx)
		if err != nil || len(stats) != 1 || stats[0].Dead != 1 || stats[0].DeadGroups != 1 {
			t.Fatalf("Stats: %v %+v", err, stats)
		}
	})
}
