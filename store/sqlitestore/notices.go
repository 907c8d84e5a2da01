package sqlitestore

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/sluicehq/sluice/store"
)

// notices carries store.Notice between the Stores one process has open on the same file:
// SQLite has no notifications between processes, but a cancel asked for in `sluice serve`
// reaches the workers of its own process at once. Other processes learn of it at their next
// lease renewal, of new jobs at their next poll.
var notices sync.Map // file path → *noticeHub

// noticeHub fans notices out to the listeners of one file.
type noticeHub struct {
	mu        sync.Mutex
	listeners map[*noticeListener]struct{}
}

// noticeListener holds at most one pending notice of each kind: they are hints, so repeats
// fold into one.
type noticeListener struct {
	jobs, cancel chan struct{}
}

func hubFor(path string) *noticeHub {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	h, _ := notices.LoadOrStore(path, &noticeHub{listeners: map[*noticeListener]struct{}{}})
	return h.(*noticeHub)
}

// publish tells every listener of the store's file; it never blocks.
func (s *Store) publish(n store.Notice) {
	h := hubFor(s.path)
	h.mu.Lock()
	defer h.mu.Unlock()
	for l := range h.listeners {
		ch := l.jobs
		if n == store.NoticeCancel {
			ch = l.cancel
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// ListenForJobs calls wake for the notices of this process's Stores on the same file until
// ctx ends, and returns nil.
func (s *Store) ListenForJobs(ctx context.Context, wake func(store.Notice)) error {
	h := hubFor(s.path)
	l := &noticeListener{jobs: make(chan struct{}, 1), cancel: make(chan struct{}, 1)}
	h.mu.Lock()
	h.listeners[l] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.listeners, l)
		h.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.jobs:
			wake(store.NoticeJobs)
		case <-l.cancel:
			wake(store.NoticeCancel)
		}
	}
}
