package sluice_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/store"
)

func TestRenameApp(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		job := b.enqueue(t, "kept", countArgs{})
		other, err := b.client.CreateApp(b.ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		ctx := sluice.WithActor(b.ctx, "cli:test")
		renamed, err := b.client.RenameApp(ctx, b.app.Name, "renamed")
		if err != nil || renamed.ID != b.app.ID || renamed.Name != "renamed" {
			t.Fatalf("RenameApp: %+v, %v", renamed, err)
		}
		// Enqueue and listings by the new name and by the id; the old name names nothing.
		if _, err := b.client.Enqueue(b.ctx, sluice.NewJob{App: "renamed", Type: "kept", Payload: countArgs{}}); err != nil {
			t.Fatal(err)
		}
		page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{App: "renamed"}, sluice.ListOptions{})
		if err != nil || len(page.Items) != 2 || page.Items[1].ID != job.ID {
			t.Fatalf("jobs of the renamed app: %+v, %v", page.Items, err)
		}
		var fe *sluice.FieldError
		if _, err := b.client.Enqueue(b.ctx, sluice.NewJob{App: b.app.Name, Type: "kept", Payload: countArgs{}}); !errors.As(err, &fe) || fe.Field != "app" || !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("enqueue by the old name: %v", err)
		}
		// Validated as at creation.
		for name, field := range map[string]string{"": "name", "bad\x00name": "name", "01938c5e-7a8b-7cde-8f01-23456789abcd": "name", "other": "name"} {
			if _, err := b.client.RenameApp(b.ctx, "renamed", name); !errors.As(err, &fe) || fe.Field != field {
				t.Errorf("RenameApp to %q: %v, want a *FieldError on %q", name, err, field)
			}
		}
		if _, err := b.client.RenameApp(b.ctx, "renamed", other.Name); !errors.Is(err, sluice.ErrConflict) {
			t.Errorf("RenameApp to a taken name: %v, want ErrConflict", err)
		}
		if _, err := b.client.RenameApp(b.ctx, "nobody", "x"); !errors.As(err, &fe) || fe.Field != "app" || !errors.Is(err, sluice.ErrNotFound) {
			t.Errorf("RenameApp of an unknown app: %v", err)
		}
		audit, err := b.client.ListAudit(b.ctx, sluice.ListOptions{})
		if err != nil || len(audit.Items) != 1 || audit.Items[0].Action != "app.rename" || audit.Items[0].Actor != "cli:test" {
			t.Fatalf("audit after one rename: %+v, %v", audit.Items, err)
		}
	})
}

func TestDeleteAppRefusedThenPurged(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		for range 7 {
			b.enqueue(t, "held", countArgs{})
		}
		if _, _, err := b.client.CreateToken(b.ctx, sluice.TokenParams{App: b.app.Name}); err != nil {
			t.Fatal(err)
		}
		_, err := b.client.DeleteApp(b.ctx, b.app.Name, nil)
		var ne *sluice.AppNotEmptyError
		if !errors.As(err, &ne) || !errors.Is(err, sluice.ErrConflict) || ne.Holdings != (sluice.AppHoldings{PendingJobs: 7, Tokens: 1}) {
			t.Fatalf("DeleteApp of a holding app: %v", err)
		}
		if err.Error() != "the app still holds 7 pending jobs, 1 token that is not revoked; remove them first, or purge the app" {
			t.Errorf("refusal reads %q", err)
		}
		var fe *sluice.FieldError
		if _, err := b.client.DeleteApp(b.ctx, b.app.Name, &sluice.DeleteAppOptions{Purge: true, BatchSize: 10001}); !errors.As(err, &fe) || fe.Field != "batchSize" {
			t.Fatalf("batch size 10001: %v", err)
		}

		// Interrupted after the first batch of 3: consistent, and a second run finishes.
		ctx, cancel := context.WithCancel(b.ctx)
		res, err := b.client.DeleteApp(ctx, b.app.ID.String(), &sluice.DeleteAppOptions{Purge: true, BatchSize: 3,
			Progress: func(sluice.AppRows) { cancel() }})
		if !errors.Is(err, context.Canceled) || res.Done || res.Deleted != (sluice.AppRows{Jobs: 3}) || res.Batches != 1 {
			t.Fatalf("interrupted purge: %+v, %v", res, err)
		}
		if h, err := b.client.AppHoldings(b.ctx, b.app.Name); err != nil || h != (sluice.AppHoldings{PendingJobs: 4, Tokens: 1}) {
			t.Fatalf("holdings after the interruption: %+v, %v", h, err)
		}
		var batches []sluice.AppRows
		res, err = b.client.DeleteApp(b.ctx, b.app.Name, &sluice.DeleteAppOptions{Purge: true, BatchSize: 3,
			Progress: func(d sluice.AppRows) { batches = append(batches, d) }})
		if err != nil || !res.Done || res.Deleted != (sluice.AppRows{Jobs: 4, Tokens: 1}) || res.Batches != 2 || len(batches) != 2 {
			t.Fatalf("resumed purge: %+v, %v (progress %+v)", res, err, batches)
		}
		if _, err := b.client.GetApp(b.ctx, b.app.ID.String()); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("GetApp after the purge: %v", err)
		}
		// Enqueue by the deleted app's id (once cached as known) is refused.
		if _, err := b.client.Enqueue(b.ctx, sluice.NewJob{App: b.app.ID.String(), Type: "x", Payload: countArgs{}}); !errors.As(err, &fe) || fe.Field != "app" {
			t.Fatalf("enqueue into the deleted app: %v", err)
		}
		audit, err := b.client.ListAudit(b.ctx, sluice.ListOptions{})
		if err != nil || len(audit.Items) != 2 || audit.Items[0].Action != "app.purge" || audit.Items[0].Count != 6 ||
			audit.Items[1].Action != "app.purge" || audit.Items[1].Count != 3 {
			t.Fatalf("audit after the purges: %+v, %v", audit.Items, err)
		}
		if _, err := b.client.DeleteApp(b.ctx, b.app.ID.String(), nil); !errors.As(err, &fe) || fe.Field != "app" || !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("deleting it again: %v", err)
		}
	})
}

