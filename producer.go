package sluice

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/store"
)

// maxClaim bounds how many jobs one claim query takes; claimers is how many claims of one
// queue may be in flight at once; prefetch is how many jobs per handler slot a queue may
// hold (running, or claimed and waiting for a slot) while its jobs are quick, that is while
// their handlers take under quickJob on average.
const (
	maxClaim = 1000
	claimers = 2
	prefetch = 4
	quickJob = 5 * time.Millisecond
)

// claimTimeout bounds one claim query. Claims are not cancelled by Stop: a claim cut off
// after it committed would leave its jobs to be rescued, costing each an attempt.
const claimTimeout = 30 * time.Second

// producer claims jobs of one queue whenever it can hold more and is woken: by a
// notification, by this client's own enqueue, by a slot freeing while the queue has a
// backlog, or by the poll timer. At most limit handlers run at once. While the queue's jobs
// are quick, the producer holds up to prefetch times that many, so that a claim brings
// enough work to keep the slots busy until the next one returns: a claim is a round trip, a
// quick handler far less. Slow jobs are not claimed ahead: they would wait here while
// another worker could run them. Jobs waiting for a handler hold their lease like running
// ones and are given back unstarted when the client stops. Several claimers each claim at
// most their share at a time, so one claim's round trip overlaps another's. The handlers run
// on limit long-lived goroutines fed by the ready channel, so that a job does not pay for a
// new goroutine and its stack growing again.
type producer struct {
	e       *engine
	queue   string
	types   []string
	limit   int           // handlers at once
	ready   chan *attempt // claimed jobs waiting for a handler goroutine
	held    atomic.Int64  // jobs held: running, waiting for a slot, or being claimed
	avgRun  atomic.Int64  // moving average of handler run time, in nanoseconds
	backlog atomic.Bool   // the last claim filled its share: more may be due
	rounds  atomic.Uint64 // claims made, which turn the apps' order in a shared claim
	wakes   [claimers]chan struct{}
	idle    [claimers]atomic.Bool // the claimer waits for a wake-up
	stop    <-chan struct{}       // closed when the client stops claiming
}

func newProducer(e *engine, queue string, types []string, limit int) *producer {
	// held never exceeds limit*prefetch, so sending to ready never blocks.
	p := &producer{e: e, queue: queue, types: types, limit: limit, ready: make(chan *attempt, limit*prefetch)}
	p.avgRun.Store(int64(quickJob)) // not known to be quick until some have run
	for i := range p.wakes {
		p.wakes[i] = make(chan struct{}, 1)
	}
	return p
}

// signal wakes one waiting claimer, or — when none waits — every claimer, each to look once
// more when its claim returns. A claim that fills its share signals again, so a backlog
// brings in the others; a single job costs one claim, not one per claimer.
func (p *producer) signal() {
	for i, w := range p.wakes {
		if p.idle[i].Load() {
			select {
			case w <- struct{}{}:
			default: // already woken
			}
			return
		}
	}
	for _, w := range p.wakes {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// run runs the claimers until ctx ends, and starts the handler goroutines (counted in
// handlers), which end when ctx ends and their handler has returned. Jobs still waiting for
// a handler when ctx ends are given back.
func (p *producer) run(ctx context.Context, handlers *sync.WaitGroup) {
	p.stop = ctx.Done()
	for range p.limit {
		handlers.Go(p.work)
	}
	var wg sync.WaitGroup
	for i := range p.wakes {
		wg.Go(func() { p.claimer(ctx, i) })
	}
	wg.Wait()
	for {
		select {
		case a := <-p.ready:
			p.e.giveBack(p, a)
		default:
			return
		}
	}
}

// work runs claimed jobs' handlers, one at a time, until the producer stops.
func (p *producer) work() {
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		select {
		case a := <-p.ready:
			p.e.execute(p, a)
		case <-p.stop:
			return
		}
	}
}

// claimer i claims whenever it is woken or its poll timer fires.
func (p *producer) claimer(ctx context.Context, i int) {
	poll := time.NewTicker(p.e.cfg.PollInterval)
	defer poll.Stop()
	for {
		p.claimLoop(ctx)
		p.idle[i].Store(true)
		select {
		case <-ctx.Done():
			return
		case <-p.wakes[i]:
		case <-poll.C:
		}
		p.idle[i].Store(false)
	}
}

// claimLoop claims, a share at a time, until the producer holds all it may or the queue has
// nothing due.
func (p *producer) claimLoop(ctx context.Context) {
	share := min(max(1, p.limit*prefetch/claimers), maxClaim)
	for ctx.Err() == nil {
		n := p.reserve(share)
		if n == 0 {
			return
		}
		token := newID()
		claimCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
		jobs, err := p.e.st.ClaimJobs(claimCtx, store.ClaimParams{
			Queue: p.queue, Types: p.types, Limit: n,
			LeaseToken: token, LeaseDuration: p.e.cfg.LeaseDuration, Round: p.rounds.Add(1),
		})
		cancel()
		p.held.Add(int64(len(jobs) - n)) // give back what the claim did not fill
		if err != nil {
			p.e.log.Warn("sluice: claiming jobs failed; will retry", "queue", p.queue, "error", err)
			return
		}
		p.backlog.Store(len(jobs) == n)
		if ctx.Err() != nil {
			p.held.Add(-int64(len(jobs)))
			p.e.releaseUnstarted(jobs, token)
			return
		}
		for i := range jobs {
			p.e.begin(p, jobs[i], token)
		}
		if len(jobs) < n {
			return
		}
		p.signal() // a full share: there may be more, for a waiting claimer to take too
	}
}

// reserve takes up to n of the jobs the producer may still hold, and returns how many.
func (p *producer) reserve(n int) int {
	for {
		held := p.held.Load()
		free := int64(p.holdLimit()) - held
		if free <= 0 {
			return 0
		}
		take := min(int64(n), free)
		if p.held.CompareAndSwap(held, held+take) {
			return int(take)
		}
	}
}

// holdLimit is how many jobs the producer may hold now.
func (p *producer) holdLimit() int {
	if time.Duration(p.avgRun.Load()) < quickJob {
		return p.limit * prefetch
	}
	return p.limit
}

// done is called when a held job no longer needs the producer: its handler returned after
// running for ran, or it was given back unstarted (ran < 0).
func (p *producer) done(ran time.Duration) {
	if ran >= 0 {
		avg := p.avgRun.Load()
		p.avgRun.Store(avg + (int64(ran)-avg)/8) // a lost update under contention is harmless
	}
	p.held.Add(-1)
	if p.backlog.Load() {
		p.signal()
	}
}
