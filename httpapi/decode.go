package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/validate"
)

// readBody reads the whole body, at most Options.MaxBodyBytes of it.
func (r *request) readBody() ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(r.w, r.Body, r.s.opts.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, field: "body",
			msg: "body: is larger than the " + strconv.FormatInt(tooLarge.Limit, 10) + "-byte limit"}
	case err != nil:
		return nil, badField("body", "could not be read")
	}
	return body, nil
}

// noBody checks that a route which takes no body got none.
func (r *request) noBody() error {
	body, err := r.readBody()
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		return badField("body", "must be empty: this route takes no body")
	}
	return nil
}

// decode reads the body, a JSON object, into dst, a pointer to a struct whose fields have
// json tags, strictly: a field dst lacks, a field given twice, a value of the wrong type or
// invalid UTF-8 is a 400 naming the field; malformed JSON, anything but an object, and data
// after it are a 400 on "body".
func (r *request) decode(dst any) error {
	body, err := r.readBody()
	if err != nil {
		return err
	}
	return decodeObject(body, dst)
}

// decodeObject decodes a JSON object into dst as decode describes.
func decodeObject(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badField("body", "is required: a JSON object")
	}
	fields := jsonFields(reflect.ValueOf(dst).Elem())
	dec := json.NewDecoder(bytes.NewReader(body))
	malformed := func(err error) error {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return badField("body", "is not valid JSON: %s (at byte %d)", syntax, syntax.Offset)
		}
		return badField("body", "is not valid JSON: it ends too early")
	}
	tok, err := dec.Token()
	if err != nil {
		return malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return badField("body", "must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed(err)
		}
		f, ok := fields[key]
		switch {
		case !ok:
			return badField(key, "is not a field of this request, which takes %s", strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
		case seen[key]:
			return badField(key, "is given more than once")
		case !utf8.Valid(raw):
			return badField(key, "is not valid UTF-8")
		}
		seen[key] = true
		if err := unmarshalField(raw, f); err != nil {
			return badField(key, "%s", typeMessage(f.Type()))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badField("body", "has data after the JSON object")
	}
	return nil
}

// unmarshalField decodes one member's value into the field f. A time is read strictly
// (validate.ParseTime): encoding/json also takes offsets such as "+24:00".
func unmarshalField(raw json.RawMessage, f reflect.Value) error {
	t := f.Type()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != timeType || string(raw) == "null" {
		return json.Unmarshal(raw, f.Addr().Interface())
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	v, ok := validate.ParseTime(s)
	if !ok {
		return errors.New("not an RFC 3339 time")
	}
	if f.Kind() == reflect.Pointer {
		f.Set(reflect.ValueOf(&v))
	} else {
		f.Set(reflect.ValueOf(v))
	}
	return nil
}

// jsonFields maps the json names of a struct's fields (and of its embedded structs' fields)
// to the fields.
func jsonFields(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			for k, f := range jsonFields(v.Field(i)) {
				out[k] = f
			}
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = v.Field(i)
		}
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// typeMessage says what a JSON value for a field of type t must be.
func typeMessage(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "must be an RFC 3339 time, like 2026-01-02T15:04:05Z"
	case t.Kind() == reflect.Bool:
		return "must be true or false"
	case t.Kind() == reflect.Int:
		return "must be an integer"
	case t.Kind() == reflect.Float64:
		return "must be a number"
	case t.Kind() == reflect.String:
		return "must be a string"
	}
	return "has the wrong type"
}

// query is a request's query parameters, checked against those its route takes.
type query url.Values

// parseQuery reads the query string: a parameter the route does not take, one given twice,
// and a value that is not valid UTF-8 are a 400 naming it. An empty value is the same as
// none.
func parseQuery(r *request, params ...string) (query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badField("query", "is not a valid query string")
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case !slices.Contains(params, k) && len(params) == 0:
			return nil, badField(k, "is not a query parameter of this route, which takes none")
		case !slices.Contains(params, k):
			return nil, badField(k, "is not a query parameter of this route, which takes %s", strings.Join(params, ", "))
		case len(v[k]) > 1:
			return nil, badField(k, "is given more than once")
		case !utf8.ValidString(v[k][0]):
			return nil, badField(k, "is not valid UTF-8")
		}
	}
	return query(v), nil
}

// get returns a parameter's value; "" when it is absent.
func (q query) get(name string) string { return url.Values(q).Get(name) }

// list reads the paging parameters limit and cursor. Unlike the Go API, which reads a limit
// of 0 as the default, the API refuses it: only an absent limit means the default.
func (q query) list() (sluice.ListOptions, error) {
	opts := sluice.ListOptions{Cursor: q.get("cursor")}
	if s := q.get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return opts, badField("limit", "must be an integer between 1 and %d, got %s", sluice.MaxPageSize, validate.Quote(s))
		}
		if n == 0 {
			return opts, badField("limit", "must be between 1 and %d, got 0", sluice.MaxPageSize)
		}
		opts.Limit = n
	}
	return opts, nil
}

// time reads an RFC 3339 time parameter, within the range every time input has; zero when
// it is absent.
func (q query) time(name string) (time.Time, error) {
	s := q.get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, ok := validate.ParseTime(s)
	if !ok {
		return t, badField(name, "must be an RFC 3339 time, like 2026-01-02T15:04:05Z, got %s", validate.Quote(s))
	}
	// Checked here, not only by the Go API: there the zero time (year 1) means "absent".
	return t, validate.Time(name, t)
}

// bool reads a true/false parameter; false when it is absent.
func (q query) bool(name string) (bool, error) {
	switch s := q.get(name); s {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, badField(name, "must be true or false, got %s", validate.Quote(s))
	}
}
