package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// sortedIDs returns the entries' ids in id order (oldest first).
func sortedIDs(entries []store.DeadJob) []uuid.UUID {
	ids := deadIDs(entries)
	slices.SortFunc(ids, idCmp)
	return ids
}

func testAlerts(t *testing.T, r *suite) {
	const long = time.Hour

	r.run(t, "EveryEntryQueuedOnceOldestFirst", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 5, b.app.ID, "alert.a")
		want := sortedIDs(entries)
		tok1, tok2 := newID(), newID()

		first := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: tok1, Limit: 3, Lease: long}))(t)
		wantIDs(t, deadIDs(first), want[:3], "first claim (oldest first)")
		for _, d := range first {
			wantSameDead(t, d, b.getDead(t, d.ID), "claimed entry")
		}
		second := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: tok2, Limit: 10, Lease: long}))(t)
		wantIDs(t, deadIDs(second), want[3:], "second claim skips the leased alerts")
		if again := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: tok2, Limit: 10, Lease: long}))(t); len(again) != 0 {
			t.Fatalf("a third claim took %d alerts, all are leased", len(again))
		}

		// Acknowledging needs the lease: another token's ack removes nothing.
		if n := must(b.s.AckDeadAlerts(b.ctx, tok2, want[:3], long))(t); n != 0 {
			t.Fatalf("AckDeadAlerts with a foreign token removed %d", n)
		}
		if n := must(b.s.AckDeadAlerts(b.ctx, tok1, want[:3], long))(t); n != 3 {
			t.Fatalf("AckDeadAlerts removed %d, want 3", n)
		}
		if n := must(b.s.AckDeadAlerts(b.ctx, tok1, want[:3], long))(t); n != 0 {
			t.Fatalf("acknowledging twice removed %d more", n)
		}
		// Giving the rest back (lease 0) makes them claimable again; acknowledged ones never are.
		if n := must(b.s.AckDeadAlerts(b.ctx, tok2, nil, 0))(t); n != 0 {
			t.Fatalf("giving back removed %d", n)
		}
		b.waitClockPast(t, b.dbNow(t))
		back := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: tok1, Limit: 10, Lease: long}))(t)
		wantIDs(t, deadIDs(back), want[3:], "claim after giving back")
		if n := must(b.s.AckDeadAlerts(b.ctx, tok1, want[3:], long))(t); n != 2 {
			t.Fatalf("AckDeadAlerts removed %d, want 2", n)
		}

		// A later entry is queued too; replaying an entry does not queue it again.
		b.replay(t, want[0])
		later := b.killN(t, 1, b.app2.ID, "alert.b")
		got := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: tok2, Limit: 10, Lease: long}))(t)
		wantIDs(t, deadIDs(got), deadIDs(later), "claim after a new dead-letter")
	})

	r.run(t, "ExpiredLeaseIsTakenOver", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 2, b.app.ID, "alert.a")
		want := sortedIDs(entries)
		crashed, rescuer := newID(), newID()
		before := b.dbNow(t)
		got := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: crashed, Limit: 10, Lease: time.Millisecond}))(t)
		wantIDs(t, deadIDs(got), want, "claim with a 1ms lease")
		b.waitClockPast(t, before.Add(50*time.Millisecond))
		got = must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: rescuer, Limit: 10, Lease: long}))(t)
		wantIDs(t, deadIDs(got), want, "claim after the lease expired")
		// The first alerter, late, finds its lease gone: its ack removes nothing and its renewal
		// takes nothing back.
		if n := must(b.s.AckDeadAlerts(b.ctx, crashed, want[:1], long))(t); n != 0 {
			t.Fatalf("an expired lease's ack removed %d", n)
		}
		if n := must(b.s.AckDeadAlerts(b.ctx, rescuer, want, long))(t); n != 2 {
			t.Fatalf("the new holder's ack removed %d, want 2", n)
		}
	})

	r.run(t, "RenewedLeaseHolds", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 2, b.app.ID, "alert.a")
		want := sortedIDs(entries)
		holder := newID()
		must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: holder, Limit: 10, Lease: time.Millisecond}))(t)
		// Acknowledging the first renews the second for an hour, so it stays the holder's
		// however long after its first lease the next claim comes.
		if n := must(b.s.AckDeadAlerts(b.ctx, holder, want[:1], long))(t); n != 1 {
			t.Fatalf("AckDeadAlerts removed %d, want 1", n)
		}
		b.waitClockPast(t, b.dbNow(t).Add(50*time.Millisecond))
		if got := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: newID(), Limit: 10, Lease: long}))(t); len(got) != 0 {
			t.Fatalf("another alerter took %v from a renewed lease", deadIDs(got))
		}
	})

	r.run(t, "DeletedEntryLeavesNoAlert", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 2, b.app.ID, "alert.a")
		want := sortedIDs(entries)
		if err := b.s.DeleteDead(b.ctx, want[0], nil); err != nil {
			t.Fatal(err)
		}
		got := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: newID(), Limit: 10, Lease: long}))(t)
		wantIDs(t, deadIDs(got), want[1:], "claim after deleting an entry")
	})

	r.run(t, "BareEntryQueued", func(t *testing.T, b *bundle) {
		if r.opts.InsertBareDead == nil {
			t.Skip("no InsertBareDead hook")
		}
		d := store.DeadJob{ID: newID(), OriginalJobID: newID(), AppID: b.app.ID, Type: "bare",
			Payload: []byte(`{}`), Attempts: 1, ErrorHistory: []store.ErrorRecord{}}
		r.opts.InsertBareDead(t, b.s, d)
		got := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: newID(), Limit: 10, Lease: long}))(t)
		wantIDs(t, deadIDs(got), []uuid.UUID{d.ID}, "claim after a nine-column insert")
	})

	r.run(t, "GroupCrossesOnce", func(t *testing.T, b *bundle) {
		const threshold = 3
		claim := func(tok uuid.UUID) []store.GroupAlert {
			return must(b.s.ClaimGroupAlerts(b.ctx, store.GroupAlertClaim{Threshold: threshold, Token: tok, Limit: 100, Lease: long}))(t)
		}
		entries := b.killN(t, 2, b.app.ID, "alert.g")
		b.killN(t, 5, b.app2.ID, "alert.other")
		tok1, tok2 := newID(), newID()

		got := claim(tok1)
		if len(got) != 1 || got[0].AppID != b.app2.ID || got[0].Type != "alert.other" || got[0].Count != 5 || got[0].ID == uuid.Nil {
			t.Fatalf("first claim = %+v, want the 5 entries of beta/alert.other", got)
		}
		other := got[0]
		if again := claim(tok2); len(again) != 0 {
			t.Fatalf("a leased crossing was claimed again: %+v", again)
		}
		if !must(b.s.AckGroupAlert(b.ctx, other, tok1))(t) {
			t.Fatal("AckGroupAlert = false for the holder")
		}
		if must(b.s.AckGroupAlert(b.ctx, other, tok1))(t) {
			t.Fatal("AckGroupAlert = true twice")
		}

		// alpha/alert.g reaches the threshold.
		more := b.killN(t, 1, b.app.ID, "alert.g")
		got = claim(tok2)
		if len(got) != 1 || got[0].AppID != b.app.ID || got[0].Count != 3 || got[0].Signature != entries[0].ErrorSignature {
			t.Fatalf("claim after the crossing = %+v, want alpha/alert.g with 3", got)
		}
		g := got[0]
		if must(b.s.AckGroupAlert(b.ctx, g, tok1))(t) {
			t.Fatal("AckGroupAlert = true for a token that does not hold it")
		}
		must(b.s.AckGroupAlert(b.ctx, g, tok2))(t)
		if again := claim(tok1); len(again) != 0 {
			t.Fatalf("an alerted crossing was claimed again: %+v", again)
		}
		if n := must(b.s.RearmGroupAlerts(b.ctx, threshold))(t); n != 0 {
			t.Fatalf("RearmGroupAlerts forgot %d crossings, every group is still at the threshold", n)
		}

		// Replaying one entry takes the group below: its crossing is forgotten, and the next
		// one is a new crossing with a new id.
		b.replay(t, more[0].ID)
		if n := must(b.s.RearmGroupAlerts(b.ctx, threshold))(t); n != 1 {
			t.Fatalf("RearmGroupAlerts forgot %d crossings, want 1", n)
		}
		if again := claim(tok1); len(again) != 0 {
			t.Fatalf("a group below the threshold was claimed: %+v", again)
		}
		b.killN(t, 1, b.app.ID, "alert.g")
		got = claim(tok1)
		if len(got) != 1 || got[0].AppID != b.app.ID || got[0].Count != 3 || got[0].ID == g.ID {
			t.Fatalf("claim after the second crossing = %+v, want alpha/alert.g with 3 and a new id (not %s)", got, g.ID)
		}
	})

	r.run(t, "GroupExpiredClaimTakenOver", func(t *testing.T, b *bundle) {
		b.killN(t, 2, b.app.ID, "alert.g")
		before := b.dbNow(t)
		got := must(b.s.ClaimGroupAlerts(b.ctx, store.GroupAlertClaim{Threshold: 2, Token: newID(), Limit: 10, Lease: time.Millisecond}))(t)
		if len(got) != 1 {
			t.Fatalf("claim = %+v, want one group", got)
		}
		b.waitClockPast(t, before.Add(50*time.Millisecond))
		tok := newID()
		again := must(b.s.ClaimGroupAlerts(b.ctx, store.GroupAlertClaim{Threshold: 2, Token: tok, Limit: 10, Lease: long}))(t)
		if len(again) != 1 || again[0].ID != got[0].ID {
			t.Fatalf("claim after the lease expired = %+v, want the same crossing %s", again, got[0].ID)
		}
		if !must(b.s.AckGroupAlert(b.ctx, again[0], tok))(t) {
			t.Fatal("AckGroupAlert = false for the new holder")
		}
	})
}
