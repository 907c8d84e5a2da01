package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Store is what a backend implements: one method per query family. Every method is safe for
// concurrent use. Input reaching a Store has already been validated by the sluice package
// (names, payloads, limits); a Store enforces what only the database can (foreign keys,
// uniqueness, fencing) and reports it with the errors of this package.
//
// All decisions about time (is a job due, has a lease expired, when did it fail) use the
// database clock.
type Store interface {
	// Backend names the backend: "postgres" or "sqlite".
	Backend() string
	// Close releases the store's connections.
	Close() error

	// MigrateUp applies every pending migration, under a lock so concurrent callers are safe.
	MigrateUp(ctx context.Context) ([]Migration, error)
	// MigrateDown undoes applied migrations down to version `to` (0 undoes all), newest first.
	MigrateDown(ctx context.Context, to int) ([]Migration, error)
	// MigrationStatus lists every known migration and whether it is applied.
	MigrationStatus(ctx context.Context) ([]Migration, error)

	// CreateApp inserts an app. A taken name is a *FieldError on "name" wrapping ErrConflict.
	CreateApp(ctx context.Context, app App) (App, error)
	// ListApps returns every app ordered by name.
	ListApps(ctx context.Context) ([]App, error)
	// GetApp returns the app with this id, or ErrNotFound.
	GetApp(ctx context.Context, id uuid.UUID) (App, error)
	// GetAppByName returns the app with this name, or ErrNotFound.
	GetAppByName(ctx context.Context, name string) (App, error)
	// SetAppLimits replaces the app's limits (zero fields: none) and refills its rate bucket,
	// returning the app, or ErrNotFound. The limits must be valid (validate.AppLimits).
	SetAppLimits(ctx context.Context, id uuid.UUID, limits AppLimits) (App, error)

	// InsertJobs inserts jobs in one round trip and returns one result per job, in order. A job
	// whose unique key matches a pending or running job of its app is not inserted: its result
	// holds the existing job with Duplicate set. An unknown app is a *FieldError on "app"
	// wrapping ErrNotFound, and nothing is inserted. With tx non-nil the insert runs inside that
	// transaction (a pgx.Tx on PostgreSQL, a *sql.Tx on SQLite; any other is ErrTxType).
	InsertJobs(ctx context.Context, tx ExternalTx, jobs []InsertJob) ([]InsertResult, error)
	// GetJob returns the job with this id, or ErrNotFound.
	GetJob(ctx context.Context, id uuid.UUID) (Job, error)
	// ListJobs returns jobs matching the filter, newest first (id descending), after the page's
	// cursor id.
	ListJobs(ctx context.Context, filter JobFilter, page Page) ([]Job, error)

	// ClaimJobs takes up to Limit due pending jobs of the given queue and types, in priority,
	// run_at, id order, skipping rows other workers hold. Each becomes running with attempts
	// incremented, the lease token and a lease of LeaseDuration from now.
	ClaimJobs(ctx context.Context, params ClaimParams) ([]Job, error)
	// ExtendLeases renews the leases still held and returns their job ids, and which of them an
	// operator asked to cancel; a lease missing from Held was lost (rescued, or the job changed
	// by someone else).
	ExtendLeases(ctx context.Context, leases []Lease, duration time.Duration) (LeaseRenewal, error)
	// FinishJobs applies the outcome of finished attempts, each fenced by its lease: an attempt
	// whose lease is no longer held changes nothing and reports false. Dead-lettering moves the
	// job and inserts its job_dlq entry in one transaction.
	FinishJobs(ctx context.Context, finishes []Finish) ([]bool, error)
	// RescueExpired turns up to limit running jobs whose lease expired into failed attempts: the
	// error history records the abandoned attempt; a job with attempts left becomes pending and
	// due now, one without is dead-lettered. A job that cannot be rescued (its dead-letter
	// insert refused, say) holds back none of the others: the result counts those rescued, and
	// the error names the jobs that were not, which stay running until a later call.
	RescueExpired(ctx context.Context, limit int) (RescueResult, error)
	// ListenForJobs calls wake whenever another connection makes a job ready (NoticeJobs) or
	// asks to cancel a running job (NoticeCancel) — PostgreSQL LISTEN/NOTIFY — until ctx ends
	// or the connection fails. Notifications are hints only: polling and lease renewal find
	// the same. A backend without cross-process notifications blocks until ctx ends and
	// returns nil.
	ListenForJobs(ctx context.Context, wake func(Notice)) error

	// ListDead returns entries matching the filter, newest first (id descending), after the
	// page's cursor id.
	ListDead(ctx context.Context, filter DeadFilter, page Page) ([]DeadJob, error)
	// CountDead counts entries matching the filter.
	CountDead(ctx context.Context, filter DeadFilter) (int64, error)
	// GetDead returns the entry with this id, or ErrNotFound.
	GetDead(ctx context.Context, id uuid.UUID) (DeadJob, error)
	// ReplayDead atomically marks the entry replayed and inserts its new job (fresh id,
	// attempts 0, linked back to the entry). It returns ErrNotFound, ErrAlreadyReplayed (also to
	// the losers of a race), or ErrConflict when the job's unique key is held by a live job, in
	// which case the entry stays un-replayed.
	ReplayDead(ctx context.Context, params ReplayParams) (Job, error)
	// ReplayDeadBatch replays up to Limit un-replayed entries matching the filter whose ids lie
	// in the batch's window, newest first, in one transaction. Entries whose unique key is held
	// by a live job are skipped and counted as conflicts; with PayloadPatch, entries whose
	// patched payload is invalid (over 1 MiB) are skipped and counted as Invalid; with
	// SkipLoops, entries produced by a replay are skipped and counted as Loops. With Op set
	// the batch is fenced by the operation's lease and advances it (see ReplayOps): it returns
	// ErrLeaseLost and changes nothing when the lease is not the caller's or the operation is
	// not running.
	ReplayDeadBatch(ctx context.Context, filter DeadFilter, batch ReplayBatch) (ReplayBatchResult, error)
	// DeleteDead deletes one entry, replayed or not, or returns ErrNotFound. With audit set, the
	// deletion is recorded in the audit log in the same transaction.
	DeleteDead(ctx context.Context, id uuid.UUID, audit *Audit) error
	// Stats counts jobs by state and un-replayed dead-letter entries, per app and job type,
	// ordered by app id then type.
	Stats(ctx context.Context) ([]TypeStats, error)
	// DeadGroups returns the failure groups of the un-replayed entries matching the filter
	// (whose IncludeReplayed, ReplayedOnly and Through are ignored): per app, type and error
	// signature, the most entries first, then the latest failure, then app id, type and
	// signature in byte order; at most limit groups.
	DeadGroups(ctx context.Context, filter DeadFilter, limit int) ([]FailureGroup, error)
	// DeadGroupsByKey returns the same failure groups (and the same of each group) in key
	// order instead: app id, type and signature, each in byte order ("unknown" sorts after
	// every hex signature), only the groups whose key is above after when it is set; at most
	// limit groups. Walking on from the last group's key yields every group exactly once.
	DeadGroupsByKey(ctx context.Context, filter DeadFilter, after *GroupKey, limit int) ([]FailureGroup, error)

	// PurgeDeadBatch deletes up to batch.Limit entries matching the filter in one transaction
	// (adding their count to batch.Audit's row, when set) and returns how many it deleted.
	PurgeDeadBatch(ctx context.Context, filter DeadFilter, batch PurgeBatch) (int, error)

	// CreateToken stores a new API token (its secret only as a hash). A token scoped to an
	// app that does not exist is a *FieldError on "app" wrapping ErrNotFound.
	CreateToken(ctx context.Context, token Token) (Token, error)
	// GetToken returns the token with this id, revoked or not, or ErrNotFound.
	GetToken(ctx context.Context, id uuid.UUID) (Token, error)
	// ListTokens returns every token, newest first.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken marks the token revoked (a no-op if it already is), or returns ErrNotFound.
	RevokeToken(ctx context.Context, id uuid.UUID) error

	// ListAudit returns audit-log entries, newest first, after the page's cursor id.
	ListAudit(ctx context.Context, page Page) ([]AuditEntry, error)

	// Alerts is the durable state of dead-letter and failure-group alerts.
	Alerts

	// ReplayOps is the durable state of bulk replays run as operations.
	ReplayOps

	// Retention is the durable state of retention: policies, trims and trim reports.
	Retention

	// Tenants renames, empties and deletes apps, and rotates tokens.
	Tenants

	// Periodic is the durable state of periodic schedules: definitions and last ticks.
	Periodic

	// Control cancels, retries and deletes jobs, pauses scopes and disables apps.
	Control

	// Health reports what an operator watches in the database itself: table sizes and dead
	// rows, transaction-id age, and settings that weaken durability. It expects a migrated
	// schema. On SQLite it counts rows and reads the tables' pages, so it is meant for
	// start-up and metric scrapes, not for every job.
	Health(ctx context.Context) (Health, error)
}

