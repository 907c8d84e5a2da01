// Package periodic computes the ticks of periodic schedules: which instants a cron expression
// in a time zone, or a fixed interval, fires at. Every process computes the same ticks from the
// same definition, so a tick is a name two processes agree on without talking to each other.
//
// A cron expression has the five standard fields (minute, hour, day of month, month, day of
// week) or is one of the descriptors @yearly (@annually), @monthly, @weekly, @daily
// (@midnight) and @hourly, as github.com/robfig/cron/v3 parses them; there is no seconds field.
// It is read in the schedule's time zone (an IANA name, default UTC). `@every D` and
// `CRON_TZ=`/`TZ=` prefixes are refused: an interval is a schedule's Every, and the time zone
// its TimeZone, so that each thing has one spelling.
//
// A fixed interval ticks at the whole multiples of it since the Unix epoch (00:00:00 UTC on
// 1 January 1970): every 15m ticks at :00, :15, :30 and :45 of every hour, whoever starts it
// and whenever.
package periodic

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinEvery is the shortest fixed interval.
const MinEvery = time.Second

// maxSearch bounds how far back Prev looks for a cron tick: longer than any expression that
// fires at all can go without firing (robfig/cron gives up after five years).
const maxSearch = 6 * 366 * 24 * time.Hour

// Spec is a parsed schedule: a cron expression in a location, or a fixed interval.
type Spec struct {
	cron  *cron.SpecSchedule // nil for an interval
	every time.Duration
}

// Error is a definition Parse refuses: Field is "cron", "every" or "timeZone".
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

// Parse checks a schedule's definition: exactly one of expr (a cron expression) and every (an
// interval of at least a second, in whole milliseconds), and a time zone (empty for UTC) that
// only a cron expression may name. It refuses, with an *Error naming the field, anything it
// would not compute the same way everywhere.
func Parse(expr string, every time.Duration, timeZone string) (Spec, error) {
	switch {
	case expr == "" && every == 0:
		return Spec{}, &Error{"cron", "one of cron and every is required"}
	case expr != "" && every != 0:
		return Spec{}, &Error{"every", "must not be set together with cron"}
	case every != 0:
		if timeZone != "" && timeZone != "UTC" {
			return Spec{}, &Error{"timeZone", "applies to cron only: an interval ticks at multiples of it since the Unix epoch"}
		}
		if every < MinEvery {
			return Spec{}, &Error{"every", fmt.Sprintf("must be at least %s, got %s", MinEvery, every)}
		}
		if every%time.Millisecond != 0 {
			return Spec{}, &Error{"every", fmt.Sprintf("must be a whole number of milliseconds, got %s", every)}
		}
		return Spec{every: every}, nil
	}
	loc, err := Location(timeZone)
	if err != nil {
		return Spec{}, err
	}
	if len(expr) > 256 {
		return Spec{}, &Error{"cron", "must be at most 256 characters"}
	}
	trimmed := strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ="):
		return Spec{}, &Error{"cron", "must not name a time zone; set timeZone instead"}
	case strings.HasPrefix(trimmed, "@every"):
		return Spec{}, &Error{"cron", "@every is not accepted; set every instead"}
	}
	sched, err := parseCron(trimmed)
	if err != nil {
		return Spec{}, &Error{"cron", err.Error()}
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return Spec{}, &Error{"cron", "is not a cron expression"}
	}
	spec.Location = loc
	s := Spec{cron: spec}
	if s.Next(time.Now()).IsZero() {
		return Spec{}, &Error{"cron", "never fires"}
	}
	return s, nil
}

// parseCron parses a standard expression, turning a panic of the parser into an error.
func parseCron(expr string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("is not a valid cron expression")
		}
	}()
	s, err = cron.ParseStandard(expr)
	if err != nil {
		err = fmt.Errorf("is not a valid cron expression: %v", err)
	}
	return s, err
}

// Location loads an IANA time zone; empty is UTC. "Local" is refused: it would differ between
// machines.
func Location(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" || len(name) > 128 {
		return nil, &Error{"timeZone", fmt.Sprintf("must be an IANA time zone such as Europe/Berlin, got %q", name)}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, &Error{"timeZone", fmt.Sprintf("must be an IANA time zone such as Europe/Berlin, got %q", name)}
	}
	return loc, nil
}

// Next returns the first tick after t, or the zero time if there is none within five years.
func (s Spec) Next(t time.Time) time.Time {
	if s.cron == nil {
		return s.floor(t).Add(s.every).UTC()
	}
	return s.cron.Next(t).UTC()
}

// Prev returns the last tick at or before t, or the zero time if there is none within six
// years.
func (s Spec) Prev(t time.Time) time.Time {
	if s.cron == nil {
		return s.floor(t).UTC()
	}
	for window := 2 * time.Minute; window <= maxSearch; window *= 2 {
		var last time.Time
		for tick := s.cron.Next(t.Add(-window)); !tick.IsZero() && !tick.After(t); tick = s.cron.Next(tick) {
			last = tick
		}
		if !last.IsZero() {
			return last.UTC()
		}
	}
	return time.Time{}
}

// Between counts the ticks strictly between from and to, up to limit (it stops counting
// there, so a very long gap costs at most limit steps).
func (s Spec) Between(from, to time.Time, limit int64) int64 {
	if !from.Before(to) {
		return 0
	}
	if s.cron == nil {
		n := int64(s.floor(to).Sub(s.floor(from))/s.every) - 1
		if !s.floor(to).Equal(to) {
			n++ // to is not a tick, so the last multiple below it lies between
		}
		return min(max(n, 0), limit)
	}
	var n int64
	for tick := s.cron.Next(from); !tick.IsZero() && tick.Before(to) && n < limit; tick = s.cron.Next(tick) {
		n++
	}
	return n
}

// floor is the last multiple of the interval at or before t.
func (s Spec) floor(t time.Time) time.Time {
	ns := t.UnixNano()
	r := ns % int64(s.every)
	if r < 0 {
		r += int64(s.every)
	}
	return time.Unix(0, ns-r)
}
