package sluice

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// A cursor is opaque to callers: base64url (no padding) of {"v":1,"id":…,"f":…}, where id is
// the last item of the page and f fingerprints the filter the page was listed with, so that a
// cursor used with another filter is refused rather than silently paging something else.

const cursorVersion = 1

type cursorState struct {
	V  int       `json:"v"`
	ID uuid.UUID `json:"id"`
	F  string    `json:"f"`
}

// filterKey fingerprints a listing's kind and filter values.
func filterKey(kind string, parts ...any) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, p := range parts {
		switch v := p.(type) {
		case *uuid.UUID:
			if v != nil {
				fmt.Fprintf(&b, "|%s", v)
			} else {
				b.WriteString("|")
			}
		default:
			fmt.Fprintf(&b, "|%v", v)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func encodeCursor(last uuid.UUID, key string) string {
	raw, _ := json.Marshal(cursorState{V: cursorVersion, ID: last, F: key})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeCursor returns the id to page below, nil for an empty cursor, or a *FieldError on
// "cursor" for one that is malformed or belongs to another filter.
func decodeCursor(cursor, key string) (*uuid.UUID, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := store.Fieldf("cursor", "is not a cursor this listing issued")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	var st cursorState
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil || st.V != cursorVersion || st.ID == uuid.Nil || st.F == "" {
		return nil, bad
	}
	if st.F != key {
		return nil, store.Fieldf("cursor", "belongs to a listing with a different filter")
	}
	return &st.ID, nil
}
