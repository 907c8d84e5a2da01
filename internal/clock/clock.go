// Package clock is the engine's and the stores' only reader of the local wall clock.
//
// Every decision the engine makes about time — is a job due, has a lease expired, when did
// an attempt fail, when is a retry due — is made by the database clock, in SQL. What Go itself
// reads is hints and measurements: whether a job just enqueued is due now (to wake a producer
// or send a notification at once), how long an attempt took (metrics), how long a listener
// stayed connected (its reconnect backoff), when migrations were applied (for display). The one
// decision outside the engine that reads it is whether an API token has expired.
//
// This package exists so that tests can skew the local clock (Skew) in a worker process and
// prove that no decision depends on it: the engine and the stores read the time through Now
// and never through time.Now, and only tests call Skew.
package clock

import (
	"sync/atomic"
	"time"
)

// skew is added to every reading, in nanoseconds.
var skew atomic.Int64

// Now returns the local time, moved by the skew set with Skew. It keeps time.Now's monotonic
// reading, so durations between two readings (Since, Until) are unaffected by the skew.
func Now() time.Time { return time.Now().Add(time.Duration(skew.Load())) }

// Since returns the time elapsed since t, a reading of Now.
func Since(t time.Time) time.Duration { return Now().Sub(t) }

// Until returns the duration until t, by Now.
func Until(t time.Time) time.Duration { return t.Sub(Now()) }

// Skew moves every later reading of Now by d (negative: into the past). It is for tests: a
// process whose clock is wrong must behave exactly as one whose clock is right.
func Skew(d time.Duration) { skew.Store(int64(d)) }
