package sluice

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/signature"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// FuzzCursor feeds decodeCursor arbitrary text: it never panics, refuses everything but a
// cursor encodeCursor issued for the same listing, and gives back the issued id.
func FuzzCursor(f *testing.F) {
	key := filterKey("dlq", (*uuid.UUID)(nil), "email.send", "", "", "", false)
	id := uuid.MustParse("019a0000-0000-7000-8000-000000000001")
	issued := encodeCursor(id, key)
	for _, seed := range []string{
		issued, "", "x", issued + "=", issued[:len(issued)-1], strings.ToUpper(issued),
		issued[:10] + "\n" + issued[10:], encodeCursor(id, filterKey("jobs")), encodeCursor(uuid.Nil, key),
		"eyJ2IjoyLCJpZCI6IjAxOWEwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMSJ9", "' OR 1=1 --",
	} {
		f.Add(seed, id[:])
	}
	f.Fuzz(func(t *testing.T, cursor string, raw []byte) {
		got, err := decodeCursor(cursor, key)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "cursor" {
				t.Fatalf("decodeCursor(%q): %v, not a field error on cursor", cursor, err)
			}
			return
		}
		if cursor == "" {
			if got != nil {
				t.Fatalf("the empty cursor decoded to %v", got)
			}
			return
		}
		if got == nil || encodeCursor(*got, key) != cursor {
			t.Fatalf("decodeCursor accepted %q, which encodeCursor did not issue", cursor)
		}

		// Any id round-trips, for this listing only.
		if len(raw) != 16 {
			return
		}
		other, _ := uuid.FromBytes(raw)
		if other == uuid.Nil {
			return
		}
		c := encodeCursor(other, key)
		if back, err := decodeCursor(c, key); err != nil || *back != other {
			t.Fatalf("cursor for %v decoded to %v, %v", other, back, err)
		}
		if _, err := decodeCursor(c, filterKey("dlq", (*uuid.UUID)(nil), "email.sent", "", "", "", false)); err == nil {
			t.Fatalf("a cursor for one filter was accepted for another")
		}
	})
}

