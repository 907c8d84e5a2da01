package validate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/store"
)

func TestPayload(t *testing.T) {
	ok := []string{`{}`, `[]`, `{"a":[1,2,{"b":null}]}`, `[1e308, -1e-300, 0.5]`, `{"emoji":"\ud83d\ude80"}`,
		`{"a":{"a":{"a":1}}}`, `  {"ws": true}  `, strings.Repeat("[", MaxPayloadDepth) + strings.Repeat("]", MaxPayloadDepth)}
	for _, p := range ok {
		if err := Payload("payload", []byte(p)); err != nil {
			t.Errorf("Payload(%.40q) = %v, want nil", p, err)
		}
	}
	bad := map[string]string{
		"empty":            ``,
		"scalar":           `42`,
		"string":           `"x"`,
		"null":             `null`,
		"truncated":        `{"a":`,
		"trailing":         `{} {}`,
		"trailing garbage": `[] x`,
		"NUL escape":       `{"a":"\u0000"}`,
		"NUL in key":       `{"\u0000":1}`,
		"raw NUL":          "{\"a\":\"\x00\"}",
		"lone high":        `["\ud800"]`,
		"lone low":         `["\udc00x"]`,
		"high then text":   `["\ud800\u0041"]`,
		"invalid UTF-8":    "[\"\xff\"]",
		"duplicate key":    `{"a":1,"b":2,"a":3}`,
		"nested duplicate": `{"x":{"k":1,"k":1}}`,
		"too deep":         strings.Repeat("[", MaxPayloadDepth+1) + strings.Repeat("]", MaxPayloadDepth+1),
		"huge number":      `[1e400]`,
		"too large":        `["` + strings.Repeat("x", MaxPayloadBytes) + `"]`,
		"single quotes":    `{'a':1}`,
		"comment":          `{/* c */}`,
		"NaN":              `[NaN]`,
	}
	for name, p := range bad {
		err := Payload("jobs[1].payload", []byte(p))
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != "jobs[1].payload" {
			t.Errorf("%s: Payload(%.40q) = %v, want a FieldError on jobs[1].payload", name, p, err)
		}
	}
	// Keys may repeat across objects, just not within one.
	if err := Payload("p", []byte(`[{"a":1},{"a":2}]`)); err != nil {
		t.Errorf("same key in sibling objects: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	if got := ErrorText("plain", 100); got != "plain" {
		t.Errorf("plain text changed: %q", got)
	}
	if got := ErrorText("a\x00b\xffc", 100); got != "ab\uFFFDc" {
		t.Errorf("cleaning: %q", got)
	}
	long := strings.Repeat("é", 10000) // 2 bytes each
	got := ErrorText(long, MaxErrorBytes)
	if len(got) > MaxErrorBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, " bytes]") || !strings.Contains(got, "… [truncated ") {
		t.Errorf("truncation: %d bytes, valid %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-30:])
	}
	if got := ErrorText(strings.Repeat("x", 50), 10); len(got) > 10 {
		t.Errorf("a bound smaller than the marker still bounds: %q", got)
	}
	p := PanicText("boom", strings.Repeat("frame\n", 10000))
	if len(p) > MaxErrorBytes+MaxStackBytes+1 || !strings.HasPrefix(p, "panic: boom\n") {
		t.Errorf("panic text: %d bytes, starts %q", len(p), p[:20])
	}
}

func TestNames(t *testing.T) {
	for _, name := range []string{"billing", "Zürich team", "a", strings.Repeat("ß", MaxNameLength)} {
		if err := AppName("name", name); err != nil {
			t.Errorf("AppName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", " a", "a ", "a\nb", "\x7f", strings.Repeat("a", MaxNameLength+1),
		"0190a5a4-0000-7000-8000-000000000000", "{0190a5a4-0000-7000-8000-000000000000}", "0190a5a400007000800000000000000a", "\xff"} {
		if AppName("name", name) == nil {
			t.Errorf("AppName(%q) accepted", name)
		}
	}
	for _, id := range []string{"email.send", "a", "A-Z_0-9:/.~"} {
		if err := Identifier("type", id); err != nil {
			t.Errorf("Identifier(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "a b", "é", "tab\t", strings.Repeat("t", MaxNameLength+1), "'; DROP TABLE jobs; --"} {
		if Identifier("type", id) == nil {
			t.Errorf("Identifier(%q) accepted", id)
		}
	}
}

// FuzzPayload: validation never panics, and what it accepts is JSON that encoding/json
// reads back as an object or array.
func FuzzPayload(f *testing.F) {
	for _, seed := range []string{`{}`, `[1,2]`, `{"a":"\ud83d\ude80"}`, `{"a":1,"a":2}`, `["\u0000"]`, `[1e999]`, "[\"\xff\"]", `{"a":[{"b":{}}]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if Payload("payload", raw) != nil {
			return
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", raw, err)
		}
		switch v.(type) {
		case map[string]any, []any:
		default:
			t.Fatalf("accepted %q, which is not an object or array", raw)
		}
	})
}

// FuzzErrorText: whatever a handler's error says, the stored text is valid UTF-8, has no NUL
// and fits its bound.
func FuzzErrorText(f *testing.F) {
	for _, seed := range []string{"", "ok", "a\x00b", "\xff\xfe", strings.Repeat("é", 5000)} {
		f.Add(seed, 100)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		got := ErrorText(s, max)
		if !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("ErrorText(%q, %d) = %q: not storable", s, max, got)
		}
		if len(got) > max && len(got) > len("… [truncated 0 bytes]")+20 {
			t.Fatalf("ErrorText(%q, %d) is %d bytes", s, max, len(got))
		}
	})
}

// FuzzParseTime checks that ParseTime accepts only what RFC 3339 and time.Parse agree on,
// and that an accepted time survives being written out and read back.
func FuzzParseTime(f *testing.F) {
	for _, seed := range []string{
		"2026-01-02T15:04:05Z", "2026-01-02T15:04:05.123456789+07:00", "2026-01-02T15:04:05-23:59",
		"2026-01-02T15:04:05+24:00", "2026-01-02T15:04:05+00:60", "2026-01-02T15:04:05,5Z",
		"2026-01-02t15:04:05z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
		"2026-02-30T00:00:00Z", "2026-01-02T24:00:00Z", "", "-2h", "2026-01-02",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseTime(s)
		if !ok {
			return
		}
		if !rfc3339.MatchString(s) {
			t.Fatalf("ParseTime accepted %q, which is not RFC 3339's syntax", s)
		}
		std, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !std.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v; time.Parse says %v, %v", s, got, std, err)
		}
		back, ok := ParseTime(got.Format(time.RFC3339Nano))
		if !ok || !back.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v does not read back from %q", s, got, got.Format(time.RFC3339Nano))
		}
	})
}