// Notice is what a notification from ListenForJobs says.
type Notice int

// The notices.
const (
	// NoticeJobs: jobs became ready; claim now.
	NoticeJobs Notice = iota + 1
	// NoticeCancel: an operator asked to cancel a running job; renew leases now to learn which.
	NoticeCancel
)

// ExternalTx is a transaction the caller began on the store's own database and passes to
// InsertJobs: a pgx.Tx for PostgreSQL, a *sql.Tx for SQLite. Nil means the store uses its own.
type ExternalTx any

// Migration is one schema version and whether it is applied.
type Migration struct {
	Version   int        `json:"version"`
	Name      string     `json:"name"`
	AppliedAt *time.Time `json:"appliedAt"`
}

// InsertJob is one job to insert. It has been validated; the store fills in nothing but the
// database's clock and defaults.
type InsertJob struct {
	ID          uuid.UUID
	AppID       uuid.UUID
	Type        string
	Queue       string
	Priority    int
	Payload     json.RawMessage
	MaxAttempts int
	// RunAt is when the job becomes due; nil means now (database clock).
	RunAt *time.Time
	// UniqueKey, when not empty, de-duplicates the job per app while one is pending or running.
	UniqueKey string
	// ReplayedFrom links a replayed job to its dead-letter entry.
	ReplayedFrom *uuid.UUID
	// Tags are the job's tags (validate.Tags); nil for none.
	Tags []string
	// Trace is the trace context of the enqueuing span; nil for none.
	Trace *TraceContext
}

