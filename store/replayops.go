package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrLeaseLost: the operation's lease is no longer the caller's (it expired and another
// process took it, or the operation was paused or cancelled). Nothing was changed.
var ErrLeaseLost = errors.New("replay operation lease lost")

// ErrOperationState: the operation is not in a state the change applies to (pausing one that
// is not running, resuming one that is not paused, cancelling one that has ended).
var ErrOperationState = errors.New("replay operation is not in that state")

// ReplayOps is the durable state of bulk replays run as operations, part of every Store.
//
// An operation is advanced in batches by ReplayDeadBatch with ReplayBatch.Op set: the batch's
// transaction first checks that the caller still holds the operation's lease and that the
// operation is running (locking its row, so nothing else changes it meanwhile), takes the
// entries below the operation's cursor, replays them, and advances the cursor and counts and
// renews the lease in the same transaction. A process that lost the lease therefore changes
// nothing, and no entry is taken by two batches.
type ReplayOps interface {
	// CreateReplayOp records a new running operation (ID, filter, Through, options and
	// CreatedBy from op; status, counts and times from the database), with the audit row of
	// its start in the same transaction when audit is set.
	CreateReplayOp(ctx context.Context, op ReplayOp, audit *Audit) (ReplayOp, error)
	// GetReplayOp returns the operation, or ErrNotFound.
	GetReplayOp(ctx context.Context, id uuid.UUID) (ReplayOp, error)
	// ListReplayOps returns operations (of one app, when appID is set), newest first, below
	// the page's cursor id.
	ListReplayOps(ctx context.Context, appID *uuid.UUID, page Page) ([]ReplayOp, error)
	// SetReplayOpStatus moves the operation from one of the states in from to to, giving up
	// its lease (so a batch in flight elsewhere is fenced off: it waits for this change and
	// then finds the lease gone), with the audit row in the same transaction when set. It
	// returns ErrNotFound, or ErrOperationState when the operation is in none of from.
	SetReplayOpStatus(ctx context.Context, id uuid.UUID, from []ReplayStatus, to ReplayStatus, audit *Audit) (ReplayOp, error)
	// ClaimReplayOp gives token, for lease from now, a running operation whose lease is free
	// or expired: the one named by id when set, else the oldest. It reports false when there
	// is none.
	ClaimReplayOp(ctx context.Context, id *uuid.UUID, token uuid.UUID, lease time.Duration) (ReplayOp, bool, error)
	// ReleaseReplayOp gives the lease back (when token still holds it), so that another
	// process may take the operation at once.
	ReleaseReplayOp(ctx context.Context, id, token uuid.UUID) error
	// CountReplayOps counts the operations in each state (states with none are absent).
	CountReplayOps(ctx context.Context) (map[ReplayStatus]int64, error)
}

// ReplayStatus is the state of a replay operation.
type ReplayStatus string

// The states of a replay operation.
const (
	// ReplayRunning: batches are being replayed, or will be by the next process to take it.
	ReplayRunning ReplayStatus = "running"
	// ReplayPaused: no batch runs until it is resumed.
	ReplayPaused ReplayStatus = "paused"
	// ReplayCancelled: stopped for good; what was replayed stays replayed.
	ReplayCancelled ReplayStatus = "cancelled"
	// ReplayDone: every matching entry was handled.
	ReplayDone ReplayStatus = "done"
	// ReplayFailed: stopped for good by an error a retry cannot fix. Reserved: no Sluice
	// sets it yet; a batch that fails is retried by whichever process takes the operation next.
	ReplayFailed ReplayStatus = "failed"
)

// Ended reports whether the status is final (cancelled, done or failed).
func (s ReplayStatus) Ended() bool {
	return s == ReplayCancelled || s == ReplayDone || s == ReplayFailed
}

// ReplayOp is a bulk replay recorded as an operation.
type ReplayOp struct {
	ID uuid.UUID `json:"id"`
	// The filter, and Through: the newest entry when the operation began. Entries
	// dead-lettered later are not part of it.
	AppID         *uuid.UUID `json:"appId,omitempty"`
	Type          string     `json:"type,omitempty"`
	FailedAfter   *time.Time `json:"failedAfter,omitempty"`
	FailedBefore  *time.Time `json:"failedBefore,omitempty"`
	ErrorContains string     `json:"errorContains,omitempty"`
	Group         string     `json:"group,omitempty"`
	Tag           string     `json:"tag,omitempty"`
	Through       uuid.UUID  `json:"through"`
	// Attempts, when not 0, is the attempt budget (max_attempts) of every replayed job; 0
	// gives each the fresh budget it had (its own max_attempts, else its type's default).
	Attempts int `json:"attempts,omitempty"`
	// PayloadPatch, when set, is a JSON merge patch (RFC 7386) applied to every payload.
	PayloadPatch json.RawMessage `json:"payloadPatch,omitempty"`
	// IncludeLoops replays entries produced by a replay too; otherwise they are skipped.
	IncludeLoops bool `json:"includeLoops"`
	// Rate caps entries per second; 0 is no cap.
	Rate   float64      `json:"rate,omitempty"`
	Status ReplayStatus `json:"status"`
	// Matched counts the entries handled so far (replayed, failed or skipped); Replayed those
	// replayed; Failed those left un-replayed because a live job holds their unique key or
	// their patched payload is invalid; Skipped those produced by a replay (see IncludeLoops).
	Matched  int64 `json:"matched"`
	Replayed int64 `json:"replayed"`
	Failed   int64 `json:"failed"`
	Skipped  int64 `json:"skipped"`
	// Cursor is the lowest entry id handled: entries are taken newest first.
	Cursor *uuid.UUID `json:"cursor,omitempty"`
	// LastError says why entries failed or the operation did, if any did.
	LastError  string     `json:"lastError,omitempty"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// LeaseExpiresAt is when the lease of the process advancing it runs out, if one holds it.
	LeaseExpiresAt *time.Time `json:"leaseExpiresAt,omitempty"`
	LeaseToken     *uuid.UUID `json:"-"`
}

// Filter returns the operation's entry filter, bounded by Through.
func (o *ReplayOp) Filter() DeadFilter {
	through := o.Through
	return DeadFilter{AppID: o.AppID, Type: o.Type, FailedAfter: o.FailedAfter, FailedBefore: o.FailedBefore,
		ErrorContains: o.ErrorContains, Group: o.Group, Tag: o.Tag, Through: &through}
}

// ReplayOpLease fences a batch with an operation's lease.
type ReplayOpLease struct {
	ID    uuid.UUID
	Token uuid.UUID
	// Lease is how long from now the lease lasts after the batch.
	Lease time.Duration
}

// MaxPatchedPayload is the largest payload a payload patch may produce, in bytes of the
// store's own text of it (validate.MaxPayloadBytes: 1 MiB).
const MaxPatchedPayload = 1 << 20

// BatchNote says why a batch left entries un-replayed, or "" if it left none.
func BatchNote(r ReplayBatchResult) string {
	var parts []string
	if r.Conflicts > 0 {
		parts = append(parts, fmt.Sprintf("%d left un-replayed: a pending or running job of the app holds their unique key", r.Conflicts))
	}
	if r.Invalid > 0 {
		parts = append(parts, fmt.Sprintf("%d left un-replayed: the patched payload is larger than 1 MiB", r.Invalid))
	}
	return strings.Join(parts, "; ")
}