// A worker holds a running job of the app being purged: its late result changes nothing.
func TestPurgeFencesARunningJob(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		logs := &logRecorder{}
		cfg := fastConfig()
		cfg.Logger = slog.New(logs)
		b := setup(t, url, cfg)
		started, release := make(chan struct{}), make(chan struct{})
		sluice.Handle(b.client, "long", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			close(started)
			<-release
			return errors.New("late failure, after the purge")
		}, nil)
		b.start(t)
		job := b.enqueue(t, "long", countArgs{})
		<-started
		res, err := b.client.DeleteApp(b.ctx, b.app.Name, &sluice.DeleteAppOptions{Purge: true})
		if err != nil || !res.Done || res.Deleted.Jobs != 1 {
			t.Fatalf("purge with a running job: %+v, %v", res, err)
		}
		close(release)
		waitFor(t, "the late outcome to be refused", func() bool {
			return len(logs.find("sluice: outcome not applied: the lease was lost before it was written")) == 1
		})
		if _, err := b.client.GetJob(b.ctx, job.ID); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("the purged job came back: %v", err)
		}
		if n, err := b.client.Store().CountDead(b.ctx, store.DeadFilter{IncludeReplayed: true}); err != nil || n != 0 {
			t.Fatalf("%d entries after the late failure (%v)", n, err)
		}
		if got := logs.find("sluice: writing an outcome failed; retrying"); len(got) != 0 {
			t.Fatalf("the late outcome was retried: %v", got)
		}
	})
}

