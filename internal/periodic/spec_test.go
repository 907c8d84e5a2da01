package periodic

import (
	"errors"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCronTicks(t *testing.T) {
	cases := []struct {
		expr, tz, now, prev, next string
	}{
		{"0 * * * *", "", "2026-11-27T12:30:00Z", "2026-11-27T12:00:00Z", "2026-11-27T13:00:00Z"},
		{"0 * * * *", "", "2026-11-27T12:00:00Z", "2026-11-27T12:00:00Z", "2026-11-27T13:00:00Z"},
		{"@hourly", "", "2026-11-27T12:59:59Z", "2026-11-27T12:00:00Z", "2026-11-27T13:00:00Z"},
		{"*/15 * * * *", "", "2026-11-27T12:16:00Z", "2026-11-27T12:15:00Z", "2026-11-27T12:30:00Z"},
		// 09:00 in Berlin is 08:00 UTC in winter.
		{"0 9 * * *", "Europe/Berlin", "2026-11-27T12:00:00Z", "2026-11-27T08:00:00Z", "2026-11-28T08:00:00Z"},
		{"@daily", "America/New_York", "2026-11-27T12:00:00Z", "2026-11-27T05:00:00Z", "2026-11-28T05:00:00Z"},
		// Yearly on 29 February: the search reaches back past ordinary years.
		{"0 0 29 2 *", "", "2027-03-01T00:00:00Z", "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"},
	}
	for _, c := range cases {
		s, err := Parse(c.expr, 0, c.tz)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", c.expr, c.tz, err)
		}
		if got := s.Prev(at(c.now)); !got.Equal(at(c.prev)) {
			t.Errorf("%q in %q: Prev(%s) = %s, want %s", c.expr, c.tz, c.now, got, c.prev)
		}
		if got := s.Next(at(c.now)); !got.Equal(at(c.next)) {
			t.Errorf("%q in %q: Next(%s) = %s, want %s", c.expr, c.tz, c.now, got, c.next)
		}
	}
}

func TestEveryTicks(t *testing.T) {
	s, err := Parse("", 15*time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	now := at("2026-11-27T12:16:30Z")
	if got := s.Prev(now); !got.Equal(at("2026-11-27T12:15:00Z")) {
		t.Errorf("Prev = %s", got)
	}
	if got := s.Next(now); !got.Equal(at("2026-11-27T12:30:00Z")) {
		t.Errorf("Next = %s", got)
	}
	if got := s.Prev(at("2026-11-27T12:30:00Z")); !got.Equal(at("2026-11-27T12:30:00Z")) {
		t.Errorf("Prev of a tick = %s, want the tick", got)
	}
	// A 7-minute interval ticks at multiples of 7 minutes since the epoch.
	s7, _ := Parse("", 7*time.Minute, "UTC")
	if p := s7.Prev(now); p.UnixNano()%int64(7*time.Minute) != 0 || now.Sub(p) >= 7*time.Minute {
		t.Errorf("Prev of every 7m = %s", p)
	}
}

func TestBetween(t *testing.T) {
	every, _ := Parse("", time.Minute, "")
	cron, _ := Parse("* * * * *", 0, "")
	from, to := at("2026-11-27T12:00:00Z"), at("2026-11-27T15:00:00Z")
	for name, s := range map[string]Spec{"every": every, "cron": cron} {
		if n := s.Between(from, to, 1_000_000); n != 179 {
			t.Errorf("%s: Between 12:00 and 15:00 = %d, want 179", name, n)
		}
		if n := s.Between(from, to.Add(30*time.Second), 1_000_000); n != 180 {
			t.Errorf("%s: Between 12:00 and 15:00:30 = %d, want 180", name, n)
		}
		if n := s.Between(from, from.Add(time.Minute), 10); n != 0 {
			t.Errorf("%s: Between two neighbouring ticks = %d, want 0", name, n)
		}
		if n := s.Between(from, to, 10); n != 10 {
			t.Errorf("%s: Between with limit 10 = %d", name, n)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		expr  string
		every time.Duration
		tz    string
		field string
	}{
		{"", 0, "", "cron"},
		{"* * * * *", time.Minute, "", "every"},
		{"", 500 * time.Millisecond, "", "every"},
		{"", time.Second + time.Microsecond, "", "every"},
		{"", -time.Minute, "", "every"},
		{"", time.Minute, "Europe/Berlin", "timeZone"},
		{"* * * * *", 0, "Mars/Olympus", "timeZone"},
		{"* * * * *", 0, "Local", "timeZone"},
		{"@every 5m", 0, "", "cron"},
		{"CRON_TZ=UTC * * * * *", 0, "", "cron"},
		{"TZ=", 0, "", "cron"},
		{"* * * * * *", 0, "", "cron"},
		{"61 * * * *", 0, "", "cron"},
		{"0 0 30 2 *", 0, "", "cron"},
		{"@reboot", 0, "", "cron"},
		{"nonsense", 0, "", "cron"},
	}
	for _, c := range cases {
		_, err := Parse(c.expr, c.every, c.tz)
		var e *Error
		if !errors.As(err, &e) || e.Field != c.field {
			t.Errorf("Parse(%q, %s, %q) = %v, want an *Error on %q", c.expr, c.every, c.tz, err, c.field)
		}
	}
}
