// Package redact masks fields of JSON payloads for display: the HTTP API, the web UI, the
// CLI and exports show a payload with the values at configured paths replaced by Mask. It
// never changes what is stored, what a handler receives or what a replay enqueues.
//
// # Paths
//
// A rule is [TYPE:]PATH. PATH is a dot-separated list of object keys, where a key "*" stands
// for every key of an object, and "[*]" after a key (or alone at the start) for every element
// of an array:
//
//	card.number          the number field of the card object
//	items[*].ssn         the ssn field of every element of the items array
//	[*].token            the token field of every element of a payload that is an array
//	secrets.*            every field of the secrets object
//	invoice.charge:card  the card field, only in payloads of jobs of type invoice.charge
//
// Keys are matched exactly (case-sensitive) and may hold any printable characters but
// white space and . [ ] : , * (so rules can be listed with commas). A path that matches
// nothing in a payload changes nothing; a matched value of any kind (an object or an array
// included) becomes the string Mask.
package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// Mask is what a redacted value is shown as.
const Mask = "[redacted]"

// MaxRules bounds how many rules one Redactor holds.
const MaxRules = 100

// segment is one step of a path: a key, every key ("*"), or every element ("[*]").
type segment struct {
	key      string
	anyKey   bool
	anyIndex bool
}

// rule is one parsed rule.
type rule struct {
	jobType string // "" for every type
	path    []segment
}

// Redactor masks the payload fields its rules name. The nil *Redactor masks nothing. It is
// safe for concurrent use.
type Redactor struct {
	rules []rule
}

// Parse reads rules; a bad one is a *store.FieldError naming field[i] and saying what is
// wrong with it. No rules (or only empty strings) is a nil Redactor.
func Parse(field string, specs []string) (*Redactor, error) {
	if len(specs) > MaxRules {
		return nil, store.Fieldf(field, "must be at most %d paths, got %d", MaxRules, len(specs))
	}
	r := &Redactor{}
	for i, spec := range specs {
		name := fmt.Sprintf("%s[%d]", field, i)
		ru, err := parseRule(spec)
		if err != nil {
			return nil, store.Fieldf(name, "%s is not a redaction path: %s (write KEY.KEY, KEY[*].KEY, or TYPE:PATH)", validate.Quote(spec), err)
		}
		r.rules = append(r.rules, ru)
	}
	if len(r.rules) == 0 {
		return nil, nil
	}
	return r, nil
}

func parseRule(spec string) (rule, error) {
	var ru rule
	path := spec
	if i := strings.LastIndexByte(spec, ':'); i >= 0 {
		ru.jobType, path = spec[:i], spec[i+1:]
		if err := validate.Identifier("type", ru.jobType); err != nil {
			return ru, fmt.Errorf("the job type before ':' %s", strings.TrimPrefix(err.Error(), "type: "))
		}
	}
	if path == "" {
		return ru, fmt.Errorf("the path is empty")
	}
	rest := path
	first := true
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "[*]"):
			ru.path = append(ru.path, segment{anyIndex: true})
			rest = rest[3:]
		case strings.HasPrefix(rest, "[") || strings.HasPrefix(rest, "]"):
			return ru, fmt.Errorf("only [*] (every element) may follow a key, at %s", validate.Quote(rest))
		default:
			if !first {
				if rest[0] != '.' {
					return ru, fmt.Errorf("expected '.' or [*] at %s", validate.Quote(rest))
				}
				rest = rest[1:]
			}
			end := strings.IndexAny(rest, ".[]")
			if end < 0 {
				end = len(rest)
			}
			key := rest[:end]
			if key == "" {
				return ru, fmt.Errorf("a key is empty")
			}
			if key == "*" {
				ru.path = append(ru.path, segment{anyKey: true})
			} else {
				for _, c := range key {
					if unicode.IsSpace(c) || !unicode.IsPrint(c) || strings.ContainsRune(":,*", c) {
						return ru, fmt.Errorf("the key %s holds %q, which keys may not", validate.Quote(key), c)
					}
				}
				ru.path = append(ru.path, segment{key: key})
			}
			rest = rest[end:]
		}
		first = false
	}
	return ru, nil
}

// Applies reports whether any rule may mask payloads of jobs of this type.
func (r *Redactor) Applies(jobType string) bool {
	if r == nil {
		return false
	}
	for _, ru := range r.rules {
		if ru.jobType == "" || ru.jobType == jobType {
			return true
		}
	}
	return false
}

// Payload returns the payload of a job of this type with the values the rules name masked;
// the payload itself when no rule matches anything in it (or it cannot be read, which a
// stored payload always can). It never changes raw.
func (r *Redactor) Payload(jobType string, raw json.RawMessage) json.RawMessage {
	if !r.Applies(jobType) || len(raw) == 0 {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers stay as they were written
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	changed := false
	for _, ru := range r.rules {
		if ru.jobType == "" || ru.jobType == jobType {
			var c bool
			v, c = mask(v, ru.path)
			changed = changed || c
		}
	}
	if !changed {
		return raw
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// mask masks what path names inside v and reports whether it masked anything.
func mask(v any, path []segment) (any, bool) {
	if len(path) == 0 {
		return Mask, true
	}
	seg, rest := path[0], path[1:]
	changed := false
	switch {
	case seg.anyIndex:
		arr, ok := v.([]any)
		if !ok {
			return v, false
		}
		for i := range arr {
			var c bool
			arr[i], c = mask(arr[i], rest)
			changed = changed || c
		}
	case seg.anyKey:
		obj, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		for k := range obj {
			var c bool
			obj[k], c = mask(obj[k], rest)
			changed = changed || c
		}
	default:
		obj, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		child, ok := obj[seg.key]
		if !ok {
			return v, false
		}
		obj[seg.key], changed = mask(child, rest)
	}
	return v, changed
}
