package clock

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Fake is a clock that stands still until a test moves it (Set, Advance). Periodic schedules
// tick by the database clock; a test that installs a Fake with UseForTicks makes every client
// of the process tick by it instead, so that it can drive ticks without sleeping.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	changed chan struct{} // closed and replaced whenever now moves or a waiter arrives
	// waiting counts the waiters that read the current time and wait for a later one.
	waiting int
	gen     uint64 // counts Set calls
}

// NewFake returns a fake clock reading t.
func NewFake(t time.Time) *Fake { return &Fake{now: t, changed: make(chan struct{})} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Set moves the clock to t (backwards too) and wakes every waiter.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.gen++
	f.waiting = 0
	f.broadcast()
	f.mu.Unlock()
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

func (f *Fake) broadcast() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// WaitUntil blocks until the clock reads at or after t, or ctx ends, or wake is closed;
// readAt is the reading the caller based t on. While it waits with readAt equal to the
// current time it counts as idle for BlockUntilIdle: it has done all it had to do at that time.
func (f *Fake) WaitUntil(ctx context.Context, readAt, t time.Time, wake <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	counted, countedGen := false, uint64(0)
	for f.now.Before(t) && ctx.Err() == nil && !isClosed(wake) {
		if !counted && f.now.Equal(readAt) {
			counted, countedGen = true, f.gen
			f.waiting++
			f.broadcast()
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		case <-wake:
		}
		f.mu.Lock()
		if counted && f.gen != countedGen {
			counted = false // Set moved the clock and reset the count
		}
	}
	if counted {
		f.waiting--
		f.broadcast()
	}
}

// BlockUntilIdle blocks until n waiters wait for a time later than the current one having
// read the current time, or ctx ends (its error is returned).
func (f *Fake) BlockUntilIdle(ctx context.Context, n int) error {
	f.mu.Lock()
	for f.waiting < n {
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil
}

func isClosed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// ticks is the fake clock periodic schedules tick by, when a test installed one.
var ticks atomic.Pointer[Fake]

// UseForTicks makes the periodic schedules of every client in this process tick by f instead
// of the database clock; nil restores the database clock. It is for tests, and takes effect
// for clients started after the call.
func UseForTicks(f *Fake) { ticks.Store(f) }

// ForTicks returns the fake clock installed with UseForTicks, or nil.
func ForTicks() *Fake { return ticks.Load() }
