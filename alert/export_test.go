package alert

import "time"

// SetLease shortens an alerter's lease, so that a test can play an alerter frozen in the
// middle of a delivery without waiting minutes for its lease to expire.
func SetLease(a *Alerter, d time.Duration) { a.lease = d }
