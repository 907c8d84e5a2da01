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

// acks acknowledges the entries' alerts as delivered on the first attempt.
func acks(ids []uuid.UUID) []store.AlertAck {
	out := make([]store.AlertAck, len(ids))
	for i, id := range ids {
		out[i] = store.AlertAck{ID: id, Delivered: 1}
	}
	return out
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
		if n := must(b.s.AckDeadAlerts(b.ctx, tok2, acks(want[:3]), long))(t); n != 0 {
			t.Fatalf("AckDeadAlerts with a foreign token removed %d", n)
		}
		if n := must(b.s.AckDeadAlerts(b.ctx, tok1, acks(want[:3]), long))(t); n != 3 {
			t.Fatalf("AckDeadAlerts removed %d, want 3", n)
		}
		if n := must(b.s.AckDeadAlerts(b.ctx, tok1, acks(want[:3]), long))(t); n != 0 {
			t.Fatalf("acknowledging twice removed %d more", n)
		}
		// Giving the rest back (lease 0) makes them claimable again; acknowledged ones never are.
		if n := must(b.s.AckDeadAlerts(b.ctx, tok2, nil, 0))(t); n != 0 {
			t.Fatalf("giving back removed %d", n)
		}
		b.waitClockPast(t, b.dbNow(t))
		back := must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: tok1, Limit: 10, Lease: long}))(t)
		wantIDs(t, deadIDs(back), want[3:], "claim after giving back")
		if n := must(b.s.AckDeadAlerts(b.ctx, tok1, acks(want[3:]), long))(t); n != 2 {
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
		if n := must(b.s.AckDeadAlerts(b.ctx, crashed, acks(want[:1]), long))(t); n != 0 {
			t.Fatalf("an expired lease's ack removed %d", n)
		}
		if n := must(b.s.AckDeadAlerts(b.ctx, rescuer, acks(want), long))(t); n != 2 {
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
		if n := must(b.s.AckDeadAlerts(b.ctx, holder, acks(want[:1]), long))(t); n != 1 {
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
		// Its alert is gone with it, not merely hidden by the claim's join with job_dlq.
		if bl := must(b.s.AlertBacklog(b.ctx))(t); bl.Pending != 1 {
			t.Fatalf("backlog after deleting one of two entries: %d pending alerts, want 1", bl.Pending)
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
		if !must(b.s.AckGroupAlert(b.ctx, other, tok1, store.AlertAck{Delivered: 1}))(t) {
			t.Fatal("AckGroupAlert = false for the holder")
		}
		if must(b.s.AckGroupAlert(b.ctx, other, tok1, store.AlertAck{Delivered: 1}))(t) {
			t.Fatal("AckGroupAlert = true twice")
		}

		// alpha/alert.g reaches the threshold.
		more := b.killN(t, 1, b.app.ID, "alert.g")
		got = claim(tok2)
		if len(got) != 1 || got[0].AppID != b.app.ID || got[0].Count != 3 || got[0].Signature != entries[0].ErrorSignature {
			t.Fatalf("claim after the crossing = %+v, want alpha/alert.g with 3", got)
		}
		g := got[0]
		if must(b.s.AckGroupAlert(b.ctx, g, tok1, store.AlertAck{Delivered: 1}))(t) {
			t.Fatal("AckGroupAlert = true for a token that does not hold it")
		}
		must(b.s.AckGroupAlert(b.ctx, g, tok2, store.AlertAck{Delivered: 1}))(t)
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
		if !must(b.s.AckGroupAlert(b.ctx, again[0], tok, store.AlertAck{Delivered: 1}))(t) {
			t.Fatal("AckGroupAlert = false for the new holder")
		}
	})

	r.run(t, "DeliveriesAreListed", func(t *testing.T, b *bundle) {
		entries := sortedIDs(b.killN(t, 3, b.app.ID, "alert.a"))
		other := b.killN(t, 1, b.app2.ID, "alert.b")[0]
		tok := newID()
		if bl := must(b.s.AlertBacklog(b.ctx))(t); bl.Pending != 4 || bl.OldestPendingAt == nil ||
			!bl.OldestPendingAt.Equal(b.getDead(t, entries[0]).FailedAt) {
			t.Fatalf("AlertBacklog = %+v, want 4 pending since the first entry failed", bl)
		}
		must(b.s.ClaimDeadAlerts(b.ctx, store.AlertClaim{Token: tok, Limit: 10, Lease: long}))(t)
		note := func(id uuid.UUID, msg string, retry time.Duration) {
			t.Helper()
			if !must(b.s.NoteAlertAttempt(b.ctx, tok, store.AlertAttempt{Event: store.AlertEventDeadLettered, ID: id, Error: msg, Retry: retry}))(t) {
				t.Fatalf("NoteAlertAttempt(%s) = false for the holder", id)
			}
		}
		// A foreign token notes nothing.
		if must(b.s.NoteAlertAttempt(b.ctx, newID(), store.AlertAttempt{Event: store.AlertEventDeadLettered, ID: entries[0], Error: "x"}))(t) {
			t.Fatal("NoteAlertAttempt = true for a token that does not hold the alert")
		}
		note(entries[0], "HTTP 500", time.Minute)
		note(entries[1], "HTTP 502", time.Minute)
		note(entries[1], "HTTP 400", 0)
		now := b.dbNow(t)
		list := func(q store.AlertQuery, before *uuid.UUID, limit int) []store.AlertDelivery {
			t.Helper()
			return must(b.s.ListAlerts(b.ctx, q, store.Page{Limit: limit, Before: before}))(t)
		}
		pending := list(store.AlertQuery{Status: store.AlertPending}, nil, 10)
		wantIDs(t, alertIDs(pending), []uuid.UUID{other.ID, entries[2], entries[1], entries[0]}, "pending alerts, newest first")
		first := pending[3]
		if first.Event != store.AlertEventDeadLettered || first.AppID != b.app.ID || first.Type != "alert.a" ||
			first.Status != store.AlertPending || first.Attempts != 1 || first.LastError != "HTTP 500" ||
			first.NextAttemptAt == nil || first.NextAttemptAt.Before(now.Add(50*time.Second)) || first.FinishedAt != nil ||
			!first.CreatedAt.Equal(b.getDead(t, entries[0]).FailedAt) {
			t.Fatalf("pending alert %+v, want one failed attempt retried in a minute", first)
		}
		if p := pending[2]; p.Attempts != 2 || p.LastError != "HTTP 400" || p.NextAttemptAt != nil {
			t.Fatalf("pending alert %+v, want two failed attempts and no retry", p)
		}

		// Acknowledged: recorded as delivered (the failed attempt and the good one) or failed.
		done := []store.AlertAck{{ID: entries[0], Delivered: 1}, {ID: entries[1], GaveUp: true}, {ID: entries[2], Delivered: 2}}
		if n := must(b.s.AckDeadAlerts(b.ctx, tok, done, long))(t); n != 3 {
			t.Fatalf("AckDeadAlerts removed %d, want 3", n)
		}
		all := list(store.AlertQuery{}, nil, 10)
		wantIDs(t, alertIDs(all), []uuid.UUID{other.ID, entries[2], entries[1], entries[0]}, "every alert")
		want := map[uuid.UUID]struct {
			status   store.AlertStatus
			attempts int
			err      string
		}{
			other.ID: {store.AlertPending, 0, ""}, entries[2]: {store.AlertDelivered, 2, ""},
			entries[1]: {store.AlertFailed, 2, "HTTP 400"}, entries[0]: {store.AlertDelivered, 2, "HTTP 500"},
		}
		for _, a := range all {
			w := want[a.ID]
			if a.Status != w.status || a.Attempts != w.attempts || a.LastError != w.err || a.NextAttemptAt != nil ||
				(w.status == store.AlertPending) != (a.FinishedAt == nil) || (a.FinishedAt != nil && a.FinishedAt.Before(a.CreatedAt)) {
				t.Errorf("alert %+v, want %+v", a, w)
			}
		}
		wantIDs(t, alertIDs(list(store.AlertQuery{Status: store.AlertFailed}, nil, 10)), []uuid.UUID{entries[1]}, "failed alerts")
		wantIDs(t, alertIDs(list(store.AlertQuery{Status: store.AlertDelivered}, nil, 10)), []uuid.UUID{entries[2], entries[0]}, "delivered alerts")
		wantIDs(t, alertIDs(list(store.AlertQuery{AppID: &b.app2.ID}, nil, 10)), []uuid.UUID{other.ID}, "the other app's alerts")
		// Pages below a cursor, across pending and finished alerts.
		wantIDs(t, alertIDs(list(store.AlertQuery{}, &other.ID, 2)), []uuid.UUID{entries[2], entries[1]}, "a page below the newest")
		wantIDs(t, alertIDs(list(store.AlertQuery{}, &entries[1], 2)), []uuid.UUID{entries[0]}, "the last page")

		// A group crossing: pending while claimed, then recorded with its attempts.
		b.killN(t, 2, b.app.ID, "alert.a")
		gs := must(b.s.ClaimGroupAlerts(b.ctx, store.GroupAlertClaim{Threshold: 5, Token: tok, Limit: 10, Lease: long}))(t)
		if len(gs) != 1 {
			t.Fatalf("group claim = %+v, want one crossing", gs)
		}
		g := gs[0]
		if !must(b.s.NoteAlertAttempt(b.ctx, tok, store.AlertAttempt{Event: store.AlertEventGroupThreshold, ID: g.ID, Error: "timeout", Retry: time.Second}))(t) {
			t.Fatal("NoteAlertAttempt = false for the crossing's holder")
		}
		gp := list(store.AlertQuery{Status: store.AlertPending, AppID: &b.app.ID}, nil, 10)
		if len(gp) == 0 || gp[0].ID != g.ID || gp[0].Event != store.AlertEventGroupThreshold || gp[0].Group != g.Signature ||
			gp[0].Attempts != 1 || gp[0].LastError != "timeout" || gp[0].NextAttemptAt == nil || gp[0].CreatedAt.IsZero() {
			t.Fatalf("pending alerts %+v, want the crossing %s first with one failed attempt", gp, g.ID)
		}
		if bl := must(b.s.AlertBacklog(b.ctx))(t); bl.Pending != 4 { // other, two new entries, the crossing
			t.Fatalf("AlertBacklog = %+v, want 4 pending", bl)
		}
		must(b.s.AckGroupAlert(b.ctx, g, tok, store.AlertAck{Delivered: 1}))(t)
		gd := list(store.AlertQuery{Status: store.AlertDelivered}, nil, 1)
		if len(gd) != 1 || gd[0].ID != g.ID || gd[0].Attempts != 2 || gd[0].Group != g.Signature || gd[0].LastError != "timeout" {
			t.Fatalf("delivered alerts %+v, want the crossing with 2 attempts", gd)
		}

		// Pruning deletes finished records in bounded batches, and never pending alerts.
		b.waitClockPast(t, b.dbNow(t).Add(10*time.Millisecond))
		if n := must(b.s.PruneAlertLog(b.ctx, time.Hour, 10))(t); n != 0 {
			t.Fatalf("PruneAlertLog pruned %d records younger than an hour", n)
		}
		if n := must(b.s.PruneAlertLog(b.ctx, time.Millisecond, 2))(t); n != 2 {
			t.Fatalf("PruneAlertLog pruned %d, want a batch of 2", n)
		}
		if n := must(b.s.PruneAlertLog(b.ctx, time.Millisecond, 10))(t); n != 2 {
			t.Fatalf("PruneAlertLog pruned %d, want the last 2", n)
		}
		if left := list(store.AlertQuery{}, nil, 10); len(left) != 3 {
			t.Fatalf("after pruning %d alerts are listed, want the 3 pending", len(left))
		}
	})
}

// alertIDs are the alerts' ids, in order.
func alertIDs(alerts []store.AlertDelivery) []uuid.UUID {
	ids := make([]uuid.UUID, len(alerts))
	for i, a := range alerts {
		ids[i] = a.ID
	}
	return ids
}
