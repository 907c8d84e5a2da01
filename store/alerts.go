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
	// NoteAlertAttempt records a failed delivery attempt of an alert token holds (event
	// EventDeadLettered: the entry's pending alert; EventGroupThreshold: the crossing): one
	// more attempt, its error, and when the next comes (none when Retry is 0). It reports
	// whether token still held the alert.
	NoteAlertAttempt(ctx context.Context, token uuid.UUID, a AlertAttempt) (bool, error)
	// ListAlerts returns alerts newest first (by id) below the page's cursor: the pending
	// ones (queued dead-letter alerts, claimed crossings not yet sent) and those delivered or
	// given up on that the alert log still holds, as q selects.
	ListAlerts(ctx context.Context, q AlertQuery, page Page) ([]AlertDelivery, error)
	// AlertBacklog counts the pending alerts and says when the oldest was queued.
	AlertBacklog(ctx context.Context) (AlertBacklog, error)
	// PruneAlertLog deletes up to limit records of alerts delivered or given up on more
	// than olderThan ago, and returns how many it deleted.
	PruneAlertLog(ctx context.Context, olderThan time.Duration, limit int) (int, error)

	// ClaimDeadAlerts leases up to Limit pending dead-letter alerts to Token for Lease, oldest
	// entry first, skipping those another alerter's lease holds, and returns their entries.
	ClaimDeadAlerts(ctx context.Context, claim AlertClaim) ([]DeadJob, error)
	// AckDeadAlerts removes the alerts of the entries in done that token still holds,
	// recording each in the alert log (delivered, or failed when it gave up) in the same
	// statement, and renews the lease of the rest token holds to lease from now (0 gives them
	// back at once). It returns how many of done it removed: fewer means their lease was lost
	// to another alerter, which will deliver them again.
	AckDeadAlerts(ctx context.Context, token uuid.UUID, done []AlertAck, lease time.Duration) (int, error)

	// ClaimGroupAlerts leases to Token, for Lease, the alerts of up to Limit failure groups
	// whose un-replayed entries number at least Threshold and that have not been alerted in
	// their current crossing (nor are held by another alerter's lease), the largest first.
	ClaimGroupAlerts(ctx context.Context, claim GroupAlertClaim) ([]GroupAlert, error)
	// AckGroupAlert marks the group's alert sent, if token still holds it, recording it in
	// the alert log as ack says (ack.ID is not used), and reports whether it did.
	AckGroupAlert(ctx context.Context, alert GroupAlert, token uuid.UUID, ack AlertAck) (bool, error)
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

// The events an alert reports (package alert re-exports them).
const (
	// AlertEventDeadLettered: a job was dead-lettered.
	AlertEventDeadLettered = "job.dead_lettered"
	// AlertEventGroupThreshold: a failure group reached the threshold.
	AlertEventGroupThreshold = "group.threshold"
)

// AlertAck is how the delivery of one alert ended.
type AlertAck struct {
	// ID is the entry whose dead-letter alert this is.
	ID uuid.UUID
	// GaveUp is set when some sink gave up on the alert: it is recorded as failed.
	GaveUp bool
	// Delivered counts the attempts that succeeded (one per sink that took the alert); the
	// failed ones were counted by NoteAlertAttempt.
	Delivered int
}

// AlertAttempt is one failed attempt to deliver an alert.
type AlertAttempt struct {
	// Event and ID name the alert: the entry's id for AlertEventDeadLettered, the crossing's
	// for AlertEventGroupThreshold.
	Event string
	ID    uuid.UUID
	// Error is what the attempt failed with (kept as the alert's last error).
	Error string
	// Retry is when the next attempt comes, from now; 0 when none does.
	Retry time.Duration
}

// AlertStatus is where an alert's delivery stands.
type AlertStatus string

// The statuses of an alert.
const (
	// AlertPending: not delivered yet (never tried, or failed and waiting to retry).
	AlertPending AlertStatus = "pending"
	// AlertDelivered: every sink took it.
	AlertDelivered AlertStatus = "delivered"
	// AlertFailed: a sink gave up on it after its retries (or an answer not worth retrying).
	AlertFailed AlertStatus = "failed"
)

// AlertStatuses are every status.
var AlertStatuses = []AlertStatus{AlertPending, AlertDelivered, AlertFailed}

// Valid reports whether s is one of the statuses.
func (s AlertStatus) Valid() bool {
	return s == AlertPending || s == AlertDelivered || s == AlertFailed
}

// AlertQuery selects alerts in ListAlerts. Zero fields match everything.
type AlertQuery struct {
	AppID  *uuid.UUID
	Status AlertStatus
}

// AlertDelivery is one alert and where its delivery stands.
type AlertDelivery struct {
	// ID is the alert's event id (the Sluice-Event-Id header): the entry's id for a
	// dead-letter alert, the crossing's id for a group alert.
	ID    uuid.UUID `json:"id"`
	Event string    `json:"event"`
	AppID uuid.UUID `json:"appId"`
	Type  string    `json:"type"`
	// Group is the failure group's signature (group alerts only).
	Group  string      `json:"group,omitempty"`
	Status AlertStatus `json:"status"`
	// Attempts counts the delivery attempts so far, over every sink.
	Attempts int `json:"attempts"`
	// LastError is the error of the last failed attempt, if any.
	LastError string `json:"lastError,omitempty"`
	// NextAttemptAt is when a pending alert's alerter tries again after a failed attempt.
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	// CreatedAt is when the alert was queued (the entry failed, or the crossing was found).
	CreatedAt time.Time `json:"createdAt"`
	// FinishedAt is when it was delivered or given up on.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// AlertBacklog is what AlertBacklog reports.
type AlertBacklog struct {
	// Pending counts the alerts not delivered yet.
	Pending int64
	// OldestPendingAt is when the oldest of them was queued; nil when none is.
	OldestPendingAt *time.Time
}
