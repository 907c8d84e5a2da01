package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Retention is the durable state of retention, part of every Store: the policies that say
// how long completed and cancelled jobs and replayed and un-replayed dead-letter entries are
// kept, the bounded batches that delete what they no longer keep, and the reports of every
// un-replayed entry deleted (an un-replayed entry is never deleted silently).
type Retention interface {
	// PutRetentionPolicy creates the policy for its kind and scope (app, type), or replaces
	// the limits of the one that exists, and returns it. An unknown app is a *FieldError on
	// "app" wrapping ErrNotFound. With audit set, the same transaction records it in the
	// audit log as PolicyAudit describes ("retention.create" or "retention.update").
	PutRetentionPolicy(ctx context.Context, p RetentionPolicy, audit *Audit) (RetentionPolicy, error)
	// ListRetentionPolicies returns every policy by kind, then app id (all apps first), then
	// type (all types first).
	ListRetentionPolicies(ctx context.Context) ([]RetentionPolicy, error)
	// DeleteRetentionPolicy deletes the policy and returns it as it was, or returns
	// ErrNotFound. With audit set, the same transaction records it in the audit log as
	// PolicyAudit describes ("retention.delete").
	DeleteRetentionPolicy(ctx context.Context, id uuid.UUID, audit *Audit) (RetentionPolicy, error)

	// TrimBatch deletes, in one transaction, up to Limit of the oldest rows (by id) of the
	// batch's kind that its scope holds (less its exclusions) and its limits no longer keep,
	// skipping rows another transaction holds. For un-replayed entries it first calls
	// BeforeDelete with the entries (an error rolls everything back: nothing is deleted) and
	// records a trim report per app and type in the same transaction as the delete. With
	// DryRun it deletes, reports and calls nothing, and returns what it would delete.
	TrimBatch(ctx context.Context, b TrimBatch) (TrimResult, error)

	// ListTrimReports returns trim reports newest first (by id) below the page's cursor,
	// only the undismissed ones when undismissed is set.
	ListTrimReports(ctx context.Context, undismissed bool, page Page) ([]TrimReport, error)
	// GetTrimReport returns the report, or ErrNotFound.
	GetTrimReport(ctx context.Context, id uuid.UUID) (TrimReport, error)
	// DismissTrimReport marks the report dismissed by by (a no-op when it already is) and
	// returns it, or ErrNotFound.
	DismissTrimReport(ctx context.Context, id uuid.UUID, by string) (TrimReport, error)
	// CountTrimReports counts the undismissed reports.
	CountTrimReports(ctx context.Context) (int64, error)
}

// RetentionKind is what a retention policy applies to.
type RetentionKind string

// The kinds of rows retention deletes.
const (
	// RetainCompleted: completed jobs, aged by completed_at.
	RetainCompleted RetentionKind = "completed"
	// RetainCancelled: cancelled jobs, aged by completed_at (when they were cancelled).
	RetainCancelled RetentionKind = "cancelled"
	// RetainReplayed: replayed dead-letter entries, aged by failed_at.
	RetainReplayed RetentionKind = "replayed"
	// RetainUnreplayed: un-replayed dead-letter entries, aged by failed_at. Deleting one is
	// always reported.
	RetainUnreplayed RetentionKind = "unreplayed"
)

// RetentionKinds are every kind, in the order retention runs them.
var RetentionKinds = []RetentionKind{RetainCompleted, RetainCancelled, RetainReplayed, RetainUnreplayed}

// Valid reports whether k is one of the kinds.
func (k RetentionKind) Valid() bool {
	for _, v := range RetentionKinds {
		if k == v {
			return true
		}
	}
	return false
}

// RetentionScope is the app and type a policy covers: nil AppID is every app, "" Type every
// type.
type RetentionScope struct {
	AppID *uuid.UUID `json:"appId,omitempty"`
	Type  string     `json:"type,omitempty"`
}

// Specificity ranks scopes: app and type (3) over app (2) over type (1) over everything (0).
// The most specific policy covering a row is the one that applies to it.
func (s RetentionScope) Specificity() int {
	n := 0
	if s.AppID != nil {
		n += 2
	}
	if s.Type != "" {
		n++
	}
	return n
}