// InsertResult is what became of one InsertJob.
type InsertResult struct {
	Job Job `json:"job"`
	// Duplicate is true when a live job of the app already held the unique key: Job is that job
	// and nothing was inserted.
	Duplicate bool `json:"duplicate"`
}

// Page bounds a keyset-paged listing: at most Limit rows whose id is below Before (when set).
type Page struct {
	Limit  int
	Before *uuid.UUID
}

// JobFilter selects jobs in a listing. Zero fields match everything.
type JobFilter struct {
	AppID  *uuid.UUID
	Type   string
	Status JobStatus
	// Tag, when set, matches the jobs that have this tag.
	Tag string
}

// ClaimParams says what a worker wants to claim.
type ClaimParams struct {
	Queue string
	// Types are the job types the worker has handlers for; only these are claimed.
	Types []string
	Limit int
	// LeaseToken marks the claim: every later change to a claimed job must present it.
	LeaseToken    uuid.UUID
	LeaseDuration time.Duration
	// Round turns which app comes first when the claim is shared between apps (FairShares):
	// a claimer counts its claims, so that no app is always first or always last.
	Round uint64
}

// Lease identifies one running attempt: the job and the token its claim was given.
type Lease struct {
	JobID uuid.UUID
	Token uuid.UUID
}

// Outcome is how an attempt ended.
type Outcome int

