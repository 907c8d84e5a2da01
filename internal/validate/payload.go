package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/store"
)

// Payload limits.
const (
	// MaxPayloadBytes is the largest payload accepted: 1 MiB.
	MaxPayloadBytes = 1 << 20
	// MaxPayloadDepth is the deepest nesting of arrays and objects accepted.
	MaxPayloadDepth = 100
	// MaxNumberScale is the most digits after the decimal point a payload number may need
	// when written out without an exponent: PostgreSQL's numeric, in which jsonb keeps
	// numbers, refuses more.
	MaxNumberScale = 16383
	// maxExponent bounds a payload number's exponent (numeric refuses one of ±2^30 or beyond,
	// even on a zero).
	maxExponent = 999_999_999
)

// Payload checks a job payload: a JSON object or array of at most 1 MiB, valid UTF-8, nested
// at most 100 deep, with no duplicate keys in an object, no NUL character (\u0000) and no
// lone UTF-16 surrogate in any string, and every number within a 64-bit float's range (not
// so large it overflows, nor so small that a non-zero number underflows to zero) and needing
// at most 16383 digits after the decimal point. These are what both stores can keep
// identically; PostgreSQL's jsonb would refuse or change the rest.
func Payload(field string, raw []byte) error {
	if len(raw) == 0 {
		return store.Fieldf(field, "is required")
	}
	if len(raw) > MaxPayloadBytes {
		return store.Fieldf(field, "is %d bytes, more than the %d-byte (1 MiB) limit", len(raw), MaxPayloadBytes)
	}
	if !utf8.Valid(raw) {
		return store.Fieldf(field, "is not valid UTF-8")
	}
	if err := checkEscapes(raw); err != nil {
		return store.Fieldf(field, "%s", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	first, err := dec.Token()
	if err != nil {
		return store.Fieldf(field, "is not valid JSON: %s", jsonError(err))
	}
	if d, ok := first.(json.Delim); !ok || (d != '{' && d != '[') {
		return store.Fieldf(field, "must be a JSON object or array")
	}
	if err := checkValue(dec, first.(json.Delim)); err != nil {
		return store.Fieldf(field, "%s", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return store.Fieldf(field, "is not valid JSON: unexpected data after the top-level value")
	}
	return nil
}

// checkValue walks the container opened by open, tracking depth and each object's keys.
func checkValue(dec *json.Decoder, open json.Delim) error {
	type frame struct {
		object bool
		keys   map[string]struct{}
		atKey  bool // in an object, the next token is a key
	}
	stack := []frame{{object: open == '{', keys: map[string]struct{}{}, atKey: open == '{'}}
	for len(stack) > 0 {
		tok, err := dec.Token()
		if err != nil {
			return errors.New("is not valid JSON: " + jsonError(err))
		}
		top := &stack[len(stack)-1]
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].atKey = true
			}
			continue
		}
		if top.object && top.atKey {
			key := tok.(string)
			if _, dup := top.keys[key]; dup {
				return errors.New("has the key " + Quote(key) + " twice in one object")
			}
			top.keys[key] = struct{}{}
			top.atKey = false
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			if len(stack) >= MaxPayloadDepth {
				return errors.New("is nested more than " + strconv.Itoa(MaxPayloadDepth) + " levels deep")
			}
			stack = append(stack, frame{object: v == '{', keys: map[string]struct{}{}, atKey: v == '{'})
			continue
		case json.Number:
			if err := checkNumber(string(v)); err != nil {
				return err
			}
		}
		if top.object {
			top.atKey = true
		}
	}
	return nil
}

// checkNumber checks one number of a payload, which the decoder has found well formed:
// -?digits(.digits)?([eE][+-]?digits)?.
func checkNumber(num string) error {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return errors.New("has the number " + Quote(num) + ", outside a 64-bit float's range")
	}
	mantissa, exponent, _ := strings.Cut(strings.ToLower(num), "e")
	_, frac, _ := strings.Cut(mantissa, ".")
	if f == 0 && strings.ContainsAny(mantissa, "123456789") {
		return errors.New("has the number " + Quote(num) + ", too small for a 64-bit float (it would become 0)")
	}
	exp := 0
	if exponent != "" {
		digits := strings.TrimLeft(strings.TrimLeft(exponent, "+-"), "0")
		if len(digits) > len(strconv.Itoa(maxExponent)) {
			return errors.New("has the number " + Quote(num) + ", whose exponent is out of range")
		}
		exp, _ = strconv.Atoi(digits) // at most 9 digits: it fits
		if strings.HasPrefix(exponent, "-") {
			exp = -exp
		}
	}
	if len(frac)-exp > MaxNumberScale {
		return errors.New("has the number " + Quote(num) + ", which needs more than " +
			strconv.Itoa(MaxNumberScale) + " digits after the decimal point")
	}
	return nil
}

// checkEscapes finds what encoding/json decodes silently but the stores cannot keep alike:
// the escape \u0000 and UTF-16 surrogates that are not a proper high-low pair.
func checkEscapes(raw []byte) error {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(raw) {
				return nil // malformed; the decoder reports it
			}
			if raw[i+1] != 'u' {
				i++
				continue
			}
			r, ok := hex4(raw, i+2)
			if !ok {
				return nil // malformed; the decoder reports it
			}
			switch {
			case r == 0:
				return errors.New("contains a NUL character (\\u0000), which cannot be stored")
			case r >= 0xDC00 && r <= 0xDFFF:
				return errors.New("contains a lone UTF-16 low surrogate (\\u" + string(raw[i+2:i+6]) + ")")
			case r >= 0xD800 && r <= 0xDBFF:
				var low rune
				ok := i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u'
				if ok {
					low, ok = hex4(raw, i+8)
				}
				if !ok || low < 0xDC00 || low > 0xDFFF {
					return errors.New("contains a lone UTF-16 high surrogate (\\u" + string(raw[i+2:i+6]) + ")")
				}
				i += 11
				continue
			}
			i += 5
		}
	}
	return nil
}

func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(raw[at:at+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// jsonError describes a decoding error without Go type names.
func jsonError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syn.Error() + " at byte " + strconv.FormatInt(syn.Offset, 10)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}
