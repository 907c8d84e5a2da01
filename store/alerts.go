package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Alerts is the durable state of alerting (package alert), part of every Store.
//
// Every dead-letter entry, whichever path inserted it, is queued for its alert in the
// transaction that inserts it (a trigger on job_dlq writes its row in alert_outbox). An alerter
// leases pending alerts, delivers them, and acknowledges them, which removes them; a lease that
// expires (its alerter died) makes the alerts pending again. Alerts are therefore delivered at
// least once and never skipped, whatever order the entries' transactions commit in.
//
// A failure group's threshold alert is one row per group and crossing in alert_groups: claimed
// under a lease while the group holds at least the threshold of un-replayed entries, marked
// alerted once sent, and removed when the group falls below the threshold again.
type Alerts interface {
	// ClaimDeadAlerts leases up to Limit pending dead-letter alerts to Token for Lease, oldest
	// entry first, skipping those another alerter's lease holds, and returns their entries.
	ClaimDeadAlerts(ctx context.Context, claim AlertClaim) ([]DeadJob, error)
	// AckDeadAlerts removes the alerts of the entries in done that token still holds and
	// renews the lease of the rest token holds to lease from now (0 gives them back at once).
	// It returns how many of done it removed: fewer means their lease was lost to another
	// alerter, which will deliver them again.
	AckDeadAlerts(ctx context.Context, token uuid.UUID, done []uuid.UUID, lease time.Duration) (int, error)

	// ClaimGroupAlerts leases to Token, for Lease, the alerts of up to Limit failure groups
	// whose un-replayed entries number at least Threshold and that have not been alerted in
	// their current crossing (nor are held by another alerter's lease), the largest first.
	ClaimGroupAlerts(ctx context.Context, claim GroupAlertClaim) ([]GroupAlert, error)
	// AckGroupAlert marks the group's alert sent, if token still holds it, and reports
	// whether it did.
	AckGroupAlert(ctx context.Context, alert GroupAlert, token uuid.UUID) (bool, error)
	// RearmGroupAlerts forgets the alerts of the groups that now hold fewer than threshold
	// un-replayed entries (sent, or claimed under a lease that has expired), so that their next
	// crossing alerts again, and returns how many it forgot.
	RearmGroupAlerts(ctx context.Context, threshold int64) (int, error)
}

// AlertClaim is what an alerter asks ClaimDeadAlerts for.
type AlertClaim struct {
	Token uuid.UUID
	Limit int
	Lease time.Duration
}

// GroupAlertClaim is what an alerter asks ClaimGroupAlerts for.
type GroupAlertClaim struct {
	Threshold int64
	Token     uuid.UUID
	Limit     int
	Lease     time.Duration
}

// GroupAlert is one failure group's threshold crossing.
type GroupAlert struct {
	// ID names the crossing: the same for every delivery of its alert, new for the next one.
	ID        uuid.UUID
	AppID     uuid.UUID
	Type      string
	Signature string
	// Count is how many un-replayed entries the group held when the alert was claimed.
	Count int64
}