// The outcomes of an attempt.
const (
	// OutcomeComplete: the handler succeeded; the job becomes completed.
	OutcomeComplete Outcome = iota + 1
	// OutcomeRetry: a failed attempt with attempts left; the error is recorded and the job is
	// pending again after Delay.
	OutcomeRetry
	// OutcomeDeadLetter: a failed attempt that ends the job (attempts exhausted or a permanent
	// error); the error is recorded and the job moves to job_dlq.
	OutcomeDeadLetter
	// OutcomeSnooze: the handler asked to run again after Delay; no attempt is spent and no
	// error is recorded.
	OutcomeSnooze
	// OutcomeCancel: the handler cancelled the job; it becomes cancelled with the error recorded
	// as its last error.
	OutcomeCancel
	// OutcomeRelease: the attempt was interrupted by a shutdown before it could finish; the job
	// is pending again, due now, and the attempt is not counted.
	OutcomeRelease
)

// String names the outcome: complete, retry, dead_letter, snooze, cancel or release.
func (o Outcome) String() string {
	switch o {
	case OutcomeComplete:
		return "complete"
	case OutcomeRetry:
		return "retry"
	case OutcomeDeadLetter:
		return "dead_letter"
	case OutcomeSnooze:
		return "snooze"
	case OutcomeCancel:
		return "cancel"
	case OutcomeRelease:
		return "release"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Finish is the outcome of one attempt, to be applied under its lease.
type Finish struct {
	Lease   Lease
	Outcome Outcome
	// Error is the cleaned error text (Retry, DeadLetter, Cancel).
	Error string
	// Delay is how long from now the job waits (Retry, Snooze).
	Delay time.Duration
}

// RescueResult counts what RescueExpired did: jobs pending again, moved to the dead-letter
// queue, and ended cancelled (an operator had asked to cancel them while they ran).
type RescueResult struct {
	Retried      int
	DeadLettered int
	Cancelled    int
}

// Add counts o's jobs in r too.
func (r *RescueResult) Add(o RescueResult) {
	r.Retried += o.Retried
	r.DeadLettered += o.DeadLettered
	r.Cancelled += o.Cancelled
}

// Total is how many jobs were rescued.
func (r RescueResult) Total() int { return r.Retried + r.DeadLettered + r.Cancelled }

// DeadFilter selects dead-letter entries. Zero fields match everything; by default only
// un-replayed entries match.
type DeadFilter struct {
	AppID         *uuid.UUID
	Type          string
	FailedAfter   *time.Time
	FailedBefore  *time.Time
	ErrorContains string
	// Group, when set, matches only the entries of this failure group: their ErrorSignature,
	// or, for signature.Unknown ("unknown"), the entries written without one.
	Group string
	// Tag, when set, matches the entries that have this tag.
	Tag string
	// IncludeReplayed matches replayed entries too.
	IncludeReplayed bool
	// ReplayedOnly matches only replayed entries (purging what has been dealt with).
	ReplayedOnly bool
	// Through, when set, matches only entries with an id at or below it: a bulk operation
	// fixes it when it begins, so entries dead-lettered later are left alone.
	Through *uuid.UUID
}

// ReplayDefaults fill in what an entry written without them lacks.
type ReplayDefaults struct {
	Queue       string
	MaxAttempts int
}

// ReplayParams names the entry to replay.
type ReplayParams struct {
	ID       uuid.UUID
	Defaults ReplayDefaults
	// Audit, when set, records the replay in the audit log in the same transaction.
	Audit *Audit
}

// ReplayBatch is one bounded step of a bulk replay: un-replayed entries below Before (when
// set), newest first.
type ReplayBatch struct {
	// Before, when set, resumes below the last id the previous batch considered.
	Before   *uuid.UUID
	Limit    int
	Defaults ReplayDefaults
	// Audit, when set, adds the batch's replayed count to the operation's audit row in the
	// same transaction.
	Audit *Audit
	// Attempts, when not 0, is every new job's max_attempts (else the entry's own, or
	// Defaults.MaxAttempts).
	Attempts int
	// PayloadPatch, when set, is a JSON merge patch (RFC 7386, a JSON object) applied to
	// each entry's payload for its new job; the entry keeps its own.
	PayloadPatch json.RawMessage
	// SkipLoops leaves un-replayed the entries whose job was itself a replay (ReplayOf set).
	SkipLoops bool
	// Op, when set, runs the batch for a replay operation under its lease: the batch starts
	// below the operation's cursor (Before is ignored), and advances the cursor and counts,
	// renews the lease, and marks the operation done when the batch is its last, all in the
	// batch's transaction.
	Op *ReplayOpLease
}

// PurgeBatch is one bounded step of a purge.
type PurgeBatch struct {
	Limit int
	// Audit, when set, adds the batch's deleted count to the operation's audit row in the
	// same transaction.
	Audit *Audit
}

// ReplayBatchResult counts one batch of a bulk replay.
type ReplayBatchResult struct {
	// Considered is how many entries the batch looked at; fewer than the limit means it was the
	// last batch.
	Considered int
	Replayed   int
	// Conflicts are entries skipped because their unique key is held by a live job.
	Conflicts int
	// Invalid are entries skipped because their patched payload is invalid.
	Invalid int
	// Loops are entries skipped because their job was itself a replay (with SkipLoops).
	Loops int
	// LastID is the oldest id considered, the cursor for the next batch.
	LastID *uuid.UUID
	// Op is the operation after the batch, when the batch ran for one.
	Op *ReplayOp
}

// TypeStats counts one app's jobs of one type by state.
type TypeStats struct {
	AppID uuid.UUID `json:"appId"`
	Type  string    `json:"type"`
	// Pending counts pending jobs that have not failed yet (due now or scheduled).
	Pending int64 `json:"pending"`
	// Retrying counts pending jobs with a failed attempt behind them, waiting for the next.
	Retrying  int64 `json:"retrying"`
	Running   int64 `json:"running"`
	Completed int64 `json:"completed"`
	Cancelled int64 `json:"cancelled"`
	// Dead counts un-replayed dead-letter entries.
	Dead int64 `json:"dead"`
	// OldestPendingRunAt is the earliest run_at of a pending job, if any.
	OldestPendingRunAt *time.Time `json:"oldestPendingRunAt,omitempty"`
	// OldestDeadAt is when the oldest un-replayed entry failed, if any.
	OldestDeadAt *time.Time `json:"oldestDeadAt,omitempty"`
	// DeadGroups counts the failure groups of the un-replayed entries (see FailureGroup).
	DeadGroups int64 `json:"deadGroups"`
}

// FailureGroup is the un-replayed dead-letter entries of one app and type whose last errors
// have the same signature: the same failure, with what varies between its occurrences
// (numbers, ids, addresses, quoted values) masked. See internal/signature.
type FailureGroup struct {
	AppID uuid.UUID `json:"appId"`
	Type  string    `json:"type"`
	// Signature is 16 hex digits, or "unknown" for the entries written without one (by a
	// Sluice older than migration 0005, say).
	Signature string `json:"signature"`
	// Count is how many un-replayed entries the group holds.
	Count int64 `json:"count"`
	// FirstFailedAt and LastFailedAt are when its oldest and newest entries failed.
	FirstFailedAt time.Time `json:"firstFailedAt"`
	LastFailedAt  time.Time `json:"lastFailedAt"`
	// SampleID is the group's newest entry, and SampleError that entry's last error, as it
	// was recorded.
	SampleID    uuid.UUID `json:"sampleId"`
	SampleError string    `json:"sampleError"`
	// Normalized is the sample's error with its variable parts masked: what every entry of
	// the group has in common. Empty for the "unknown" group.
	Normalized string `json:"normalized"`
}

// GroupKey is where a failure group sorts in key order: its app id, type and signature.
type GroupKey struct {
	AppID     uuid.UUID
	Type      string
	Signature string
}

// Key returns the group's key.
func (g FailureGroup) Key() GroupKey {
	return GroupKey{AppID: g.AppID, Type: g.Type, Signature: g.Signature}
}

// Token is an API bearer token. Its secret is shown once, when it is made; the store keeps
// only a hash of it.
type Token struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	// AppID scopes the token to one app; nil makes it an admin token.
	AppID *uuid.UUID `json:"appId,omitempty"`
	// ReadOnly tokens may only read.
	ReadOnly bool `json:"readOnly"`
	// SecretHash is the SHA-256 of the token's secret.
	SecretHash []byte    `json:"-"`
	CreatedAt  time.Time `json:"createdAt"`
	// ExpiresAt, when set, is when the token stops working (as if revoked).
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	// RotatedAt is when the token's secret was last replaced (RotateToken), if ever.
	RotatedAt *time.Time `json:"rotatedAt,omitempty"`
	// PreviousSecretHash is the SHA-256 of the secret the last rotation replaced, while it
	// keeps working: until PreviousExpiresAt.
	PreviousSecretHash []byte     `json:"-"`
	PreviousExpiresAt  *time.Time `json:"previousExpiresAt,omitempty"`
}

// Audit names the operation a change belongs to. Every transaction of the operation adds how
// many rows it changed to one audit_log row with the operation's ID, in that transaction, so
// the log always matches what was committed.
type Audit struct {
	ID uuid.UUID
	// Actor is who: "token:<id>" for the HTTP API, "cli:<user>" for the CLI.
	Actor string
	// Action is what: dlq.replay, dlq.replay_many, dlq.purge, dlq.delete, app.rename,
	// app.delete, app.purge.
	Action string
	// AppID is the app the operation was limited to, if any.
	AppID *uuid.UUID
	// Details is a JSON object: the entry id, or the filter and options.
	Details json.RawMessage
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID      uuid.UUID       `json:"id"`
	At      time.Time       `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	AppID   *uuid.UUID      `json:"appId,omitempty"`
	Details json.RawMessage `json:"details"`
	// Count is how many entries the operation changed.
	Count int `json:"count"`
}

// Health is what Store.Health reports.
type Health struct {
	// Tables are Sluice's tables (jobs, job_dlq, apps, api_tokens, audit_log,
	// sluice_migrations), in that order, with their rows and sizes.
	Tables []TableHealth `json:"tables"`
	// SizeBytes is the size of the whole database: the SQLite file, or the PostgreSQL
	// database (pg_database_size: everything in it, not only Sluice's schema).
	SizeBytes int64 `json:"sizeBytes"`
	// XIDAge is the age in transactions of the database's oldest unfrozen transaction id, and
	// MultiXactAge likewise for multixacts (PostgreSQL; 0 elsewhere).
	XIDAge       int64 `json:"xidAge"`
	MultiXactAge int64 `json:"multiXactAge"`
	// Warnings name settings that weaken the durability Sluice promises (fsync or
	// synchronous_commit off, SQLite synchronous=OFF).
	Warnings []string `json:"warnings,omitempty"`
}

// TableHealth is one table's size.
type TableHealth struct {
	Name string `json:"name"`
	// LiveRows and DeadRows are the live and not-yet-vacuumed row estimates of PostgreSQL's
	// statistics (pg_stat_user_tables); on SQLite LiveRows is the exact row count and DeadRows 0.
	LiveRows int64 `json:"liveRows"`
	DeadRows int64 `json:"deadRows"`
	// SizeBytes is the table's size on disk with its indexes (and TOAST on PostgreSQL).
	SizeBytes int64 `json:"sizeBytes"`
}
