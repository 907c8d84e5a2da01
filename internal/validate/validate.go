// Package validate holds Sluice's input rules (DESIGN.md "Limits and formats") in one place, so
// that both stores, the Go API, the CLI and the HTTP API accept and reject exactly the same
// input with the same error. Every rejection is a *store.FieldError naming the field.
package validate

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// Limits from DESIGN.md.
const (
	MaxNameLength      = 128
	MaxUniqueKeyLength = 255
	MinPriority        = -100
	MaxPriority        = 100
	MinMaxAttempts     = 1
	MaxMaxAttempts     = 1000
	// DefaultMaxAttempts is a job's attempt budget when neither the job nor its type sets one.
	DefaultMaxAttempts = 25
	// DefaultQueue is the queue a job goes to when neither the job nor its type names one.
	DefaultQueue = "default"
)

// Earliest and latest accepted times: before the Unix epoch or past year 9999 is a mistake,
// and not every store can keep it.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// AppName checks an app name: 1–128 characters of valid UTF-8, no control characters, no
// leading or trailing space, and not shaped like a UUID (so an app argument is never
// ambiguous between an id and a name).
func AppName(field, name string) error {
	if err := text(field, name, MaxNameLength); err != nil {
		return err
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return store.Fieldf(field, "must not contain control characters")
		}
	}
	if strings.TrimSpace(name) != name {
		return store.Fieldf(field, "must not start or end with white space")
	}
	if _, err := uuid.Parse(name); err == nil {
		return store.Fieldf(field, "must not look like a UUID (app ids are UUIDs)")
	}
	return nil
}

// Identifier checks a job type or queue name: 1–128 characters of printable ASCII, no spaces.
func Identifier(field, name string) error {
	if name == "" {
		return store.Fieldf(field, "is required")
	}
	if len(name) > MaxNameLength {
		return store.Fieldf(field, "must be at most %d characters, got %d", MaxNameLength, len(name))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' {
			return store.Fieldf(field, "must be printable ASCII without spaces (bad byte 0x%02x at %d)", c, i)
		}
	}
	return nil
}

// UniqueKey checks a unique key: empty (none) or up to 255 characters of valid UTF-8 without
// control characters.
func UniqueKey(field, key string) error {
	if key == "" {
		return nil
	}
	if err := text(field, key, MaxUniqueKeyLength); err != nil {
		return err
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return store.Fieldf(field, "must not contain control characters")
		}
	}
	return nil
}

// Limits of a job's tags.
const (
	MaxTags      = 16
	MaxTagLength = 64
)

// Tag checks one tag: 1–64 characters of printable ASCII without spaces or commas (so that a
// list of tags can be written "a,b" on a command line).
func Tag(field, tag string) error {
	if tag == "" {
		return store.Fieldf(field, "must not be empty")
	}
	if len(tag) > MaxTagLength {
		return store.Fieldf(field, "must be at most %d characters, got %d", MaxTagLength, len(tag))
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; c <= ' ' || c > '~' || c == ',' {
			return store.Fieldf(field, "must be printable ASCII without spaces or commas (bad byte 0x%02x at %d)", c, i)
		}
	}
	return nil
}

// Tags checks a job's tags: at most 16, each a valid Tag (the error names "field[i]"), none
// twice.
func Tags(field string, tags []string) error {
	if len(tags) > MaxTags {
		return store.Fieldf(field, "must be at most %d tags, got %d", MaxTags, len(tags))
	}
	for i, t := range tags {
		name := fmt.Sprintf("%s[%d]", field, i)
		if err := Tag(name, t); err != nil {
			return err
		}
		for k := range i {
			if tags[k] == t {
				return store.Fieldf(name, "repeats tag %d (%q)", k+1, t)
			}
		}
	}
	return nil
}

// Priority checks a priority: -100..100, lower runs first.
func Priority(field string, p int) error {
	if p < MinPriority || p > MaxPriority {
		return store.Fieldf(field, "must be between %d and %d, got %d", MinPriority, MaxPriority, p)
	}
	return nil
}

