package sluice

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/store"
)

// maxClaim bounds how many jobs one claim query takes.
const maxClaim = 1000

// claimTimeout bounds one claim query. Claims are not cancelled by Stop: a claim cut off
// after it committed would leave its jobs to be rescued, costing each an attempt.
const claimTimeout = 30 * time.Second

// producer claims jobs of one queue whenever it has free slots and is woken: by a
// notification, by this client's own enqueue, by a slot freeing while the queue has a
// backlog, or by the poll timer.
type producer struct {
	e       *engine
	queue   string
	types   []string
	limit   int
	running atomic.Int64
	backlog atomic.Bool // the last claim filled every free slot: more may be due
	wake    chan struct{}
}

func (p *producer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *producer) run(ctx context.Context) {
	poll := time.NewTicker(p.e.cfg.PollInterval)
	defer poll.Stop()
	for {
		p.fill(ctx)
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-poll.C:
		}
	}
}

// fill claims until the slots are full or the queue has nothing due.
func (p *producer) fill(ctx context.Context) {
	for ctx.Err() == nil {
		free := p.limit - int(p.running.Load())
		if free <= 0 {
			return
		}
		n := min(free, maxClaim)
		token := newID()
		claimCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
		jobs, err := p.e.st.ClaimJobs(claimCtx, store.ClaimParams{
			Queue: p.queue, Types: p.types, Limit: n,
			LeaseToken: token, LeaseDuration: p.e.cfg.LeaseDuration,
		})
		cancel()
		if err != nil {
			p.e.log.Warn("sluice: claiming jobs failed; will retry", "queue", p.queue, "error", err)
			return
		}
		p.backlog.Store(len(jobs) == n)
		if ctx.Err() != nil {
			p.e.releaseUnstarted(jobs, token)
			return
		}
		for i := range jobs {
			p.running.Add(1)
			p.e.begin(p, jobs[i], token)
		}
		if len(jobs) < n {
			return
		}
	}
}

// slotFreed is called when a handler returns.
func (p *producer) slotFreed() {
	p.running.Add(-1)
	if p.backlog.Load() {
		p.signal()
	}
}
