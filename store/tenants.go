package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Tenants is the lifecycle of apps and tokens beyond their creation: renaming an app, emptying
// it in bounded batches and deleting it, and rotating a token's secret.
type Tenants interface {
	// RenameApp gives the app a new name (its id, jobs, entries and tokens are unchanged) and
	// returns it, or ErrNotFound. A taken name is a *FieldError on "name" wrapping ErrConflict
	// (AppNameTaken). With audit set, the rename is recorded in the same transaction with
	// details {"from": old, "to": new}, replacing audit.Details.
	RenameApp(ctx context.Context, id uuid.UUID, name string, audit *Audit) (App, error)
	// AppHoldings counts what the app holds, or returns ErrNotFound.
	AppHoldings(ctx context.Context, id uuid.UUID) (AppHoldings, error)
	// PurgeAppBatch deletes, in one transaction, up to batch.Limit rows the app holds: its jobs
	// (whatever their state) first, then its dead-letter entries, its tokens and its retention
	// policies, oldest id first, skipping rows another transaction holds locked. It returns
	// what it deleted; nothing deleted means nothing is left that is not locked at the moment.
	// With batch.Audit set, the batch adds its count to the operation's audit row and its
	// counts by table to the row's details.deleted (see AddDeleted), in the same transaction. A running job deleted
	// here is fenced like a rescued one: its worker's later writes change nothing.
	PurgeAppBatch(ctx context.Context, id uuid.UUID, batch PurgeBatch) (AppRows, error)
	// DeleteApp deletes the app if it holds nothing, in one transaction that also removes
	// what refers to it without being held by it (revoked tokens, its failure-group alert
	// state and trim reports) and cancels its live replay operations. It returns ErrNotFound,
	// or an *AppNotEmptyError (wrapping ErrConflict) naming what the app still holds. No job,
	// entry or token of the app can be added while the check and the deletion run. With audit
	// set, the deletion adds 1 to the audit row in the same transaction, keeping the details
	// an earlier PurgeAppBatch of the operation wrote.
	DeleteApp(ctx context.Context, id uuid.UUID, audit *Audit) error

	// RotateToken replaces the secret of a token that is not revoked with rot.SecretHash,
	// keeping its id, name, scope, access and expiry, and returns it. With
	// rot.PreviousExpiresAt set, the secret it had keeps working until then; else it stops at
	// once, as does any earlier secret still in its grace. A revoked token is a *FieldError
	// on "id" wrapping ErrConflict; an unknown one ErrNotFound.
	RotateToken(ctx context.Context, id uuid.UUID, rot TokenRotation) (Token, error)
}

// TokenRotation is a token's new secret.
type TokenRotation struct {
	// SecretHash is the SHA-256 of the new secret.
	SecretHash []byte
	// PreviousExpiresAt, when set, is when the replaced secret stops working (the grace).
	PreviousExpiresAt *time.Time
}

// AppRows counts one app's rows by table: what PurgeAppBatch deleted.
type AppRows struct {
	Jobs              int64 `json:"jobs"`
	DeadJobs          int64 `json:"deadJobs"`
	Tokens            int64 `json:"tokens"`
	RetentionPolicies int64 `json:"retentionPolicies"`
}

// Total is the number of rows.
func (r AppRows) Total() int64 { return r.Jobs + r.DeadJobs + r.Tokens + r.RetentionPolicies }

// Add returns the sum of r and o.
func (r AppRows) Add(o AppRows) AppRows {
	return AppRows{Jobs: r.Jobs + o.Jobs, DeadJobs: r.DeadJobs + o.DeadJobs, Tokens: r.Tokens + o.Tokens,
		RetentionPolicies: r.RetentionPolicies + o.RetentionPolicies}
}

// AppHoldings is what an app holds: what stands in the way of deleting it.
type AppHoldings struct {
	PendingJobs int64 `json:"pendingJobs"`
	RunningJobs int64 `json:"runningJobs"`
	// FinishedJobs are completed and cancelled jobs that retention has not removed yet.
	FinishedJobs int64 `json:"finishedJobs"`
	// DeadJobs are un-replayed dead-letter entries, ReplayedDeadJobs replayed ones.
	DeadJobs         int64 `json:"deadJobs"`
	ReplayedDeadJobs int64 `json:"replayedDeadJobs"`
	// Tokens are the app's tokens that are not revoked (expired ones included).
	Tokens            int64 `json:"tokens"`
	RetentionPolicies int64 `json:"retentionPolicies"`
	// Schedules and Pauses are the app's periodic schedules and its pauses: settings, not
	// work, so they do not stand in the way of DeleteApp; they go with the app.
	Schedules int64 `json:"schedules"`
	Pauses    int64 `json:"pauses"`
}

// Empty reports whether the app holds nothing that stands in the way of deleting it.
func (h AppHoldings) Empty() bool {
	h.Schedules, h.Pauses = 0, 0
	return h == AppHoldings{}
}

// String lists what is held, like "3 pending jobs, 1 dead-letter entry"; "nothing" when empty.
func (h AppHoldings) String() string {
	var parts []string
	add := func(n int64, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(h.PendingJobs, "pending job", "pending jobs")
	add(h.RunningJobs, "running job", "running jobs")
	add(h.FinishedJobs, "completed or cancelled job", "completed or cancelled jobs")
	add(h.DeadJobs, "un-replayed dead-letter entry", "un-replayed dead-letter entries")
	add(h.ReplayedDeadJobs, "replayed dead-letter entry", "replayed dead-letter entries")
	add(h.Tokens, "token that is not revoked", "tokens that are not revoked")
	add(h.RetentionPolicies, "retention policy", "retention policies")
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// AppNotEmptyError is DeleteApp's refusal: the app still holds something. It wraps
// ErrConflict.
type AppNotEmptyError struct {
	AppID    uuid.UUID
	Holdings AppHoldings
}

// Error lists what the app holds.
func (e *AppNotEmptyError) Error() string {
	return "the app still holds " + e.Holdings.String() + "; remove them first, or purge the app"
}

// Unwrap returns ErrConflict.
func (e *AppNotEmptyError) Unwrap() error { return ErrConflict }

// TokenRevoked is RotateToken's error for a revoked token.
func TokenRevoked() error {
	return &FieldError{Field: "id", Message: "the token is revoked: make a new one", Err: ErrConflict}
}

// AddDeleted returns the audit details of an app purge after a transaction that deleted rows:
// the row's details so far (prev; nil for a new row, which starts from base, a JSON object)
// with "deleted" holding the operation's totals by table, rows added.
func AddDeleted(prev, base json.RawMessage, rows AppRows) (json.RawMessage, error) {
	from := prev
	if len(from) == 0 {
		from = base
	}
	details := map[string]json.RawMessage{}
	if len(from) > 0 {
		if err := json.Unmarshal(from, &details); err != nil {
			return nil, fmt.Errorf("audit details: %w", err)
		}
	}
	var total AppRows
	if d, ok := details["deleted"]; ok {
		if err := json.Unmarshal(d, &total); err != nil {
			return nil, fmt.Errorf("audit details: deleted: %w", err)
		}
	}
	deleted, err := json.Marshal(total.Add(rows))
	if err != nil {
		return nil, err
	}
	details["deleted"] = deleted
	return json.Marshal(details)
}
