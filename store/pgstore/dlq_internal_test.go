package pgstore

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/store"
)

// historyCases are error histories as PostgreSQL writes jsonb out, as Sluice writes JSON, and
// every way the fast path must step aside from (or fail like) store.DecodeHistory.
var historyCases = []string{
	`[]`, ` [ ] `, `[{"error": "boom", "timestamp": 1764201600000}]`,
	`[{"error":"a","timestamp":1},{"error":"b","timestamp":2}]`,
	`[{"error": "a", "timestamp": 1}, {"error": "b", "timestamp": 2}]`,
	"[\n {\"error\" : \"a\" ,\t\"timestamp\":\r-3 }\n]",
	`[{"timestamp": 5, "error": "order"}]`, `[{}]`, `[{"error": ""}]`, `[{"timestamp": 0}]`,
	`[{"error": "quote \" backslash \\ slash \/ \b\f\n\r\t end", "timestamp": 7}]`,
	`[{"error": "unicode \u00e9 \ud83d\ude00 \u0000", "timestamp": 7}]`, `[{"error": "lone \ud800", "timestamp": 7}]`,
	`[{"error": "héllo wörld ✓ 😀", "timestamp": 7}]`, "[{\"error\": \"bad \xff utf8\", \"timestamp\": 7}]",
	"[{\"error\": \"raw \x01 control\", \"timestamp\": 7}]", `[{"error": "bad \x escape", "timestamp": 7}]`,
	`[{"Error": "case", "TIMESTAMP": 9}]`, `[{"error": "dup", "error": "twice", "timestamp": 1}]`,
	`[{"error": "x", "timestamp": 1, "extra": true}]`, `[{"error": null, "timestamp": null}]`,
	`[{"error": 5, "timestamp": 1}]`, `[{"error": "x", "timestamp": "1"}]`,
	`[{"error": "x", "timestamp": 1.5}]`, `[{"error": "x", "timestamp": 1e3}]`, `[{"error": "x", "timestamp": 1.0}]`,
	`[{"error": "x", "timestamp": 01}]`, `[{"error": "x", "timestamp": -0}]`, `[{"error": "x", "timestamp": +1}]`,
	`[{"error": "x", "timestamp": -}]`, `[{"error": "x", "timestamp": 9223372036854775807}]`,
	`[{"error": "x", "timestamp": 9223372036854775808}]`, `[{"error": "x", "timestamp": -9223372036854775808}]`,
	`[{"error": "x", "timestamp": -9223372036854775809}]`, `[{"error": "x", "timestamp": 99999999999999999999999}]`,
	`null`, `{}`, `[null]`, `[1]`, `["x"]`, `[{"error": "x", "timestamp": 1},]`, `[{"error": "x", "timestamp": 1}`,
	`[{"error": "x", "timestamp": 1}] x`, `[{"error": "x" "timestamp": 1}]`, `[{"error" "x"}]`, `[{"error": "x}]`,
	``, `[`, `[{`, `[{"error`, `[{"error": "x\`,
}

// TestDecodeHistoryAsEncodingJSON checks that decodeHistory returns what store.DecodeHistory
// (encoding/json) returns, or fails where it fails, on every case.
func TestDecodeHistoryAsEncodingJSON(t *testing.T) {
	for _, raw := range historyCases {
		checkHistory(t, []byte(raw))
	}
	// Sluice's own encoding of awkward text, as the SQLite store and older writers hold it.
	for _, text := range []string{"plain", "tab\tnewline\n", `quote " backslash \`, "<html> & ünïcödé 😀", "\u2028\u2029", "\x7f"} {
		raw, err := json.Marshal([]store.ErrorRecord{{Error: text, Timestamp: 42}, {Error: text + "!", Timestamp: -42}})
		if err != nil {
			t.Fatal(err)
		}
		checkHistory(t, raw)
	}
}

// TestDecodeHistoryFastPath checks that the usual histories take the fast path.
func TestDecodeHistoryFastPath(t *testing.T) {
	for _, raw := range []string{`[]`, `[{"error": "boom", "timestamp": 1764201600000}]`,
		`[{"error": "a\nb \"q\"", "timestamp": 1}, {"error": "c", "timestamp": 2}]`} {
		if _, ok := parseHistory([]byte(raw)); !ok {
			t.Errorf("%s: not taken by the fast path", raw)
		}
	}
}

func FuzzDecodeHistory(f *testing.F) {
	for _, raw := range historyCases {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkHistory(t, raw) })
}

func checkHistory(t *testing.T, raw []byte) {
	t.Helper()
	want, wantErr := store.DecodeHistory(raw)
	got, err := decodeHistory(raw)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("%q: error %v, want %v", raw, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) || (got == nil) != (want == nil) {
		t.Fatalf("%q: got %#v, want %#v", raw, got, want)
	}
}
