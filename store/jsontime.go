package store

import (
	"encoding/json"
	"time"
)

// TimeFormat is how every time appears in JSON and CLI output: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// jsonTime is a time that marshals in TimeFormat. The model types marshal their times through
// it; they unmarshal with time.Time's own RFC 3339 parsing, which reads that format.
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(TimeFormat) + `"`), nil
}

func optTime(t *time.Time) *jsonTime {
	if t == nil {
		return nil
	}
	jt := jsonTime(*t)
	return &jt
}

// MarshalJSON writes the app with its time in TimeFormat.
func (a App) MarshalJSON() ([]byte, error) {
	type plain App
	return json.Marshal(struct {
		plain
		CreatedAt jsonTime `json:"createdAt"`
	}{plain(a), jsonTime(a.CreatedAt)})
}

// MarshalJSON writes the job with its times in TimeFormat.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	return json.Marshal(struct {
		plain
		RunAt          jsonTime  `json:"runAt"`
		StartedAt      *jsonTime `json:"startedAt,omitempty"`
		CompletedAt    *jsonTime `json:"completedAt,omitempty"`
		CreatedAt      jsonTime  `json:"createdAt"`
		LeaseExpiresAt *jsonTime `json:"leaseExpiresAt,omitempty"`
	}{plain(j), jsonTime(j.RunAt), optTime(j.StartedAt), optTime(j.CompletedAt), jsonTime(j.CreatedAt), optTime(j.LeaseExpiresAt)})
}

// MarshalJSON writes the entry with its times in TimeFormat.
func (d DeadJob) MarshalJSON() ([]byte, error) {
	type plain DeadJob
	return json.Marshal(struct {
		plain
		FailedAt   jsonTime  `json:"failedAt"`
		ReplayedAt *jsonTime `json:"replayedAt"`
	}{plain(d), jsonTime(d.FailedAt), optTime(d.ReplayedAt)})
}

// MarshalJSON writes the migration with its time in TimeFormat.
func (m Migration) MarshalJSON() ([]byte, error) {
	type plain Migration
	return json.Marshal(struct {
		plain
		AppliedAt *jsonTime `json:"appliedAt"`
	}{plain(m), optTime(m.AppliedAt)})
}

// MarshalJSON writes the counts with their times in TimeFormat.
func (t TypeStats) MarshalJSON() ([]byte, error) {
	type plain TypeStats
	return json.Marshal(struct {
		plain
		OldestPendingRunAt *jsonTime `json:"oldestPendingRunAt,omitempty"`
		OldestDeadAt       *jsonTime `json:"oldestDeadAt,omitempty"`
	}{plain(t), optTime(t.OldestPendingRunAt), optTime(t.OldestDeadAt)})
}

// MarshalJSON writes the token with its times in TimeFormat (and never its secret's hash).
func (t Token) MarshalJSON() ([]byte, error) {
	type plain Token
	return json.Marshal(struct {
		plain
		CreatedAt jsonTime  `json:"createdAt"`
		ExpiresAt *jsonTime `json:"expiresAt,omitempty"`
		RevokedAt *jsonTime `json:"revokedAt,omitempty"`
	}{plain(t), jsonTime(t.CreatedAt), optTime(t.ExpiresAt), optTime(t.RevokedAt)})
}

// MarshalJSON writes the audit entry with its time in TimeFormat.
func (e AuditEntry) MarshalJSON() ([]byte, error) {
	type plain AuditEntry
	return json.Marshal(struct {
		plain
		At jsonTime `json:"at"`
	}{plain(e), jsonTime(e.At)})
}