// Bounds of an app's limits (store.AppLimits).
const (
	MaxAppRunning = 1_000_000
	MaxAppRate    = 1_000_000.0
	MaxAppBurst   = 1_000_000
)

// AppLimits checks an app's limits — max running 0..1,000,000, rate 0..1,000,000 per second
// (finite), burst 0..1,000,000 and only with a rate; zero is no limit — and returns them with
// the burst defaulted to the rate rounded up (at least 1) when a rate comes without one.
func AppLimits(prefix string, l store.AppLimits) (store.AppLimits, error) {
	switch {
	case l.MaxRunning < 0 || l.MaxRunning > MaxAppRunning:
		return l, store.Fieldf(prefix+"maxRunning", "must be between 0 (no cap) and %d, got %d", MaxAppRunning, l.MaxRunning)
	case math.IsNaN(l.Rate) || l.Rate < 0 || l.Rate > MaxAppRate:
		return l, store.Fieldf(prefix+"rate", "must be between 0 (no limit) and %g jobs per second, got %g", MaxAppRate, l.Rate)
	case l.Burst < 0 || l.Burst > MaxAppBurst:
		return l, store.Fieldf(prefix+"burst", "must be between 0 and %d, got %d", MaxAppBurst, l.Burst)
	case l.Burst > 0 && l.Rate == 0:
		return l, store.Fieldf(prefix+"burst", "needs a rate")
	}
	if l.Rate > 0 && l.Burst == 0 {
		l.Burst = max(1, int(math.Ceil(l.Rate)))
	}
	return l, nil
}

// MaxAttempts checks an attempt budget: 1..1000.
func MaxAttempts(field string, n int) error {
	if n < MinMaxAttempts || n > MaxMaxAttempts {
		return store.Fieldf(field, "must be between %d and %d, got %d", MinMaxAttempts, MaxMaxAttempts, n)
	}
	return nil
}

// Time checks that t lies between 1970 and the end of year 9999.
func Time(field string, t time.Time) error {
	if t.Before(MinTime) || t.After(MaxTime) {
		return store.Fieldf(field, "must be between %s and %s, got %s",
			MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	return nil
}

// ParseTime reads an RFC 3339 time strictly: "2006-01-02T15:04:05Z" or with an offset
// "+07:00" within ±23:59, an optional fraction of a second after a period, upper-case T and Z.
// time.Parse and encoding/json also take an offset of "+24:00" or "+00:60" and a comma before
// the fraction; this does not. It reports whether s is such a time; the range is Time's to
// check.
func ParseTime(s string) (time.Time, bool) {
	m := rfc3339.FindStringSubmatch(s)
	if m == nil || m[1] != "" && (m[1][:2] > "23" || m[1][3:] > "59") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// rfc3339 is RFC 3339's date-time; its group is the offset's digits, when it has one.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-](\d\d:\d\d))$`)

// text checks that s is 1..max characters of valid UTF-8 with no NUL.
func text(field, s string, max int) error {
	if s == "" {
		return store.Fieldf(field, "is required")
	}
	if !utf8.ValidString(s) {
		return store.Fieldf(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return store.Fieldf(field, "must be at most %d characters, got %d", max, n)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return store.Fieldf(field, "must not contain NUL")
	}
	return nil
}

// Limit checks a listing's page size: 0 means the default, else 1..max.
func Limit(field string, limit, def, max int) (int, error) {
	if limit == 0 {
		return def, nil
	}
	if limit < 1 || limit > max {
		return 0, store.Fieldf(field, "must be between 1 and %d, got %d", max, limit)
	}
	return limit, nil
}

// Status parses a job status filter: empty, or one of the four statuses.
func Status(field, s string) (store.JobStatus, error) {
	st := store.JobStatus(s)
	if s != "" && !st.Valid() {
		return "", store.Fieldf(field, "must be one of pending, running, completed, cancelled, got %q", s)
	}
	return st, nil
}

// Quote formats s for an error message: quoted, and cut if long.
func Quote(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