// Token expiry and rotation's grace are judged by the process's clock; internal/clock moves
// it. Not parallel: the skew is process-wide.
func TestTokenExpiryAndRotation(t *testing.T) {
	defer clock.Skew(0)
	for name, newURL := range backends {
		t.Run(name, func(t *testing.T) {
			clock.Skew(0)
			b := setup(t, newURL(t), nil)
			var fe *sluice.FieldError
			for _, ttl := range []time.Duration{-time.Hour, time.Second, sluice.MaxTokenTTL + time.Hour} {
				if _, _, err := b.client.CreateToken(b.ctx, sluice.TokenParams{TTL: ttl}); !errors.As(err, &fe) || fe.Field != "ttl" {
					t.Errorf("TTL %s: %v, want a *FieldError on ttl", ttl, err)
				}
			}
			tok, secret, err := b.client.CreateToken(b.ctx, sluice.TokenParams{TTL: time.Hour})
			if err != nil || tok.ExpiresAt == nil {
				t.Fatalf("CreateToken with a TTL: %+v, %v", tok, err)
			}
			auth := func(secret string) error {
				_, err := b.client.Authenticate(b.ctx, secret)
				return err
			}
			clock.Skew(time.Hour - time.Minute)
			if err := auth(secret); err != nil {
				t.Fatalf("a minute before expiry: %v", err)
			}
			clock.Skew(time.Hour)
			if err := auth(secret); !errors.Is(err, sluice.ErrUnauthorized) {
				t.Fatalf("at expiry: %v, want ErrUnauthorized", err)
			}
			if _, _, err := b.client.RotateToken(b.ctx, tok.ID, sluice.RotateParams{}); !errors.As(err, &fe) || fe.Field != "id" || !errors.Is(err, sluice.ErrConflict) {
				t.Fatalf("rotating an expired token: %v", err)
			}

			// Rotation with a grace: both secrets work until the grace ends, then only the new.
			clock.Skew(0)
			tok, old, err := b.client.CreateToken(b.ctx, sluice.TokenParams{App: b.app.Name, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range []time.Duration{-time.Second, sluice.MaxRotationGrace + time.Second} {
				if _, _, err := b.client.RotateToken(b.ctx, tok.ID, sluice.RotateParams{Grace: g}); !errors.As(err, &fe) || fe.Field != "grace" {
					t.Errorf("grace %s: %v", g, err)
				}
			}
			rotated, fresh, err := b.client.RotateToken(b.ctx, tok.ID, sluice.RotateParams{Grace: time.Hour})
			if err != nil || rotated.ID != tok.ID || !rotated.ReadOnly || rotated.AppID == nil || fresh == old || rotated.PreviousExpiresAt == nil {
				t.Fatalf("RotateToken: %+v, %v", rotated, err)
			}
			clock.Skew(time.Hour - time.Minute)
			if err := auth(old); err != nil {
				t.Fatalf("old secret a minute before the grace ends: %v", err)
			}
			if got, err := b.client.Authenticate(b.ctx, fresh); err != nil || got.ID != tok.ID {
				t.Fatalf("new secret: %+v, %v", got, err)
			}
			clock.Skew(time.Hour)
			if err := auth(old); !errors.Is(err, sluice.ErrUnauthorized) {
				t.Fatalf("old secret after the grace: %v, want ErrUnauthorized", err)
			}
			if err := auth(fresh); err != nil {
				t.Fatalf("new secret after the grace: %v", err)
			}

			// Without a grace the old secret stops at once.
			clock.Skew(0)
			_, newest, err := b.client.RotateToken(b.ctx, tok.ID, sluice.RotateParams{})
			if err != nil {
				t.Fatal(err)
			}
			if err := auth(fresh); !errors.Is(err, sluice.ErrUnauthorized) {
				t.Fatalf("replaced secret without a grace: %v, want ErrUnauthorized", err)
			}
			if err := auth(newest); err != nil {
				t.Fatalf("newest secret: %v", err)
			}
			if err := b.client.RevokeToken(b.ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := b.client.RotateToken(b.ctx, tok.ID, sluice.RotateParams{}); !errors.Is(err, sluice.ErrConflict) {
				t.Fatalf("rotating a revoked token: %v", err)
			}
		})
	}
}

// Pauses and periodic schedules are an app's settings: they do not stand in the way of
// deleting it, and go with it, counted in the result and the audit row.
func TestDeleteAppTakesItsSettings(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		if _, err := b.client.Pause(b.ctx, sluice.Scope{App: b.app.Name, Queue: "emails"}); err != nil {
			t.Fatal(err)
		}
		if h, err := b.client.AppHoldings(b.ctx, b.app.Name); err != nil || h != (sluice.AppHoldings{Pauses: 1}) || !h.Empty() {
			t.Fatalf("holdings of an app with a pause: %+v, %v", h, err)
		}
		res, err := b.client.DeleteApp(b.ctx, b.app.Name, nil)
		if err != nil || !res.Done || res.Pauses != 1 || res.Schedules != 0 {
			t.Fatalf("DeleteApp: %+v, %v", res, err)
		}
		if pauses, err := b.client.ListPauses(b.ctx); err != nil || len(pauses) != 0 {
			t.Fatalf("pauses after the app's deletion: %+v, %v", pauses, err)
		}
		audit, err := b.client.ListAudit(b.ctx, sluice.ListOptions{})
		if err != nil || len(audit.Items) == 0 || audit.Items[0].Action != "app.delete" {
			t.Fatalf("the deletion's audit row: %+v, %v", audit.Items, err)
		}
		var details struct{ Pauses, Schedules int }
		if err := json.Unmarshal(audit.Items[0].Details, &details); err != nil || details.Pauses != 1 || details.Schedules != 0 {
			t.Fatalf("the deletion's audit details: %s (%v)", audit.Items[0].Details, err)
		}
	})
}
