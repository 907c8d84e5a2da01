package storecopy

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// kind is how a column's values travel between the stores. Each has one canonical Go form,
// which every side reads into and writes from:
//
//	kindText, kindJSON  string (JSON as its text)
//	kindUUID            string, canonical lowercase
//	kindTime            int64, Unix microseconds (SQLite's INTEGER; PostgreSQL's TIMESTAMPTZ)
//	kindInt             int64
//	kindFloat           float64
//	kindBool            bool (SQLite's INTEGER 0 or 1)
//	kindBytes           []byte
type kind int

const (
	kindText kind = iota
	kindUUID
	kindJSON
	kindTime
	kindInt
	kindFloat
	kindBool
	kindBytes
)

var kindNames = []string{"text", "uuid", "json", "time", "integer", "float", "boolean", "bytes"}

func (k kind) String() string { return kindNames[k] }

// pgKinds are the PostgreSQL types the copy carries.
var pgKinds = map[string]kind{
	"text":                     kindText,
	"uuid":                     kindUUID,
	"jsonb":                    kindJSON,
	"timestamp with time zone": kindTime,
	"smallint":                 kindInt,
	"integer":                  kindInt,
	"bigint":                   kindInt,
	"double precision":         kindFloat,
	"boolean":                  kindBool,
	"bytea":                    kindBytes,
}

// sqliteStorage is the SQLite declared type that holds each kind.
var sqliteStorage = map[kind]string{
	kindText: "TEXT", kindUUID: "TEXT", kindJSON: "TEXT",
	kindTime: "INTEGER", kindInt: "INTEGER", kindBool: "INTEGER",
	kindFloat: "REAL", kindBytes: "BLOB",
}

// sqliteKinds are the kinds of SQLite columns when no PostgreSQL type says more (a copy
// between two SQLite files).
var sqliteKinds = map[string]kind{"TEXT": kindText, "INTEGER": kindInt, "REAL": kindFloat, "BLOB": kindBytes}

// columnKind decides a column's kind from its types in the two stores: a PostgreSQL type
// says what the column holds, a SQLite type must be the one that stores it.
func columnKind(srcType, srcDialect, dstType, dstDialect string) (kind, error) {
	types := map[string][]string{}
	types[srcDialect] = append(types[srcDialect], srcType)
	types[dstDialect] = append(types[dstDialect], dstType)
	var k kind
	switch pg := types["postgres"]; {
	case len(pg) > 0:
		var ok bool
		if k, ok = pgKinds[pg[0]]; !ok {
			return 0, fmt.Errorf("PostgreSQL type %q is not one the copy knows (known: %s)", pg[0], strings.Join(slices.Sorted(maps.Keys(pgKinds)), ", "))
		}
		if len(pg) == 2 && pg[1] != pg[0] {
			return 0, fmt.Errorf("type %q in the source but %q in the target", pg[0], pg[1])
		}
	default:
		var ok bool
		if k, ok = sqliteKinds[strings.ToUpper(srcType)]; !ok {
			return 0, fmt.Errorf("SQLite type %q is not one the copy knows (known: BLOB, INTEGER, REAL, TEXT)", srcType)
		}
	}
	for _, t := range types["sqlite"] {
		if strings.ToUpper(t) != sqliteStorage[k] {
			return 0, fmt.Errorf("SQLite type %q cannot hold a PostgreSQL %s (%s expected)", t, types["postgres"][0], sqliteStorage[k])
		}
	}
	return k, nil
}

// fromPostgres turns a value pgx read (uuid and jsonb columns are read as text) into its
// canonical form.
func fromPostgres(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kindText, kindUUID, kindJSON:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case kindTime:
		if t, ok := v.(time.Time); ok {
			return t.UnixMicro(), nil
		}
	case kindInt:
		switch n := v.(type) {
		case int16:
			return int64(n), nil
		case int32:
			return int64(n), nil
		case int64:
			return n, nil
		}
	case kindFloat:
		if f, ok := v.(float64); ok {
			return f, nil
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kindBytes:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("unexpected %T for a %s column", v, k)
}

// toPostgres turns a canonical value into what pgx sends for a column of its kind. Strings
// go as text, which PostgreSQL parses by the column's type (uuid, jsonb).
func toPostgres(k kind, v any) any {
	if v == nil {
		return nil
	}
	if k == kindTime {
		return time.UnixMicro(v.(int64)).UTC()
	}
	return v
}

// fromSQLite turns a value the SQLite driver read into its canonical form.
func fromSQLite(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kindText, kindJSON:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case kindUUID:
		if s, ok := v.(string); ok {
			id, err := uuid.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("not a UUID: %q", s)
			}
			return id.String(), nil
		}
	case kindTime, kindInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case kindFloat:
		switch f := v.(type) {
		case float64:
			return f, nil
		case int64:
			return float64(f), nil
		}
	case kindBool:
		if n, ok := v.(int64); ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
	case kindBytes:
		if b, ok := v.([]byte); ok {
			return bytes.Clone(b), nil
		}
	}
	return nil, fmt.Errorf("unexpected %T %v for a %s column", v, v, k)
}

// toSQLite turns a canonical value into what SQLite stores for a column of its kind.
func toSQLite(k kind, v any) any {
	if b, ok := v.(bool); ok && k == kindBool {
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// equal compares two canonical values after normalisation: JSON by value (key order,
// spacing and number spelling aside), the rest exactly.
func equal(k kind, a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch k {
	case kindJSON:
		ca, errA := canonicalJSON(a.(string))
		cb, errB := canonicalJSON(b.(string))
		return errA == nil && errB == nil && ca == cb
	case kindBytes:
		return bytes.Equal(a.([]byte), b.([]byte))
	}
	return a == b
}

// canonicalJSON re-encodes a JSON text with sorted keys, no spacing and numbers as exact
// rationals, so two texts of one value compare equal.
func canonicalJSON(s string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := writeCanonical(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeCanonical(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			if err := writeCanonical(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case json.Number:
		r, ok := new(big.Rat).SetString(x.String())
		if !ok {
			return fmt.Errorf("bad number %s", x)
		}
		b.WriteString(r.RatString())
	case string:
		b.WriteString(strconv.Quote(x))
	default: // bool, nil
		enc, _ := json.Marshal(x)
		b.Write(enc)
	}
	return nil
}

// display shows a canonical value in a difference, cut to a readable length.
func display(k kind, v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		s = `\x` + hex.EncodeToString(x)
	case string:
		s = strconv.Quote(x)
	case int64:
		if k == kindTime {
			s = time.UnixMicro(x).UTC().Format(time.RFC3339Nano)
		} else {
			s = strconv.FormatInt(x, 10)
		}
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 80 {
		cut := 77
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
