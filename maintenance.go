package sluice

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/store"
)

// rescueBatch bounds how many expired leases one rescue transaction handles.
const rescueBatch = 1000

// heartbeat renews the leases of every attempt between claim and applied outcome, every
// HeartbeatInterval and at once when a cancel notice arrives. An attempt whose lease is found
// gone has its context cancelled and leaves the set the heartbeat renews: the job is someone
// else's now, and a lost lease never comes back, however long a handler that ignores its
// context keeps running. An attempt whose job an operator asked to cancel has its context
// cancelled with ErrCancelRequested and stays in the set until its outcome is applied.
func (e *engine) heartbeat(ctx context.Context) {
	t := time.NewTicker(e.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.renewNow:
		}
		leases := e.running.leases()
		if len(leases) == 0 {
			continue
		}
		e.leaseWrites.Lock()
		renewal, err := e.st.ExtendLeases(ctx, leases, e.cfg.LeaseDuration)
		e.leaseWrites.Unlock()
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("sluice: renewing leases failed; will retry", "leases", len(leases), "error", err)
			}
			continue
		}
		heldSet := make(map[uuid.UUID]bool, len(renewal.Held))
		for _, id := range renewal.Held {
			heldSet[id] = true
		}
		cancelSet := make(map[uuid.UUID]bool, len(renewal.CancelRequested))
		for _, id := range renewal.CancelRequested {
			cancelSet[id] = true
		}
		for _, l := range leases {
			a := e.running.get(l)
			if a == nil || a.finished.Load() {
				continue // finished between the snapshot and the renewal
			}
			switch {
			case !heldSet[l.JobID]:
				a.cancel(errLeaseLost)
				e.running.remove(a)
				e.log.Warn("sluice: lease lost; cancelling the attempt", jobAttrs(&a.job)...)
			case cancelSet[l.JobID] && a.cancelRequested.CompareAndSwap(false, true):
				a.cancel(ErrCancelRequested)
				e.log.Info("sluice: an operator asked to cancel the job; cancelling the attempt", jobAttrs(&a.job)...)
			}
		}
	}
}

// notice acts on a notification: new jobs wake the producers, a cancel request the heartbeat.
func (e *engine) notice(n store.Notice) {
	switch n {
	case store.NoticeJobs:
		e.wakeAll()
	case store.NoticeCancel:
		select {
		case e.renewNow <- struct{}{}:
		default:
		}
	}
}

// rescuer periodically turns expired leases (of any worker) into failed attempts.
func (e *engine) rescuer(ctx context.Context) {
	t := time.NewTicker(e.cfg.RescueInterval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			// Some jobs may be rescued even when others fail: report both.
			res, err := e.st.RescueExpired(ctx, rescueBatch)
			if err != nil && ctx.Err() == nil {
				e.log.Warn("sluice: rescuing expired leases failed; will retry", "error", err)
			}
			if res.Total() > 0 {
				e.log.Warn("sluice: rescued jobs whose lease expired",
					"retried", res.Retried, "dead_lettered", res.DeadLettered, "cancelled", res.Cancelled)
				if e.cfg.Observer != nil {
					e.cfg.Observer.LeasesRescued(res.Retried, res.DeadLettered, res.Cancelled)
				}
			}
			if res.Retried > 0 {
				e.wakeAll()
			}
			if err != nil || res.Total() < rescueBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// listener keeps a notification subscription open, reconnecting with backoff. Polling finds
// every job anyway; notifications only make it sooner.
func (e *engine) listener(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		started := clock.Now()
		e.log.Debug("sluice: listening for job notifications")
		err := e.st.ListenForJobs(ctx, e.notice)
		if ctx.Err() != nil {
			return
		}
		if clock.Since(started) > maxBackoff {
			backoff = minBackoff
		}
		e.log.Warn("sluice: job notifications lost; polling until they are back", "error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}