// Covers reports whether every row of o's scope is in s's scope.
func (s RetentionScope) Covers(o RetentionScope) bool {
	if s.AppID != nil && (o.AppID == nil || *o.AppID != *s.AppID) {
		return false
	}
	return s.Type == "" || s.Type == o.Type
}

// Overlaps reports whether some row could be in both scopes.
func (s RetentionScope) Overlaps(o RetentionScope) bool {
	if s.AppID != nil && o.AppID != nil && *s.AppID != *o.AppID {
		return false
	}
	return s.Type == "" || o.Type == "" || s.Type == o.Type
}

// RetentionPolicy says how long rows of one kind in one scope are kept: those older than
// MaxAge, and those beyond the newest MaxCount of the scope, are deleted. Zero MaxAge or
// MaxCount is no limit of that sort.
type RetentionPolicy struct {
	ID   uuid.UUID     `json:"id"`
	Kind RetentionKind `json:"kind"`
	RetentionScope
	MaxAge    time.Duration `json:"-"`
	MaxCount  int64         `json:"maxCount,omitempty"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

// String describes the policy for logs and reports, e.g. "unreplayed, app 0192…, type
// email.send: max age 1h0m0s, max count 100".
func (p RetentionPolicy) String() string {
	var b strings.Builder
	b.WriteString(string(p.Kind))
	if p.AppID != nil {
		fmt.Fprintf(&b, ", app %s", p.AppID)
	}
	if p.Type != "" {
		fmt.Fprintf(&b, ", type %s", p.Type)
	}
	b.WriteString(":")
	if p.MaxAge > 0 {
		fmt.Fprintf(&b, " max age %s", p.MaxAge)
	}
	if p.MaxCount > 0 {
		if p.MaxAge > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " max count %d", p.MaxCount)
	}
	if p.MaxAge <= 0 && p.MaxCount <= 0 {
		b.WriteString(" keep everything")
	}
	return b.String()
}

// TrimBatch is one bounded step of retention for one policy.
type TrimBatch struct {
	Kind RetentionKind
	// Scope and Exclude: the rows the policy governs are those of Scope that none of Exclude
	// (the scopes of more specific policies of the kind) covers.
	Scope   RetentionScope
	Exclude []RetentionScope
	// MaxAge and MaxCount are the policy's limits (zero: none; both zero deletes nothing).
	MaxAge   time.Duration
	MaxCount int64
	Limit    int
	// PolicyID and Policy name the policy in trim reports (PolicyID may be nil for a
	// default policy).
	PolicyID *uuid.UUID
	Policy   string
	// BeforeDelete, for un-replayed entries, is called with the entries inside the
	// transaction, before they are deleted; an error deletes nothing. It may be called again
	// for the same entries if the transaction is retried.
	BeforeDelete func(ctx context.Context, entries []DeadJob) error
	// ExportFile, when set, is recorded in the trim reports.
	ExportFile string
	DryRun     bool
}

// TrimResult is what one TrimBatch deleted (or, with DryRun, would delete).
type TrimResult struct {
	Deleted int `json:"deleted"`
	// Groups break Deleted down per app and type, ordered by app id then type.
	Groups []TrimGroup `json:"groups"`
}

// TrimGroup counts the rows one batch deleted of one app and type.
type TrimGroup struct {
	AppID uuid.UUID `json:"appId"`
	Type  string    `json:"type"`
	Count int       `json:"count"`
	// MinID and MaxID bound the ids deleted; Oldest and Newest the rows' times (failed_at or
	// completed_at).
	MinID  uuid.UUID `json:"minId"`
	MaxID  uuid.UUID `json:"maxId"`
	Oldest time.Time `json:"oldest"`
	Newest time.Time `json:"newest"`
}

// Add counts one row into the group.
func (g *TrimGroup) Add(id uuid.UUID, at time.Time) {
	if g.Count == 0 || id.String() < g.MinID.String() {
		g.MinID = id
	}
	if g.Count == 0 || id.String() > g.MaxID.String() {
		g.MaxID = id
	}
	if g.Count == 0 || at.Before(g.Oldest) {
		g.Oldest = at
	}
	if g.Count == 0 || at.After(g.Newest) {
		g.Newest = at
	}
	g.Count++
}

// TrimReport records un-replayed dead-letter entries of one app and type that retention
// deleted in one batch.
type TrimReport struct {
	ID       uuid.UUID  `json:"id"`
	PolicyID *uuid.UUID `json:"policyId,omitempty"`
	// Policy describes the policy as it was (see RetentionPolicy.String).
	Policy string    `json:"policy"`
	AppID  uuid.UUID `json:"appId"`
	Type   string    `json:"type"`
	Count  int64     `json:"count"`
	// OldestFailedAt and NewestFailedAt bound when the deleted entries failed; MinID and
	// MaxID their ids.
	OldestFailedAt time.Time `json:"oldestFailedAt"`
	NewestFailedAt time.Time `json:"newestFailedAt"`
	MinID          uuid.UUID `json:"minId"`
	MaxID          uuid.UUID `json:"maxId"`
	// ExportFile is the JSON Lines file the entries were appended to, if any.
	ExportFile  string     `json:"exportFile,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	DismissedAt *time.Time `json:"dismissedAt,omitempty"`
	DismissedBy string     `json:"dismissedBy,omitempty"`
}

