package sluice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
)

func TestSmoke(t *testing.T) {
	ctx := context.Background()
	c, err := sluice.Open(ctx, testdb.Postgres(t), &sluice.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Store().MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	app, err := c.CreateApp(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	type args struct{ N int }
	done := make(chan int, 10)
	sluice.Handle(c, "ok", func(ctx context.Context, job *sluice.Job, a args) error { done <- a.N; return nil }, nil)
	sluice.Handle(c, "bad", func(ctx context.Context, job *sluice.Job, a args) error { return errors.New("boom") },
		&sluice.TypeOptions{MaxAttempts: 2, Backoff: func(int) time.Duration { return 0 }})
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(ctx, sluice.NewJob{App: "billing", Type: "ok", Payload: args{7}}); err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 7 {
		t.Fatal(n)
	}
	r, err := c.Enqueue(ctx, sluice.NewJob{App: app.ID.String(), Type: "bad", Payload: args{1}})
	if err != nil {
		t.Fatal(err)
	}
	var page sluice.Page[sluice.DeadJob]
	for i := 0; i < 200; i++ {
		page, err = c.DLQ().ByApp(ctx, app.ID, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(page.Items) != 1 || page.Items[0].OriginalJobID != r.Job.ID || len(page.Items[0].ErrorHistory) != 2 {
		t.Fatalf("%+v", page)
	}
	t.Logf("%+v", page.Items[0])
	j, err := c.DLQ().Replay(ctx, page.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DLQ().Replay(ctx, page.Items[0].ID); !errors.Is(err, sluice.ErrAlreadyReplayed) {
		t.Fatal(err)
	}
	t.Logf("%+v", j)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