// FuzzKeyCursor feeds decodeKeyCursor arbitrary text: it never panics, refuses everything but
// a cursor encodeKeyCursor issued for the same listing (an id cursor too), and gives back the
// issued key; any group key a store can hold round-trips within maxCursorLength.
func FuzzKeyCursor(f *testing.F) {
	key := filterKey("groups", (*uuid.UUID)(nil), "email.send", int64(0), int64(0), "", "", "")
	app := uuid.MustParse("019a0000-0000-7000-8000-000000000001")
	k := store.GroupKey{AppID: app, Type: "email.send", Signature: "0123456789abcdef"}
	issued := encodeKeyCursor(k, key)
	// The longest a key cursor gets: every byte of the type escaped (and <, > and & would be
	// six bytes each, were it not for SetEscapeHTML(false)).
	worst := strings.Repeat(`"`, 64) + strings.Repeat(`\`, 64)
	for _, seed := range []string{
		issued, "", "x", issued + "=", issued[:len(issued)-1], strings.ToUpper(issued), issued[:10] + "\n" + issued[10:],
		encodeKeyCursor(k, filterKey("groups")), encodeKeyCursor(store.GroupKey{AppID: app, Type: worst, Signature: "unknown"}, key),
		encodeCursor(app, key), encodeKeyCursor(store.GroupKey{Type: "t", Signature: "unknown"}, key),
	} {
		f.Add(seed, "t", "unknown")
	}
	f.Add(issued, worst, "0123456789abcdef")
	f.Fuzz(func(t *testing.T, cursor, typ, sig string) {
		got, err := decodeKeyCursor(cursor, key)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "cursor" {
				t.Fatalf("decodeKeyCursor(%q): %v, not a field error on cursor", cursor, err)
			}
		} else if cursor == "" && got != nil {
			t.Fatalf("the empty cursor decoded to %v", got)
		} else if cursor != "" && (got == nil || encodeKeyCursor(*got, key) != cursor) {
			t.Fatalf("decodeKeyCursor accepted %q, which encodeKeyCursor did not issue", cursor)
		}
		if _, idErr := decodeCursor(cursor, key); err == nil && idErr == nil && cursor != "" {
			t.Fatalf("the cursor %q decodes as both a key and an id", cursor)
		}

		// Any key a store can hold round-trips, for this listing only.
		if validate.Identifier("type", typ) != nil || !signature.Valid(sig) {
			return
		}
		gk := store.GroupKey{AppID: app, Type: typ, Signature: sig}
		c := encodeKeyCursor(gk, key)
		if back, err := decodeKeyCursor(c, key); err != nil || *back != gk || len(c) > maxCursorLength {
			t.Fatalf("cursor for %+v (%d characters) decoded to %v, %v", gk, len(c), back, err)
		}
		if _, err := decodeKeyCursor(c, filterKey("groups", (*uuid.UUID)(nil), "email.sent", int64(0), int64(0), "", "", "")); err == nil {
			t.Fatalf("a cursor for one filter was accepted for another")
		}
	})
}

// FuzzFilter feeds checkFilter arbitrary filter text, the times parsed as the HTTP API and
// the CLI parse them: it never panics, names a field of the filter when it refuses, and
// when it accepts, the store's filter holds exactly the input, in UTC.
func FuzzFilter(f *testing.F) {
	for _, seed := range [][5]string{
		{"email.send", "", "", "", ""},
		{"", "timeout", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "0123456789abcdef"},
		{"' OR 1=1 --", "%_\\", "", "", "' OR 1=1 --"},
		{"a\x00b", "\xff", "", "", "unknown"},
		{"", "", "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", "0123456789ABCDEF"},
		{"", "", "0001-01-01T00:00:01Z", "9999-12-31T23:59:59+23:59", "0123456789abcde\x00"},
		{strings.Repeat("t", 300), strings.Repeat("é", 300), "", "", strings.Repeat("a", 17)},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	}
	f.Fuzz(func(t *testing.T, typ, errorContains, after, before, group string) {
		in := Filter{Type: typ, ErrorContains: errorContains, Group: group}
		for _, p := range []struct {
			text string
			dst  *time.Time
		}{{after, &in.FailedAfter}, {before, &in.FailedBefore}} {
			if p.text == "" {
				continue
			}
			tm, ok := validate.ParseTime(p.text)
			if !ok {
				return
			}
			*p.dst = tm
		}
		sf, err := checkFilter(in)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(" type errorContains failedAfter failedBefore group ", " "+fe.Field+" ") {
				t.Fatalf("checkFilter(%+v): %v, not a field error naming a filter field", in, err)
			}
			return
		}
		if sf.Type != typ || sf.ErrorContains != errorContains || sf.Group != group || sf.AppID != nil {
			t.Fatalf("checkFilter(%+v) = %+v: not the input", in, sf)
		}
		for _, s := range []string{typ, errorContains} {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("checkFilter accepted %q, which no store can keep", s)
			}
		}
		if group != "" && !signature.Valid(group) {
			t.Fatalf("checkFilter accepted the group %q, which is no signature", group)
		}
		for _, p := range []struct {
			in  time.Time
			out *time.Time
		}{{in.FailedAfter, sf.FailedAfter}, {in.FailedBefore, sf.FailedBefore}} {
			if p.in.IsZero() != (p.out == nil) || p.out != nil && (!p.out.Equal(p.in) || p.out.Location() != time.UTC) {
				t.Fatalf("checkFilter(%+v) = %+v: times not the input's, in UTC", in, sf)
			}
		}
		if sf.FailedAfter != nil && sf.FailedBefore != nil && !sf.FailedAfter.Before(*sf.FailedBefore) {
			t.Fatalf("checkFilter accepted an empty failed-at range %+v", in)
		}
	})
}