// GroupTrimmed builds a result's groups from rows in any order.
func GroupTrimmed(ids []uuid.UUID, apps []uuid.UUID, types []string, ats []time.Time) TrimResult {
	idx := map[string]int{}
	var res TrimResult
	for i := range ids {
		key := apps[i].String() + "\x00" + types[i]
		j, ok := idx[key]
		if !ok {
			j = len(res.Groups)
			idx[key] = j
			res.Groups = append(res.Groups, TrimGroup{AppID: apps[i], Type: types[i]})
		}
		res.Groups[j].Add(ids[i], ats[i])
		res.Deleted++
	}
	sortGroups(res.Groups)
	return res
}

func sortGroups(g []TrimGroup) {
	slices.SortFunc(g, func(a, b TrimGroup) int {
		if c := strings.Compare(a.AppID.String(), b.AppID.String()); c != 0 {
			return c
		}
		return strings.Compare(a.Type, b.Type)
	})
}

// ExcludeJSON encodes scopes as the JSON array the stores' trim queries take apart:
// [{"app": id or null, "type": type or null}].
func ExcludeJSON(scopes []RetentionScope) string {
	type item struct {
		App  *uuid.UUID `json:"app"`
		Type *string    `json:"type"`
	}
	items := make([]item, len(scopes))
	for i, s := range scopes {
		items[i].App = s.AppID
		if s.Type != "" {
			t := s.Type
			items[i].Type = &t
		}
	}
	b, _ := json.Marshal(items)
	return string(b)
}

// The audit actions of retention policies.
const (
	AuditRetentionCreate = "retention.create"
	AuditRetentionUpdate = "retention.update"
	AuditRetentionDelete = "retention.delete"
)

// PolicyAudit completes the audit row of a change to a retention policy: a copy of a whose
// Action is action and whose AppID is the policy's app (nil: every app), with the Details
// {"policy": p} and, for an update, "previous": the policy as it was before. Only the ID
// and Actor of a are kept. It returns nil when a is nil.
func PolicyAudit(a *Audit, action string, p RetentionPolicy, previous *RetentionPolicy) *Audit {
	if a == nil {
		return nil
	}
	details := map[string]any{"policy": p}
	if previous != nil {
		details["previous"] = *previous
	}
	raw, _ := json.Marshal(details)
	return &Audit{ID: a.ID, Actor: a.Actor, Action: action, AppID: p.AppID, Details: raw}
}

// NewReportID returns a fresh UUIDv7 for a trim report.
func NewReportID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// MarshalJSON writes the policy with maxAge as a Go duration ("1h0m0s"), absent when 0.
func (p RetentionPolicy) MarshalJSON() ([]byte, error) {
	type plain RetentionPolicy
	var age string
	if p.MaxAge > 0 {
		age = p.MaxAge.String()
	}
	return json.Marshal(struct {
		plain
		MaxAge string `json:"maxAge,omitempty"`
	}{plain(p), age})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *RetentionPolicy) UnmarshalJSON(b []byte) error {
	type plain RetentionPolicy
	var v struct {
		plain
		MaxAge string `json:"maxAge"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = RetentionPolicy(v.plain)
	if v.MaxAge != "" {
		d, err := time.ParseDuration(v.MaxAge)
		if err != nil {
			return fmt.Errorf("maxAge: %w", err)
		}
		p.MaxAge = d
	}
	return nil
}
