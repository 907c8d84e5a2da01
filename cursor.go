package sluice

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// A cursor is opaque to callers: base64url (no padding) of {"v":2,"id":…,"f":…,"s":…}, where
// id is the last item of the page, f fingerprints the listing and filter the page was listed
// with, so that a cursor used with another filter is refused rather than silently paging
// something else, and s is a checksum over id and f, so that a cursor altered in transit or by
// hand (a flipped bit, a cut) is refused rather than paging from somewhere else. Neither is a
// secret, nor needs to be: a cursor only says where a listing resumes, while what the listing
// may show comes from the request's own filter and token.
//
// A listing in key order rather than id order (ListGroups) resumes after a key instead of an
// id: its cursor is {"v":2,"app":…,"t":…,"g":…,"f":…,"s":…}, the last failure group's app
// id, type and signature, with the same fingerprint and a checksum over all of them. Neither
// kind of cursor decodes as the other.

const cursorVersion = 2

// maxCursorLength bounds what decodeCursor and decodeKeyCursor read: the id cursors they
// issue are about 150 characters long, key cursors (which carry a job type of up to 128
// characters) at most about 520.
const maxCursorLength = 1024

type cursorState struct {
	V  int       `json:"v"`
	ID uuid.UUID `json:"id"`
	F  string    `json:"f"`
	S  string    `json:"s"`
}

// filterKey fingerprints a listing's kind and filter values. The values are encoded as one
// JSON array, so that no two different filters give the same text to hash (a separator that
// a filter value could contain would let "a|b" + "" collide with "a" + "b").
func filterKey(kind string, parts ...any) string {
	raw, err := json.Marshal(append([]any{kind}, parts...))
	if err != nil {
		// The parts are ids, strings, integers and booleans, which always encode.
		panic("sluice: fingerprinting a listing filter: " + err.Error())
	}
	return digest(raw, 12)
}

// cursorSum is a cursor's checksum over its id and filter fingerprint.
func cursorSum(id uuid.UUID, key string) string {
	return digest([]byte("cursor\x00"+id.String()+"\x00"+key), 9)
}

// digest is the first n bytes of data's SHA-256, base64url-encoded.
func digest(data []byte, n int) string {
	sum := sha256.Sum256(data)
	return base64.RawURLEncoding.EncodeToString(sum[:n])
}

func encodeCursor(last uuid.UUID, key string) string {
	raw, _ := json.Marshal(cursorState{V: cursorVersion, ID: last, F: key, S: cursorSum(last, key)})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// errBadCursor is the error of a cursor that is malformed or altered.
func errBadCursor() error { return store.Fieldf("cursor", "is not a cursor this listing issued") }

// errOtherFilter is the error of a cursor issued for another listing or filter.
func errOtherFilter() error {
	return store.Fieldf("cursor", "belongs to a listing with a different filter")
}

// readCursor decodes a non-empty cursor's JSON into st, accepting only the canonical base64url
// of exactly one JSON object with no field st lacks.
func readCursor(cursor string, st any) bool {
	if len(cursor) > maxCursorLength {
		return false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	// The decoder skips line breaks: only the canonical encoding is the cursor issued.
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != cursor {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	return dec.Decode(st) == nil && !dec.More()
}

// decodeCursor returns the id to page below, nil for an empty cursor, or a *FieldError on
// "cursor" for one that is malformed, altered, or belongs to another filter.
func decodeCursor(cursor, key string) (*uuid.UUID, error) {
	if cursor == "" {
		return nil, nil
	}
	var st cursorState
	if !readCursor(cursor, &st) || st.V != cursorVersion || st.ID == uuid.Nil || st.F == "" || st.S != cursorSum(st.ID, st.F) {
		return nil, errBadCursor()
	}
	if st.F != key {
		return nil, errOtherFilter()
	}
	return &st.ID, nil
}

// keyCursorState is a key cursor: where a key-ordered listing of failure groups resumes.
type keyCursorState struct {
	V   int       `json:"v"`
	App uuid.UUID `json:"app"`
	T   string    `json:"t"`
	G   string    `json:"g"`
	F   string    `json:"f"`
	S   string    `json:"s"`
}

// keyCursorSum is a key cursor's checksum over its key and filter fingerprint.
func keyCursorSum(k store.GroupKey, filter string) string {
	raw, _ := json.Marshal([]string{"key-cursor", k.AppID.String(), k.Type, k.Signature, filter})
	return digest(raw, 9)
}

// encodeKeyCursor returns the cursor that resumes a key-ordered listing after last.
func encodeKeyCursor(last store.GroupKey, key string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a type's <, > and & stay one byte each
	_ = enc.Encode(keyCursorState{V: cursorVersion, App: last.AppID, T: last.Type, G: last.Signature, F: key, S: keyCursorSum(last, key)})
	return base64.RawURLEncoding.EncodeToString([]byte(strings.TrimSuffix(buf.String(), "\n")))
}

// decodeKeyCursor returns the key to resume after, nil for an empty cursor, or a *FieldError
// on "cursor" for one that is malformed, altered, or belongs to another filter.
func decodeKeyCursor(cursor, key string) (*store.GroupKey, error) {
	if cursor == "" {
		return nil, nil
	}
	var st keyCursorState
	if !readCursor(cursor, &st) || st.V != cursorVersion || st.App == uuid.Nil || st.T == "" || st.G == "" || st.F == "" {
		return nil, errBadCursor()
	}
	k := store.GroupKey{AppID: st.App, Type: st.T, Signature: st.G}
	if st.S != keyCursorSum(k, st.F) {
		return nil, errBadCursor()
	}
	if st.F != key {
		return nil, errOtherFilter()
	}
	return &k, nil
}
