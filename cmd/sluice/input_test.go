package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/validate"
)

// FuzzParseTimeFlag feeds a time flag arbitrary text: parseTime never panics, refuses with
// an error naming the flag, and what it accepts lies in the range every time input has and
// is in UTC; a relative time is now moved by whole days and a duration, in its sign's way.
func FuzzParseTimeFlag(f *testing.F) {
	for _, seed := range []string{
		"2026-01-02T15:04:05Z", "2026-01-02T15:04:05+07:00", "-2h", "+30m", "-1d", "-2d12h",
		"-1h30m", "+-1h", "--1h", "-d", "-1d-1h", "-3660000d", "-99999999999d", "+9223372036s",
		"-0", "+", "-", "1h", "0001-01-01T00:00:00Z", "now",
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime("--failed-after", s, now)
		if err != nil {
			if !strings.Contains(err.Error(), "--failed-after") {
				t.Fatalf("parseTime(%q): %v does not name the flag", s, err)
			}
			return
		}
		if validate.Time("t", got) != nil || got.Location() != time.UTC {
			t.Fatalf("parseTime(%q) = %v: out of range or not UTC", s, got)
		}
		if isRelative(s) && (s[0] == '-') != got.Before(now) && !got.Equal(now) {
			t.Fatalf("parseTime(%q) = %v moved the wrong way from %v", s, got, now)
		}
	})
}
