package sluice

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/store"
)

// maxClaim bounds how many jobs one claim query takes; claimers is how many claims of one
// queue may be in flight at once.
const (
	maxClaim = 1000
	claimers = 2
)

// claimTimeout bounds one claim query. Claims are not cancelled by Stop: a claim cut off
// after it committed would leave its jobs to be rescued, costing each an attempt.
const claimTimeout = 30 * time.Second

// producer claims jobs of one queue whenever it has free slots and is woken: by a
// notification, by this client's own enqueue, by a slot freeing while the queue has a
// backlog, or by the poll timer. It runs several claimers, each claiming at most its share of
// the slots at a time: while one claim is on its way to the database and back, the jobs
// another brought are already running, so the slots do not sit idle for a round trip after
// every claim.
type producer struct {
	e       *engine
	queue   string
	types   []string
	limit   int
	running atomic.Int64 // slots in use: running handlers and claims in flight
	backlog atomic.Bool  // the last claim filled its share: more may be due
	wakes   [claimers]chan struct{}
}

func newProducer(e *engine, queue string, types []string, limit int) *producer {
	p := &producer{e: e, queue: queue, types: types, limit: limit}
	for i := range p.wakes {
		p.wakes[i] = make(chan struct{}, 1)
	}
	return p
}

// signal wakes every claimer.
func (p *producer) signal() {
	for _, w := range p.wakes {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// run runs the claimers until ctx ends.
func (p *producer) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, wake := range p.wakes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.claimer(ctx, wake)
		}()
	}
	wg.Wait()
}

func (p *producer) claimer(ctx context.Context, wake <-chan struct{}) {
	poll := time.NewTicker(p.e.cfg.PollInterval)
	defer poll.Stop()
	for {
		p.claimLoop(ctx)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
	}
}

// claimLoop claims, a share of the slots at a time, until the slots are full or the queue
// has nothing due.
func (p *producer) claimLoop(ctx context.Context) {
	share := min(max(1, p.limit/claimers), maxClaim)
	for ctx.Err() == nil {
		n := p.reserve(share)
		if n == 0 {
			return
		}
		token := newID()
		claimCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
		jobs, err := p.e.st.ClaimJobs(claimCtx, store.ClaimParams{
			Queue: p.queue, Types: p.types, Limit: n,
			LeaseToken: token, LeaseDuration: p.e.cfg.LeaseDuration,
		})
		cancel()
		p.running.Add(int64(len(jobs) - n)) // give back the slots the claim did not fill
		if err != nil {
			p.e.log.Warn("sluice: claiming jobs failed; will retry", "queue", p.queue, "error", err)
			return
		}
		p.backlog.Store(len(jobs) == n)
		if ctx.Err() != nil {
			p.running.Add(-int64(len(jobs)))
			p.e.releaseUnstarted(jobs, token)
			return
		}
		for i := range jobs {
			p.e.begin(p, jobs[i], token)
		}
		if len(jobs) < n {
			return
		}
	}
}

// reserve takes up to n free slots for a claim and returns how many it took.
func (p *producer) reserve(n int) int {
	for {
		running := p.running.Load()
		free := int64(p.limit) - running
		if free <= 0 {
			return 0
		}
		take := min(int64(n), free)
		if p.running.CompareAndSwap(running, running+take) {
			return int(take)
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
