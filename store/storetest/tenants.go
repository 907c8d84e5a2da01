package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/store"
)

func testTenants(t *testing.T, r *suite) {
	r.run(t, "RenameKeepsIDJobsAndTokens", func(t *testing.T, b *bundle) {
		job := b.insertNew(t, newJob(b.app.ID, "kept"))[0]
		dead := b.killN(t, 1, b.app.ID, "kept")[0]
		hash := sha256.Sum256([]byte("secret"))
		tok := must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), AppID: &b.app.ID, SecretHash: hash[:]}))(t)
		audit := &store.Audit{ID: newID(), Actor: "token:test", Action: "app.rename", AppID: &b.app.ID}
		renamed := must(b.s.RenameApp(b.ctx, b.app.ID, "alpha 2 ✓", audit))(t)
		if renamed.ID != b.app.ID || renamed.Name != "alpha 2 ✓" || !renamed.CreatedAt.Equal(b.app.CreatedAt) {
			t.Fatalf("RenameApp returned %+v, want %s named %q", renamed, b.app.ID, "alpha 2 ✓")
		}
		wantSameApp(t, must(b.s.GetAppByName(b.ctx, "alpha 2 ✓"))(t), renamed, "GetAppByName(new name)")
		_, err := b.s.GetAppByName(b.ctx, "alpha")
		wantErrIs(t, err, store.ErrNotFound, "GetAppByName(old name)")
		if got := b.getJob(t, job.ID); got.AppID != b.app.ID {
			t.Fatalf("the job's app moved to %s", got.AppID)
		}
		if got := b.getDead(t, dead.ID); got.AppID != b.app.ID {
			t.Fatalf("the entry's app moved to %s", got.AppID)
		}
		if got := must(b.s.GetToken(b.ctx, tok.ID))(t); got.AppID == nil || *got.AppID != b.app.ID {
			t.Fatalf("the token's app changed: %+v", got)
		}
		// The old name is free again.
		b.createApp(t, "alpha")
		log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t)
		if len(log) != 1 || log[0].ID != audit.ID || log[0].Action != "app.rename" || log[0].Count != 1 ||
			canonJSON(log[0].Details) != canonJSON(json.RawMessage(`{"from": "alpha", "to": "alpha 2 ✓"}`)) {
			t.Fatalf("audit log after a rename: %+v", log)
		}
	})

	r.run(t, "RenameCollisionIsConflict", func(t *testing.T, b *bundle) {
		audit := &store.Audit{ID: newID(), Actor: "token:test", Action: "app.rename", AppID: &b.app.ID}
		_, err := b.s.RenameApp(b.ctx, b.app.ID, b.app2.Name, audit)
		wantFieldError(t, err, store.AppNameTaken(b.app2.Name), "renaming to a taken name")
		wantErrIs(t, err, store.ErrConflict, "renaming to a taken name")
		wantSameApp(t, must(b.s.GetApp(b.ctx, b.app.ID))(t), b.app, "the app after a refused rename")
		if log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t); len(log) != 0 {
			t.Fatalf("a refused rename was audited: %+v", log)
		}
		_, err = b.s.RenameApp(b.ctx, newID(), "gamma", nil)
		wantErrIs(t, err, store.ErrNotFound, "renaming an unknown app")
		// Renaming to its own name changes nothing and is no conflict.
		wantSameApp(t, must(b.s.RenameApp(b.ctx, b.app.ID, b.app.Name, nil))(t), b.app, "renaming to the same name")
	})

	r.run(t, "DeleteRefusedWhileHolding", func(t *testing.T, b *bundle) {
		b.insertNew(t, newJob(b.app.ID, "held"), newJob(b.app.ID, "held"))
		b.running(t, 1, nil)
		b.killN(t, 2, b.app.ID, "held")
		hash := sha256.Sum256([]byte("secret"))
		must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), AppID: &b.app.ID, SecretHash: hash[:]}))(t)
		must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainCompleted,
			RetentionScope: store.RetentionScope{AppID: &b.app.ID}, MaxAge: time.Hour}, nil))(t)
		want := store.AppHoldings{PendingJobs: 2, RunningJobs: 1, DeadJobs: 2, Tokens: 1, RetentionPolicies: 1}
		if h := must(b.s.AppHoldings(b.ctx, b.app.ID))(t); h != want {
			t.Fatalf("AppHoldings = %+v, want %+v", h, want)
		}
		err := b.s.DeleteApp(b.ctx, b.app.ID, &store.Audit{ID: newID(), Actor: "token:test", Action: "app.delete"})
		var ne *store.AppNotEmptyError
		if !errors.As(err, &ne) || ne.Holdings != want || ne.AppID != b.app.ID {
			t.Fatalf("DeleteApp of a holding app: got %v, want an *AppNotEmptyError with %+v", err, want)
		}
		wantErrIs(t, err, store.ErrConflict, "DeleteApp of a holding app")
		wantSameApp(t, must(b.s.GetApp(b.ctx, b.app.ID))(t), b.app, "the app after a refused delete")
		if log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t); len(log) != 0 {
			t.Fatalf("a refused delete was audited: %+v", log)
		}
		_, err = b.s.AppHoldings(b.ctx, newID())
		wantErrIs(t, err, store.ErrNotFound, "AppHoldings of an unknown app")
		wantErrIs(t, b.s.DeleteApp(b.ctx, newID(), nil), store.ErrNotFound, "DeleteApp of an unknown app")
	})

	r.run(t, "DeleteEmpty", func(t *testing.T, b *bundle) {
		// What refers to the app without being held by it goes with it: revoked tokens, and
		// live replay operations (cancelled, kept as history).
		hash := sha256.Sum256([]byte("secret"))
		revoked := must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), AppID: &b.app.ID, SecretHash: hash[:]}))(t)
		if err := b.s.RevokeToken(b.ctx, revoked.ID); err != nil {
			t.Fatal(err)
		}
		b.killN(t, 1, b.app.ID, "op")
		op := b.newOp(t, b.app.ID, "op", nil)
		must(b.s.PurgeAppBatch(b.ctx, b.app.ID, store.PurgeBatch{Limit: 10}))(t)
		if h := must(b.s.AppHoldings(b.ctx, b.app.ID))(t); !h.Empty() {
			t.Fatalf("AppHoldings with only a revoked token = %+v, want empty", h)
		}
		audit := &store.Audit{ID: newID(), Actor: "token:test", Action: "app.delete", AppID: &b.app.ID}
		if err := b.s.DeleteApp(b.ctx, b.app.ID, audit); err != nil {
			t.Fatalf("DeleteApp of an empty app: %v", err)
		}
		_, err := b.s.GetApp(b.ctx, b.app.ID)
		wantErrIs(t, err, store.ErrNotFound, "GetApp of the deleted app")
		_, err = b.s.GetToken(b.ctx, revoked.ID)
		wantErrIs(t, err, store.ErrNotFound, "GetToken of the deleted app's revoked token")
		if got := must(b.s.GetReplayOp(b.ctx, op.ID))(t); got.Status != store.ReplayCancelled {
			t.Fatalf("the deleted app's replay operation is %s, want cancelled", got.Status)
		}
		wantSameApp(t, must(b.s.GetApp(b.ctx, b.app2.ID))(t), b.app2, "the other app")
		log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t)
		if len(log) != 1 || log[0].ID != audit.ID || log[0].Count != 1 {
			t.Fatalf("audit log after a delete: %+v", log)
		}
		wantErrIs(t, b.s.DeleteApp(b.ctx, b.app.ID, nil), store.ErrNotFound, "deleting twice")
		// Its name is free, and nothing can be added to it.
		b.createApp(t, "alpha")
		_, err = b.s.InsertJobs(b.ctx, nil, []store.InsertJob{newJob(b.app.ID, "late")})
		wantFieldError(t, err, store.UnknownApp(), "inserting a job of the deleted app")
	})

	r.run(t, "PurgeInBatchesResumes", func(t *testing.T, b *bundle) {
		b.insertNew(t, newJob(b.app.ID, "p"), newJob(b.app.ID, "p"), newJob(b.app.ID, "p"))
		b.killN(t, 4, b.app.ID, "p")
		replayed := b.killN(t, 1, b.app.ID, "r")
		b.replay(t, replayed[0].ID) // a replayed entry, and its new pending job
		hash := sha256.Sum256([]byte("secret"))
		must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), AppID: &b.app.ID, SecretHash: hash[:]}))(t)
		must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainCompleted,
			RetentionScope: store.RetentionScope{AppID: &b.app.ID}, MaxAge: time.Hour}, nil))(t)
		// The other app's rows are untouched throughout.
		other := b.insertNew(t, newJob(b.app2.ID, "p"))[0]
		otherDead := b.killN(t, 1, b.app2.ID, "p")[0]
		otherTok := must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), AppID: &b.app2.ID, SecretHash: hash[:]}))(t)

		audit := &store.Audit{ID: newID(), Actor: "token:test", Action: "app.purge", AppID: &b.app.ID, Details: json.RawMessage(`{"batchSize": 3}`)}
		first := must(b.s.PurgeAppBatch(b.ctx, b.app.ID, store.PurgeBatch{Limit: 3, Audit: audit}))(t)
		if first != (store.AppRows{Jobs: 3}) {
			t.Fatalf("first batch deleted %+v, want 3 jobs", first)
		}
		second := must(b.s.PurgeAppBatch(b.ctx, b.app.ID, store.PurgeBatch{Limit: 3, Audit: audit}))(t)
		if second != (store.AppRows{Jobs: 1, DeadJobs: 2}) {
			t.Fatalf("second batch deleted %+v, want 1 job and 2 entries", second)
		}
		// Interrupted here: the state is consistent, and a delete says what is left.
		var ne *store.AppNotEmptyError
		if err := b.s.DeleteApp(b.ctx, b.app.ID, nil); !errors.As(err, &ne) ||
			ne.Holdings != (store.AppHoldings{DeadJobs: 2, ReplayedDeadJobs: 1, Tokens: 1, RetentionPolicies: 1}) {
			t.Fatalf("DeleteApp halfway through a purge: %v", err)
		}
		if log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t); len(log) != 1 || log[0].Count != 6 {
			t.Fatalf("audit log halfway through: %+v", log)
		}
		// Run again (a new operation, as after a crash): it finishes.
		resumed := &store.Audit{ID: newID(), Actor: "token:test", Action: "app.purge", AppID: &b.app.ID}
		var total store.AppRows
		for {
			n := must(b.s.PurgeAppBatch(b.ctx, b.app.ID, store.PurgeBatch{Limit: 3, Audit: resumed}))(t)
			if n.Total() > 3 {
				t.Fatalf("a batch of 3 deleted %+v", n)
			}
			if n.Total() == 0 {
				break
			}
			total = total.Add(n)
		}
		if total != (store.AppRows{DeadJobs: 3, Tokens: 1, RetentionPolicies: 1}) {
			t.Fatalf("the resumed purge deleted %+v", total)
		}
		if err := b.s.DeleteApp(b.ctx, b.app.ID, resumed); err != nil {
			t.Fatalf("DeleteApp after the purge: %v", err)
		}
		log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t)
		if len(log) != 2 || log[0].ID != resumed.ID || log[0].Count != 6 || log[1].ID != audit.ID || log[1].Count != 6 {
			t.Fatalf("audit log after the purge: %+v", log)
		}
		// Each row's details say what its operation deleted, by table.
		for i, want := range []string{
			`{"deleted": {"jobs": 0, "deadJobs": 3, "tokens": 1, "retentionPolicies": 1}}`,
			`{"batchSize": 3, "deleted": {"jobs": 4, "deadJobs": 2, "tokens": 0, "retentionPolicies": 0}}`,
		} {
			if canonJSON(log[i].Details) != canonJSON(json.RawMessage(want)) {
				t.Errorf("audit row %d details = %s, want %s", i, log[i].Details, want)
			}
		}
		b.getJob(t, other.ID)
		b.getDead(t, otherDead.ID)
		must(b.s.GetToken(b.ctx, otherTok.ID))(t)
		if h := must(b.s.AppHoldings(b.ctx, b.app2.ID))(t); h != (store.AppHoldings{PendingJobs: 1, DeadJobs: 1, Tokens: 1}) {
			t.Fatalf("the other app holds %+v after the purge", h)
		}
	})

	r.run(t, "PurgedRunningJobIsFenced", func(t *testing.T, b *bundle) {
		jobs, token := b.running(t, 2, nil)
		for {
			if n := must(b.s.PurgeAppBatch(b.ctx, b.app.ID, store.PurgeBatch{Limit: 1}))(t); n.Total() == 0 {
				break
			}
		}
		if err := b.s.DeleteApp(b.ctx, b.app.ID, nil); err != nil {
			t.Fatalf("DeleteApp after purging its running jobs: %v", err)
		}
		// The worker's late writes change nothing: no job comes back, no entry appears, no
		// error (which a worker would retry forever).
		for _, j := range jobs {
			lease := store.Lease{JobID: j.ID, Token: token}
			b.wantFenced(t, lease, "a purged running job")
			b.wantNoJob(t, j.ID)
		}
		if n := must(b.s.CountDead(b.ctx, store.DeadFilter{IncludeReplayed: true}))(t); n != 0 {
			t.Fatalf("%d entries after fenced finishes of purged jobs", n)
		}
		res, err := b.s.RescueExpired(b.ctx, 100)
		if err != nil || res != (store.RescueResult{}) {
			t.Fatalf("RescueExpired after the purge: %+v, %v", res, err)
		}
	})

	r.run(t, "TokenRotation", func(t *testing.T, b *bundle) {
		oldHash := sha256.Sum256([]byte("old"))
		newHash := sha256.Sum256([]byte("new"))
		newerHash := sha256.Sum256([]byte("newer"))
		expires := b.dbNow(t).Add(24 * time.Hour).Truncate(time.Millisecond)
		tok := must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), Name: "ci", AppID: &b.app.ID, ReadOnly: true,
			SecretHash: oldHash[:], ExpiresAt: &expires}))(t)
		if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(expires) || tok.RotatedAt != nil || tok.PreviousSecretHash != nil {
			t.Fatalf("CreateToken with an expiry: %+v", tok)
		}
		grace := b.dbNow(t).Add(time.Hour).Truncate(time.Millisecond)
		rotated := must(b.s.RotateToken(b.ctx, tok.ID, store.TokenRotation{SecretHash: newHash[:], PreviousExpiresAt: &grace}))(t)
		if rotated.ID != tok.ID || rotated.Name != "ci" || !eqIDPtr(rotated.AppID, &b.app.ID) || !rotated.ReadOnly ||
			!bytes.Equal(rotated.SecretHash, newHash[:]) || !bytes.Equal(rotated.PreviousSecretHash, oldHash[:]) ||
			!eqTimePtr(rotated.PreviousExpiresAt, &grace) || !eqTimePtr(rotated.ExpiresAt, &expires) || rotated.RotatedAt == nil {
			t.Fatalf("RotateToken with a grace: %+v", rotated)
		}
		got := must(b.s.GetToken(b.ctx, tok.ID))(t)
		if !bytes.Equal(got.SecretHash, newHash[:]) || !bytes.Equal(got.PreviousSecretHash, oldHash[:]) || !eqTimePtr(got.PreviousExpiresAt, &grace) {
			t.Fatalf("GetToken after a rotation: %+v", got)
		}
		// Without a grace, the replaced secret (and the one still in its grace) stop at once.
		again := must(b.s.RotateToken(b.ctx, tok.ID, store.TokenRotation{SecretHash: newerHash[:]}))(t)
		if !bytes.Equal(again.SecretHash, newerHash[:]) || again.PreviousSecretHash != nil || again.PreviousExpiresAt != nil {
			t.Fatalf("RotateToken without a grace: %+v", again)
		}
		if err := b.s.RevokeToken(b.ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err := b.s.RotateToken(b.ctx, tok.ID, store.TokenRotation{SecretHash: oldHash[:]})
		wantFieldError(t, err, store.TokenRevoked(), "rotating a revoked token")
		if got := must(b.s.GetToken(b.ctx, tok.ID))(t); !bytes.Equal(got.SecretHash, newerHash[:]) {
			t.Fatal("a refused rotation changed the secret")
		}
		_, err = b.s.RotateToken(b.ctx, newID(), store.TokenRotation{SecretHash: oldHash[:]})
		wantErrIs(t, err, store.ErrNotFound, "rotating an unknown token")
		if list := must(b.s.ListTokens(b.ctx))(t); len(list) != 1 || list[0].RotatedAt == nil || !eqTimePtr(list[0].ExpiresAt, &expires) {
			t.Fatalf("ListTokens after rotations: %+v", list)
		}
	})
}
