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

const cursorVersion = 2

// maxCursorLength bounds what decodeCursor reads: the cursors it issues are about 150
// characters long.
const maxCursorLength = 512

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

// decodeCursor returns the id to page below, nil for an empty cursor, or a *FieldError on
// "cursor" for one that is malformed, altered, or belongs to another filter.
func decodeCursor(cursor, key string) (*uuid.UUID, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := store.Fieldf("cursor", "is not a cursor this listing issued")
	if len(cursor) > maxCursorLength {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	// The decoder skips line breaks: only the canonical encoding is the cursor issued.
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != cursor {
		return nil, bad
	}
	var st cursorState
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil || dec.More() || st.V != cursorVersion || st.ID == uuid.Nil ||
		st.F == "" || st.S != cursorSum(st.ID, st.F) {
		return nil, bad
	}
	if st.F != key {
		return nil, store.Fieldf("cursor", "belongs to a listing with a different filter")
	}
	return &st.ID, nil
}
