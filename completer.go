package sluice

import (
	"context"
	"sync"
	"time"

	"github.com/sluicehq/sluice/store"
)

// Completer tuning: how many outcomes one round trip applies, how long the completer waits
// for more once it has one, how many round trips run at once, and how often a failed write
// is tried again before the job is left to its lease. Fewer, larger transactions are what
// PostgreSQL does fastest (measured: one writer lingering 2 ms beats two or four writers
// without it by 5-15% in a drain).
const (
	maxFinishBatch   = 1000
	finishLinger     = 2 * time.Millisecond
	completerWorkers = 1
	finishTries      = 5
	finishTimeout    = 30 * time.Second
)

// completer applies attempts' outcomes in batches: it writes what arrived within a couple of
// milliseconds of the first outcome in one round trip, so under load many share it. Every
// outcome is fenced by its lease in the store, so a retried write after a partial failure
// cannot apply twice.
type completer struct {
	e    *engine
	in   chan queuedFinish
	mu   sync.RWMutex // guards closed against submit racing stop
	done bool
	wg   sync.WaitGroup
}

type queuedFinish struct {
	a     *attempt
	f     store.Finish
	tries int
}

func newCompleter(e *engine) *completer {
	return &completer{e: e, in: make(chan queuedFinish, maxFinishBatch)}
}

func (c *completer) start() {
	for range completerWorkers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.run()
		}()
	}
}

// submit queues an outcome. After stop, the outcome is dropped and the job is left to its
// lease.
func (c *completer) submit(a *attempt, f store.Finish) {
	c.enqueue(queuedFinish{a: a, f: f})
}

func (c *completer) enqueue(q queuedFinish) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.done {
		c.e.running.remove(q.a)
		return
	}
	c.in <- q
}

// stop applies what is queued and returns once it is written.
func (c *completer) stop() {
	c.mu.Lock()
	c.done = true
	close(c.in)
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *completer) run() {
	batch := make([]queuedFinish, 0, maxFinishBatch)
	for q := range c.in {
		batch = append(batch[:0], q)
		linger := time.NewTimer(finishLinger)
	drain:
		for len(batch) < maxFinishBatch {
			select {
			case q, ok := <-c.in:
				if !ok {
					break drain
				}
				batch = append(batch, q)
			case <-linger.C:
				break drain
			}
		}
		linger.Stop()
		c.flush(batch)
	}
}

func (c *completer) flush(batch []queuedFinish) {
	finishes := make([]store.Finish, len(batch))
	for i, q := range batch {
		finishes[i] = q.f
	}
	ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
	c.e.leaseWrites.Lock()
	applied, err := c.e.st.FinishJobs(ctx, finishes)
	c.e.leaseWrites.Unlock()
	cancel()
	for i, q := range batch {
		ok := applied != nil && applied[i]
		if !ok && err != nil && q.tries+1 < finishTries {
			// Unknown whether this one failed or was fenced; a retry is harmless either way.
			q.tries++
			c.retryLater(q, err)
			continue
		}
		if ok && (q.f.Outcome == store.OutcomeRetry || q.f.Outcome == store.OutcomeSnooze) {
			c.e.wakeAfter(q.a.job.Queue, q.f.Delay)
		}
		switch {
		case ok && q.f.Outcome == store.OutcomeDeadLetter:
			c.e.log.Warn("sluice: job dead-lettered", jobAttrs(&q.a.job, "error", q.f.Error)...)
		case !ok && err == nil:
			c.e.log.Warn("sluice: outcome not applied: the lease was lost before it was written",
				jobAttrs(&q.a.job, "outcome", q.f.Outcome)...)
		case !ok:
			c.e.log.Error("sluice: giving up writing an outcome; the job stays until its lease expires and it is rescued",
				jobAttrs(&q.a.job, "outcome", q.f.Outcome, "error", err)...)
		}
		c.e.running.remove(q.a)
	}
}

// retryLater queues a failed write again after a backoff, while its lease is still renewed.
func (c *completer) retryLater(q queuedFinish, err error) {
	delay := time.Duration(100<<q.tries) * time.Millisecond
	c.e.log.Warn("sluice: writing an outcome failed; retrying",
		jobAttrs(&q.a.job, "outcome", q.f.Outcome, "try", q.tries, "retry_in", delay, "error", err)...)
	time.AfterFunc(delay, func() { c.enqueue(q) })
}
