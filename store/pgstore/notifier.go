package pgstore

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// notifyWindow is the least time between two notifications the store sends itself.
const notifyWindow = time.Millisecond

// notifier sends the store's "jobs are ready" notification outside the transactions that
// made the jobs ready, at most once per notifyWindow. PostgreSQL serialises the commits of all
// transactions that NOTIFY (each holds the notification queue's lock through its commit), so
// a NOTIFY inside every enqueue would let only one enqueue commit at a time. A burst of kicks
// instead becomes one notification now and one at the end of the window: every listener
// still hears of every job made ready, within a millisecond of its commit.
type notifier struct {
	pool    *pgxpool.Pool
	channel string
	kicks   chan struct{}
	stop    chan struct{}
	stopped sync.Once
	done    sync.WaitGroup
}

func newNotifier(pool *pgxpool.Pool, channel string) *notifier {
	n := &notifier{pool: pool, channel: channel, kicks: make(chan struct{}, 1), stop: make(chan struct{})}
	n.done.Add(1)
	go n.run()
	return n
}

// kick asks for a notification soon; it never blocks.
func (n *notifier) kick() {
	select {
	case n.kicks <- struct{}{}:
	default:
	}
}

func (n *notifier) run() {
	defer n.done.Done()
	for {
		select {
		case <-n.stop:
			return
		case <-n.kicks:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// A lost notification costs only latency: workers poll.
		_, _ = n.pool.Exec(ctx, q.Get("NotifyJobs"), n.channel)
		cancel()
		select {
		case <-n.stop:
			return
		case <-time.After(notifyWindow):
		}
	}
}

// close stops the notifier; kicks after it are ignored. Closing it again does nothing.
func (n *notifier) close() {
	n.stopped.Do(func() { close(n.stop) })
	n.done.Wait()
}
