package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/sluicehq/sluice/store"
)

func testTokens(t *testing.T, r *suite) {
	r.run(t, "CreateGetListRevoke", func(t *testing.T, b *bundle) {
		hash := sha256.Sum256([]byte("secret"))
		admin := must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), Name: "ops", SecretHash: hash[:]}))(t)
		scoped := must(b.s.CreateToken(b.ctx, store.Token{ID: newID(), Name: "alpha reader", AppID: &b.app.ID, ReadOnly: true, SecretHash: hash[:]}))(t)
		if admin.AppID != nil || admin.ReadOnly || admin.Name != "ops" || !bytes.Equal(admin.SecretHash, hash[:]) || admin.RevokedAt != nil || admin.CreatedAt.IsZero() {
			t.Fatalf("admin token: %+v", admin)
		}
		got := must(b.s.GetToken(b.ctx, scoped.ID))(t)
		if got.AppID == nil || *got.AppID != b.app.ID || !got.ReadOnly || !bytes.Equal(got.SecretHash, hash[:]) || !got.CreatedAt.Equal(scoped.CreatedAt) {
			t.Fatalf("GetToken: %+v, want %+v", got, scoped)
		}
		list := must(b.s.ListTokens(b.ctx))(t)
		if len(list) != 2 || list[0].ID != scoped.ID || list[1].ID != admin.ID {
			t.Fatalf("ListTokens not newest first: %+v", list)
		}
		if err := b.s.RevokeToken(b.ctx, admin.ID); err != nil {
			t.Fatal(err)
		}
		revoked := must(b.s.GetToken(b.ctx, admin.ID))(t)
		if revoked.RevokedAt == nil {
			t.Fatal("RevokedAt not set")
		}
		if err := b.s.RevokeToken(b.ctx, admin.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if again := must(b.s.GetToken(b.ctx, admin.ID))(t); !again.RevokedAt.Equal(*revoked.RevokedAt) {
			t.Fatalf("a second revoke moved RevokedAt from %v to %v", revoked.RevokedAt, again.RevokedAt)
		}
		wantErrIs(t, b.s.RevokeToken(b.ctx, newID()), store.ErrNotFound, "RevokeToken of an unknown id")
		_, err := b.s.GetToken(b.ctx, newID())
		wantErrIs(t, err, store.ErrNotFound, "GetToken of an unknown id")
		ghost := newID()
		_, err = b.s.CreateToken(b.ctx, store.Token{ID: newID(), AppID: &ghost, SecretHash: hash[:]})
		wantFieldError(t, err, store.UnknownApp(), "CreateToken for an unknown app")
	})
}

func testAudit(t *testing.T, r *suite) {
	r.run(t, "ChangesAreRecordedWithTheirCounts", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 6, b.app.ID, "audited")
		audit := func(action string) *store.Audit {
			return &store.Audit{ID: newID(), Actor: "token:test", Action: action, AppID: &b.app.ID, Details: json.RawMessage(`{"why": "test"}`)}
		}
		one := audit("dlq.replay")
		if _, err := b.s.ReplayDead(b.ctx, store.ReplayParams{ID: entries[0].ID, Defaults: testDefaults, Audit: one}); err != nil {
			t.Fatal(err)
		}
		// A refused replay records nothing.
		_, err := b.s.ReplayDead(b.ctx, store.ReplayParams{ID: entries[0].ID, Defaults: testDefaults, Audit: audit("dlq.replay")})
		wantErrIs(t, err, store.ErrAlreadyReplayed, "second replay")

		bulk := audit("dlq.replay_many")
		f := store.DeadFilter{Type: "audited"}
		first := must(b.s.ReplayDeadBatch(b.ctx, f, store.ReplayBatch{Limit: 2, Defaults: testDefaults, Audit: bulk}))(t)
		second := must(b.s.ReplayDeadBatch(b.ctx, f, store.ReplayBatch{Before: first.LastID, Limit: 2, Defaults: testDefaults, Audit: bulk}))(t)
		if first.Replayed+second.Replayed != 4 {
			t.Fatalf("bulk replay batches replayed %d and %d", first.Replayed, second.Replayed)
		}
		purge := audit("dlq.purge")
		n := must(b.s.PurgeDeadBatch(b.ctx, store.DeadFilter{Type: "audited", IncludeReplayed: true, ReplayedOnly: true}, store.PurgeBatch{Limit: 3, Audit: purge}))(t)
		if n != 3 {
			t.Fatalf("purged %d, want 3", n)
		}
		del := audit("dlq.delete")
		if err := b.s.DeleteDead(b.ctx, entries[5].ID, del); err != nil {
			t.Fatal(err)
		}
		wantErrIs(t, b.s.DeleteDead(b.ctx, entries[5].ID, audit("dlq.delete")), store.ErrNotFound, "deleting twice")

		log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t)
		want := []struct {
			a     *store.Audit
			count int
		}{{del, 1}, {purge, 3}, {bulk, 4}, {one, 1}}
		if len(log) != len(want) {
			t.Fatalf("audit log has %d rows, want %d: %+v", len(log), len(want), log)
		}
		for i, w := range want {
			e := log[i]
			if e.ID != w.a.ID || e.Action != w.a.Action || e.Actor != "token:test" || e.Count != w.count ||
				e.AppID == nil || *e.AppID != b.app.ID || canonJSON(e.Details) != canonJSON(w.a.Details) || e.At.IsZero() {
				t.Errorf("audit row %d = %+v, want %s counting %d", i, e, w.a.Action, w.count)
			}
		}
		page := must(b.s.ListAudit(b.ctx, store.Page{Limit: 2, Before: &log[1].ID}))(t)
		if len(page) != 2 || page[0].ID != bulk.ID || page[1].ID != one.ID {
			t.Fatalf("ListAudit below a cursor: %+v", page)
		}
	})
}
