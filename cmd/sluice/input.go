package main

import (
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/validate"
)

// timeHelp describes the accepted time syntax in error messages.
const timeHelp = "must be an RFC 3339 time (like 2026-01-02T15:04:05Z) or relative to now (like -2h, -30m, -1d, +10m)"

// parseTime reads a time flag: RFC 3339, or relative to now as a signed Go duration
// ("-2h", "+30m", "-1h30m") optionally led by whole days ("-1d", "-2d12h"). The time must lie
// in the range every time input has (validate.Time).
func parseTime(flag, s string, now time.Time) (time.Time, error) {
	t, err := parseTimeText(flag, s, now)
	if err != nil {
		return t, err
	}
	if err := validate.Time(flag, t); err != nil {
		fe, _ := asFieldError(err)
		return time.Time{}, flagError(flag, "%s", fe.Message)
	}
	return t, nil
}

// maxRelativeDays bounds the days of a relative time: more than the whole range of accepted
// times spans, and few enough that adding them cannot overflow.
const maxRelativeDays = 10000 * 366

// parseTimeText reads a time flag's syntax, for parseTime.
func parseTimeText(flag, s string, now time.Time) (time.Time, error) {
	if t, ok := validate.ParseTime(s); ok {
		return t.UTC(), nil
	}
	bad := flagError(flag, "%s, got %q", timeHelp, s)
	if len(s) < 2 || !isRelative(s) {
		return time.Time{}, bad
	}
	sign, rest := 1, s[1:]
	if s[0] == '-' {
		sign = -1
	}
	t := now.UTC()
	if days, after, ok := strings.Cut(rest, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > maxRelativeDays || days[0] == '+' {
			return time.Time{}, bad
		}
		t, rest = t.AddDate(0, 0, sign*n), after
	}
	if rest == "" {
		return t, nil
	}
	if rest[0] == '-' || rest[0] == '+' {
		return time.Time{}, bad
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return time.Time{}, bad
	}
	return t.Add(time.Duration(sign) * d), nil
}

// isRelative reports whether a time flag's value is relative to now.
func isRelative(s string) bool {
	return strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+")
}

// readPayload reads the --payload flag: the JSON itself, "@FILE" for a file's content, or
// "-" for stdin. A JSON payload is an object or an array, so neither form is ambiguous.
func (c *cli) readPayload(flag, s string) (json.RawMessage, error) {
	switch {
	case s == "-":
		b, err := io.ReadAll(c.stdin)
		if err != nil {
			return nil, flagError(flag, "cannot read stdin: %v", err)
		}
		return b, nil
	case strings.HasPrefix(s, "@"):
		b, err := os.ReadFile(s[1:])
		if err != nil {
			return nil, flagError(flag, "cannot read the file: %v", err)
		}
		return b, nil
	}
	return json.RawMessage(s), nil
}

// parseID reads an id argument, named as in the command's usage line.
func parseID(arg, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, usagef("%s: must be a UUID, got %q", arg, s)
	}
	return id, nil
}

// maxDurationDays bounds the days of a duration flag: more than any duration input allows.
const maxDurationDays = 100000

// parseDuration reads a duration flag: a Go duration (90m, 36h, 1h30m) or whole days (7d).
// It must be positive, or with allowZero also 0.
func parseDuration(flag, s string, allowZero bool) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && (n > 0 || allowZero && n == 0) && n < maxDurationDays && days[0] != '+' {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d == 0 && !allowZero {
		what := "a positive duration"
		if allowZero {
			what = "0 or a positive duration"
		}
		return 0, flagError(flag, "must be %s like 90m, 36h or 7d, got %q", what, s)
	}
	return d, nil
}
