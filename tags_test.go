package sluice_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

// TestTags checks the rules for tags (each refusal names the tag) and that listings of jobs
// and of dead-letter entries filter by one, page by page.
func TestTags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		job := func(tags ...string) sluice.NewJob {
			return sluice.NewJob{App: b.app.Name, Type: "tagged", Payload: map[string]int{"n": 1}, Tags: tags}
		}
		for _, c := range []struct {
			tags  []string
			field string
		}{
			{[]string{"ok", ""}, "jobs[1].tags[1]"},
			{[]string{"has space"}, "jobs[1].tags[0]"},
			{[]string{"a,b"}, "jobs[1].tags[0]"},
			{[]string{"ünï"}, "jobs[1].tags[0]"},
			{[]string{strings.Repeat("x", 65)}, "jobs[1].tags[0]"},
			{[]string{"a", "b", "a"}, "jobs[1].tags[2]"},
			{strings.Split("a b c d e f g h i j k l m n o p q", " "), "jobs[1].tags"},
		} {
			_, err := b.client.EnqueueMany(b.ctx, []sluice.NewJob{job("fine"), job(c.tags...)})
			var fe *sluice.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("tags %q: %v, want a field error on %s", c.tags, err, c.field)
			}
		}
		if page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{}, sluice.ListOptions{}); err != nil || len(page.Items) != 0 {
			t.Fatalf("refused enqueues inserted %d jobs (%v)", len(page.Items), err)
		}
		if _, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Tag: "a b"}, sluice.ListOptions{}); !isField(err, "tag") {
			t.Errorf("ListJobs with a bad tag: %v", err)
		}
		if _, err := b.client.DLQ().List(b.ctx, sluice.Filter{Tag: "a,b"}, sluice.ListOptions{}); !isField(err, "tag") {
			t.Errorf("DLQ().List with a bad tag: %v", err)
		}

		var want []string
		for i := range 5 {
			tags := []string{"even"}
			if i%2 == 1 {
				tags = []string{"odd", "x:y=z/1"}
			}
			res, err := b.client.Enqueue(b.ctx, job(tags...))
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 {
				want = append([]string{res.Job.ID.String()}, want...)
			}
		}
		var got []string
		opts := sluice.ListOptions{Limit: 1}
		for {
			page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Tag: "x:y=z/1"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range page.Items {
				got = append(got, j.ID.String())
			}
			if page.NextCursor == "" {
				break
			}
			opts.Cursor = page.NextCursor
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("jobs with the tag, page by page: %v, want %v", got, want)
		}
		if _, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Tag: "odd"}, opts); !isField(err, "cursor") {
			t.Fatalf("a cursor of another tag's listing: %v, want a field error on cursor", err)
		}
	})
}

// isField reports whether err is a *FieldError on field.
func isField(err error, field string) bool {
	var fe *sluice.FieldError
	return errors.As(err, &fe) && fe.Field == field
}
