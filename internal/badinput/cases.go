package badinput

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// The limits the cases are written against (DESIGN.md, "Limits and formats").
const (
	mib          = 1 << 20
	maxName      = 128
	maxUniqueKey = 255
)

// Why texts shared by several cases.
const (
	whyBody      = "the input is not JSON, so the HTTP request body that carries it is what is refused"
	whyZeroIsDef = "the Go API reads 0 as the default; the CLI and the HTTP API only read an absent value so"
	whyZeroTime  = "year 1 is Go's zero time, which the Go API reads as absent (so a bulk filter of it alone is empty); the CLI and the HTTP API refuse it"
	whyRelative  = "only the CLI reads times relative to now"
	whyTooLarge  = "the HTTP request body is over the API's 2 MiB limit (413)"
	whyDepth     = "encoding/json refuses the HTTP request body at its own nesting limit (10,000)"
)

// job is an enqueue of a valid job of the fixture's app acme, changed by edit.
func job(edit func(in *Input)) Input {
	in := Input{App: "acme", Type: "corpus.job", Payload: []byte(`{}`)}
	edit(&in)
	return in
}

// withPayload is an enqueue of a valid job with this payload.
func withPayload(p []byte) Input { return job(func(in *Input) { in.Payload = p }) }

// payloadOf returns a JSON object payload of exactly n bytes: {"a":"xxx…"}.
func payloadOf(n int) []byte {
	return []byte(`{"a":"` + strings.Repeat("x", n-len(`{"a":""}`)) + `"}`)
}

// nested returns depth arrays (or objects) nested in each other.
func nested(depth int, objects bool) []byte {
	if objects {
		return []byte(strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat("}", depth-1))
	}
	return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
}

// isIdentifier is the contract's rule for types and queues: 1–128 printable ASCII
// characters, no spaces.
func isIdentifier(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func oversized() []Case {
	c := func(name string, op Op, in Input, field string) Case {
		return Case{Name: name, Category: Oversized, Op: op, In: in, Field: field}
	}
	big := strings.Repeat("x", 100_000)
	tenMiB := c("payload of 10 MiB", Enqueue, withPayload(payloadOf(10*mib)), "payload")
	tenMiB.Differs, tenMiB.Why = map[Surface]string{HTTP: "body"}, whyTooLarge
	return []Case{
		c("payload of exactly 1 MiB", Enqueue, withPayload(payloadOf(mib)), ""),
		c("payload of 1 MiB + 1 byte", Enqueue, withPayload(payloadOf(mib+1)), "payload"),
		tenMiB,
		c("app name of 100,000 characters", CreateApp, Input{App: big}, "name"),
		c("type of 100,000 characters", Enqueue, job(func(in *Input) { in.Type = big }), "type"),
		c("queue of 100,000 characters", Enqueue, job(func(in *Input) { in.Queue = big }), "queue"),
		c("unique key of 100,000 characters", Enqueue, job(func(in *Input) { in.UniqueKey = big }), "uniqueKey"),
		c("app of 100,000 characters", Enqueue, job(func(in *Input) { in.App = big }), "app"),
		c("app filter of 100,000 characters", ListDead, Input{App: big}, "app"),
		c("type filter of 100,000 characters", ListJobs, Input{Type: big}, "type"),
		c("errorContains of 100,000 characters", ListDead, Input{ErrorContains: big}, "errorContains"),
		c("errorContains of 100,000 characters", ReplayMany, Input{ErrorContains: big}, "errorContains"),
	}
}

func invalidJSON() []Case {
	var cs []Case
	for _, d := range Documents() {
		c := Case{Name: "payload: " + d.Name, Category: InvalidJSON, Op: Enqueue, In: withPayload(d.Text), Field: "payload"}
		if d.Syntax && len(d.Text) > 0 { // an empty payload is no payload, on every surface
			c.Differs, c.Why = map[Surface]string{HTTP: "body"}, whyBody
		}
		cs = append(cs, c)
	}
	for _, p := range []struct{ name, text string }{
		{"an empty object", `{}`},
		{"an empty array", `[]`},
		{"mixed values", `{"a":[1,-2.5,true,false,null,{"b":"c"}],"d":{}}`},
		{"an empty key", `{"":""}`},
		{"keys out of order", `{"b":2,"a":1}`},
		{"the same key in sibling objects", `[{"a":1},{"a":2}]`},
		{"an integer beyond 64 bits", `{"n":12345678901234567890123}`},
		{"the largest float64", `[1.7976931348623157e308]`},
		{"the smallest float64", `[5e-324]`},
		{"negative zero", `[-0]`},
		{"an exponent in capitals", `[1E2]`},
		{"zero with 16383 decimals", `[0e-16383]`},
		{"escaped surrogate pair", `{"s":"\ud83d\ude80"}`},
		{"escaped slash and line separator", `{"s":"\/\u2028\u2029"}`},
		{"raw multi-byte text", `{"s":"Zürich, 東京, 👨‍👩‍👧"}`},
		{"U+FFFF", `{"s":"\uffff"}`},
		{"white space around", " \t\n{\"a\":1}\n "},
	} {
		cs = append(cs, Case{Name: "payload: " + p.name, Category: InvalidJSON, Op: Enqueue, In: withPayload([]byte(p.text))})
	}
	return cs
}

func nesting() []Case {
	c := func(name string, p []byte, field string) Case {
		return Case{Name: name, Category: Nesting, Op: Enqueue, In: withPayload(p), Field: field}
	}
	deep := func(name string, p []byte) Case {
		cs := c(name, p, "payload")
		cs.Differs, cs.Why = map[Surface]string{HTTP: "body"}, whyDepth
		return cs
	}
	mixed := []byte(strings.Repeat(`[{"a":`, 50) + `[]` + strings.Repeat("}]", 50))
	return []Case{
		c("arrays 100 deep", nested(100, false), ""),
		c("objects 100 deep", nested(100, true), ""),
		c("arrays 101 deep", nested(101, false), "payload"),
		c("objects 101 deep", nested(101, true), "payload"),
		c("arrays and objects 101 deep", mixed, "payload"),
		deep("arrays 100,000 deep", nested(100_000, false)),
		deep("objects 100,000 deep", nested(100_000, true)),
		deep("arrays 100,000 deep, unclosed", []byte(strings.Repeat("[", 100_000))),
	}
}

// refusedAppNames are app names the contract refuses, for a new app and a renamed one.
var refusedAppNames = []struct{ name, value string }{
	{"empty", ""},
	{"129 ASCII characters", strings.Repeat("n", maxName+1)},
	{"129 two-byte characters", strings.Repeat("é", maxName+1)},
	{"129 emoji", strings.Repeat("🚀", maxName+1)},
	{"one letter and 128 combining marks", "Z" + strings.Repeat("\u0336", maxName)},
	{"NUL", "a\x00b"},
	{"a newline", "a\nb"},
	{"a tab", "a\tb"},
	{"DEL", "a\x7fb"},
	{"a C1 control", "a\u009bb"},
	{"leading space", " acme2"},
	{"trailing space", "acme2 "},
	{"leading no-break space", "\u00a0acme2"},
	{"only spaces", "   "},
	{"a UUID", "0190a5a4-0000-7000-8000-000000000000"},
	{"a UUID in capitals", "0190A5A4-0000-7000-8000-00000000000A"},
	{"a UUID in braces", "{0190a5a4-0000-7000-8000-000000000000}"},
	{"a UUID URN", "urn:uuid:0190a5a4-0000-7000-8000-000000000000"},
	{"a UUID without dashes", "0190a5a4000070008000000000000000"},
	{"invalid UTF-8", "a\xffb"},
	{"an overlong UTF-8 slash", "a\xc0\xafb"},
	{"a UTF-8 surrogate", "a\xed\xa0\x80b"},
	{"taken", "acme"},
}

func names() []Case {
	var cs []Case
	app := func(name, value, field string) {
		cs = append(cs, Case{Name: "app name: " + name, Category: Names, Op: CreateApp, In: Input{App: value}, Field: field})
	}
	for _, n := range []struct{ name, value string }{
		{"one character", "a"},
		{"128 ASCII characters", strings.Repeat("n", maxName)},
		{"128 two-byte characters", strings.Repeat("é", maxName)},
		{"128 emoji", strings.Repeat("🚀", maxName)},
		{"a combining mark", "cafe\u0301"},
		{"the same, precomposed", "café"},
		{"one letter and 127 combining marks", "Z" + strings.Repeat("\u0336", maxName-1)},
		{"a right-to-left override", "\u202Eevil.exe\u202C"},
		{"a zero-width joiner sequence", "team 👨\u200D👩\u200D👧"},
		{"a flag", "🇺🇦 ops"},
		{"a zero-width space", "a\u200Bb"},
		{"a byte order mark inside", "a\uFEFFb"},
		{"U+FFFF", "x\uFFFF"},
		{"U+10FFFF", "x\U0010FFFF"},
		{"a Cyrillic homoglyph of acme", "аcme"},
		{"acme in capitals", "ACME"},
		{"one character short of a UUID", "0190a5a4-0000-7000-8000-00000000000"},
	} {
		app(n.name, n.value, "")
	}
	for _, n := range refusedAppNames {
		app(n.name, n.value, "name")
		// A rename is refused alike; acme's own name is no conflict, another app's is.
		if n.value == "acme" {
			n.value = "globex"
		}
		cs = append(cs, Case{Name: "new name: " + n.name, Category: Names, Op: RenameApp,
			In: Input{App: "acme", Name: n.value}, Field: "name"})
	}
	cs = append(cs, Case{Name: "new name: the same as the old", Category: Names, Op: RenameApp, In: Input{App: "acme", Name: "acme"}})
	enq := func(name, field string, edit func(in *Input)) {
		cs = append(cs, Case{Name: name, Category: Names, Op: Enqueue, In: job(edit), Field: field})
	}
	enq("type of 128 characters", "", func(in *Input) { in.Type = strings.Repeat("t", maxName) })
	enq("type of every printable ASCII character", "", func(in *Input) { in.Type = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" })
	enq("queue of 128 characters", "", func(in *Input) { in.Queue = strings.Repeat("q", maxName) })
	enq("unique key of 255 characters", "", func(in *Input) { in.UniqueKey = strings.Repeat("k", maxUniqueKey) })
	enq("unique key of odd Unicode", "", func(in *Input) { in.UniqueKey = "\u202Ek👨\u200D👩\u0301" })
	enq("the app by its odd name", "", func(in *Input) { in.App = InjectionAppName })
	for _, t := range []struct{ name, value, field string }{
		{"empty", "", "type"},
		{"129 characters", strings.Repeat("t", maxName+1), "type"},
		{"a space", "a b", "type"},
		{"non-ASCII", "é", "type"},
		{"NUL", "a\x00", "type"},
		{"DEL", "a\x7f", "type"},
		{"a tab", "a\tb", "type"},
		{"invalid UTF-8", "a\xff", "type"},
	} {
		enq("type: "+t.name, t.field, func(in *Input) { in.Type = t.value })
		if t.value != "" { // an empty queue is the default one
			enq("queue: "+t.name, "queue", func(in *Input) { in.Queue = t.value })
		}
	}
	enq("unique key of 256 characters", "uniqueKey", func(in *Input) { in.UniqueKey = strings.Repeat("k", maxUniqueKey+1) })
	enq("unique key with a newline", "uniqueKey", func(in *Input) { in.UniqueKey = "k\n" })
	enq("unique key with NUL", "uniqueKey", func(in *Input) { in.UniqueKey = "k\x00" })
	enq("unique key of invalid UTF-8", "uniqueKey", func(in *Input) { in.UniqueKey = "k\xff" })
	enq("no app", "app", func(in *Input) { in.App = "" })
	enq("an app that does not exist", "app", func(in *Input) { in.App = "no-such-app" })
	enq("an app id that does not exist", "app", func(in *Input) { in.App = "0190a5a4-0000-7000-8000-000000000000" })
	enq("an app with NUL", "app", func(in *Input) { in.App = "acme\x00" })
	enq("an app of invalid UTF-8", "app", func(in *Input) { in.App = "acme\xff" })
	enq("an app in other capitals", "app", func(in *Input) { in.App = "Acme" })
	filter := func(name string, op Op, in Input, field string) {
		cs = append(cs, Case{Name: name, Category: Names, Op: op, In: in, Field: field})
	}
	filter("status pending", ListJobs, Input{Status: "pending"}, "")
	filter("status in capitals", ListJobs, Input{Status: "PENDING"}, "status")
	filter("status with a trailing space", ListJobs, Input{Status: "pending "}, "status")
	filter("status dead", ListJobs, Input{Status: "dead"}, "status")
	filter("type filter of non-ASCII", ListJobs, Input{Type: "é"}, "type")
	filter("app filter in other capitals", ListJobs, Input{App: "ACME2"}, "app")
	filter("app filter naming a UUID no app has", ListDead, Input{App: "0190a5a4-0000-7000-8000-000000000000"}, "app")
	filter("app filter of invalid UTF-8", ListDead, Input{App: "acme\xff"}, "app")
	filter("app filter with NUL", ListDead, Input{App: "acme\x00"}, "app")
	filter("errorContains of 255 characters", ListDead, Input{ErrorContains: strings.Repeat("e", maxUniqueKey)}, "")
	filter("errorContains of 255 emoji", ListDead, Input{ErrorContains: strings.Repeat("🚀", maxUniqueKey)}, "")
	filter("errorContains of 256 characters", ListDead, Input{ErrorContains: strings.Repeat("e", maxUniqueKey+1)}, "errorContains")
	filter("errorContains with NUL", ListDead, Input{ErrorContains: "smtp\x00"}, "errorContains")
	filter("errorContains with a newline", ListDead, Input{ErrorContains: "smtp\n"}, "errorContains")
	filter("errorContains of invalid UTF-8", ListDead, Input{ErrorContains: "smtp\xff"}, "errorContains")
	filter("errorContains of odd Unicode", ListDead, Input{ErrorContains: "\u202E👨\u200D👩", All: true}, "")
	filter("group of 16 hex digits that no entry has", ListDead, Input{Group: "0123456789abcdef"}, "")
	filter("group unknown", ListDead, Input{Group: "unknown", All: true}, "")
	filter("group of 16 hex digits, a dry run", ReplayMany, Input{Group: "0123456789abcdef", DryRun: true}, "")
	filter("group in capitals", ListDead, Input{Group: "0123456789ABCDEF"}, "group")
	filter("group of 15 hex digits", ListDead, Input{Group: "0123456789abcde"}, "group")
	filter("group of 17 hex digits", ReplayMany, Input{Group: "0123456789abcdef0"}, "group")
	filter("group UNKNOWN", Purge, Input{Group: "UNKNOWN", DryRun: true}, "group")
	filter("group with NUL", ListDead, Input{Group: "0123456789abcde\x00"}, "group")
	filter("group of invalid UTF-8", ReplayMany, Input{Group: "0123456789abcde\xff"}, "group")
	filter("group as an injection", Purge, Input{Group: "' OR 1=1 --", DryRun: true}, "group")
	filter("type filter of 129 characters", ReplayMany, Input{Type: strings.Repeat("t", maxName+1)}, "type")
	filter("no filter at all", ReplayMany, Input{}, "filter")
	filter("no filter but a dry run", ReplayMany, Input{DryRun: true}, "filter")
	filter("no filter at all", Purge, Input{}, "filter")
	return cs
}

func numbers() []Case {
	var cs []Case
	add := func(c Case) { cs = append(cs, c) }
	enq := func(name, field string, edit func(in *Input)) Case {
		return Case{Name: name, Category: Numbers, Op: Enqueue, In: job(edit), Field: field}
	}
	for _, n := range []struct{ value, field string }{
		{"1", ""}, {"1000", ""}, {"-1", "maxAttempts"}, {"1001", "maxAttempts"},
		{"2147483648", "maxAttempts"}, {"9223372036854775808", "maxAttempts"}, {"1.5", "maxAttempts"},
	} {
		add(enq("maxAttempts "+n.value, n.field, func(in *Input) { in.MaxAttempts = n.value }))
	}
	zero := enq("maxAttempts 0", "maxAttempts", func(in *Input) { in.MaxAttempts = "0" })
	zero.Differs, zero.Why = map[Surface]string{Go: ""}, whyZeroIsDef
	add(zero)
	for _, n := range []struct{ value, field string }{
		{"100", ""}, {"-100", ""}, {"0", ""}, {"101", "priority"}, {"-101", "priority"},
		{"2147483648", "priority"}, {"-9223372036854775809", "priority"},
	} {
		add(enq("priority "+n.value, n.field, func(in *Input) { in.Priority = n.value }))
	}
	for _, op := range []Op{ListJobs, ListDead, ListAudit} {
		for _, n := range []struct{ value, field string }{
			{"1", ""}, {"1000", ""}, {"-1", "limit"}, {"1001", "limit"}, {"1000000000000", "limit"},
			{"9223372036854775808", "limit"}, {"1.5", "limit"}, {"ten", "limit"},
		} {
			add(Case{Name: "limit " + n.value, Category: Numbers, Op: op, In: Input{Limit: n.value}, Field: n.field})
		}
		zero := Case{Name: "limit 0", Category: Numbers, Op: op, In: Input{Limit: "0"}, Field: "limit",
			Differs: map[Surface]string{Go: ""}, Why: whyZeroIsDef}
		add(zero)
	}
	// Refused rates are tried for real, legal ones as dry runs.
	rate := func(value, field string) Case {
		return Case{Name: "rate " + value, Category: Numbers, Op: ReplayMany, Field: field,
			In: Input{Type: "email.send", Rate: value, DryRun: field == ""}}
	}
	for _, v := range []string{"0", "0.5", "1e-300", "1000000"} {
		add(rate(v, ""))
	}
	for _, v := range []string{"-1", "-0.001", "1e400"} {
		add(rate(v, "rate"))
	}
	for _, v := range []string{"NaN", "Inf", "-Inf"} {
		c := rate(v, "rate")
		c.Differs, c.Why = map[Surface]string{HTTP: "body"}, "JSON has no "+v+": the HTTP request body that carries it is not JSON"
		add(c)
	}
	// A purge's batch size: only refused ones, since a legal one purges acme (and 0, the Go
	// API's default, is one).
	for _, v := range []string{"-1", "10001", "1000000000000", "9223372036854775808", "1.5", "ten"} {
		add(Case{Name: "batchSize " + v, Category: Numbers, Op: DeleteApp, In: Input{App: "acme", BatchSize: v}, Field: "batchSize"})
	}
	// Token lifetimes: 1 minute to 3650 days; a rotation's grace up to 30 days.
	for _, v := range []string{"-1h", "59s", "87601h", "3651d", "2562047h", "soon", "1e400h", "-1d"} {
		add(Case{Name: "ttl " + v, Category: Numbers, Op: CreateToken, In: Input{TTL: v}, Field: "ttl"})
	}
	for _, v := range []string{"-1s", "721h", "31d", "2562047h", "forever", "-0d1h"} {
		add(Case{Name: "grace " + v, Category: Numbers, Op: RotateToken, In: Input{Token: CorpusTokenID, Grace: v}, Field: "grace"})
	}
	return cs
}

// CorpusTokenID is the token the RotateToken cases name: no token has it, and a bad grace is
// refused before the token is looked up.
const CorpusTokenID = "01938c5e-7a8b-7cde-8f01-23456789abcd"

func injection() []Case {
	var cs []Case
	add := func(name string, op Op, in Input, field string) {
		cs = append(cs, Case{Name: name, Category: Injection, Op: op, In: in, Field: field})
	}
	typeField := func(s string) string {
		if isIdentifier(s) {
			return ""
		}
		return "type"
	}
	for _, s := range SQLInjections {
		q := fmt.Sprintf("%q", s)
		add("app filter "+q, ListJobs, Input{App: s}, "app")
		add("type filter "+q, ListJobs, Input{Type: s}, typeField(s))
		add("status filter "+q, ListJobs, Input{Status: s}, "status")
		add("cursor "+q, ListJobs, Input{Cursor: &Cursor{Raw: s}}, "cursor")
		add("app filter "+q, ListDead, Input{App: s}, "app")
		add("type filter "+q, ListDead, Input{Type: s}, typeField(s))
		add("errorContains "+q, ListDead, Input{ErrorContains: s, All: true}, "")
		add("cursor "+q, ListDead, Input{Cursor: &Cursor{Raw: s}}, "cursor")
		add("cursor "+q, ListAudit, Input{Cursor: &Cursor{Raw: s}}, "cursor")
		// A refused filter is tried for real; a legal one as a dry run.
		for _, op := range []Op{ReplayMany, Purge} {
			add("app filter "+q, op, Input{App: s}, "app")
			add("type filter "+q, op, Input{Type: s, DryRun: true}, typeField(s))
			add("errorContains "+q, op, Input{ErrorContains: s, DryRun: true}, "")
		}
		add("app name "+q, CreateApp, Input{App: s + " (app)"}, "")
		add("type "+q, Enqueue, job(func(in *Input) { in.Type = s }), typeField(s))
		qf := ""
		if !isIdentifier(s) {
			qf = "queue"
		}
		add("queue "+q, Enqueue, job(func(in *Input) { in.Queue = s }), qf)
		add("unique key "+q, Enqueue, job(func(in *Input) { in.UniqueKey = s }), "")
		payload, _ := json.Marshal(map[string]string{s: s})
		add("payload "+q, Enqueue, job(func(in *Input) { in.Payload = payload }), "")
	}
	// Text that is special to LIKE, and case: matched literally and case-sensitively.
	for _, s := range []string{"%", "_", `\`, "TIMEOUT", "timeout", "smtp: connection refused"} {
		add(fmt.Sprintf("errorContains %q", s), ListDead, Input{ErrorContains: s, All: true}, "")
	}
	add("app filter naming the odd app", ListJobs, Input{App: InjectionAppName}, "")
	add("app filter naming the odd app", ListDead, Input{App: InjectionAppName}, "")
	add("app filter naming the odd app", ReplayMany, Input{App: InjectionAppName, DryRun: true}, "")
	// The real thing, last: what the dry runs counted is what is replayed and purged.
	add(`type filter "x'OR'1'='1", for real`, ReplayMany, Input{Type: `x'OR'1'='1`}, "")
	add(`errorContains "'; DROP TABLE job_dlq; --", for real`, ReplayMany, Input{ErrorContains: `'; DROP TABLE job_dlq; --`}, "")
	add(`errorContains "%_%", for real`, Purge, Input{ErrorContains: `%_%`}, "")
	add(`type filter "x'OR'1'='1", for real`, Purge, Input{Type: `x'OR'1'='1`}, "")
	return cs
}

func cursors() []Case {
	var cs []Case
	listings := []struct {
		op Op
		// filtered is a filter of several pages, other another filter of the same listing.
		filtered, other *Input
		// foreign is another listing's cursor.
		foreign Listing
	}{
		{ListJobs, &Input{App: "acme"}, &Input{Type: "report.build"}, Listing{Op: ListDead}},
		{ListDead, &Input{Type: "email.send"}, &Input{All: true}, Listing{Op: ListJobs}},
		{ListAudit, nil, nil, Listing{Op: ListDead}},
	}
	for _, l := range listings {
		own := &Listing{Op: l.op}
		add := func(name string, in Input, field string) {
			cs = append(cs, Case{Name: name, Category: Cursors, Op: l.op, In: in, Field: field})
		}
		tampered := func(name string, tamper func(string) string) {
			add(name, Input{Cursor: &Cursor{Of: own, Tamper: tamper}}, "cursor")
		}
		raw := func(name, cursor string) { add(name, Input{Cursor: &Cursor{Raw: cursor}}, "cursor") }

		add("its own cursor", Input{Cursor: &Cursor{Of: own}}, "")
		if l.filtered != nil {
			f := *l.filtered
			f.Cursor = &Cursor{Of: &Listing{Op: l.op, In: *l.filtered}}
			add("its own cursor, filtered", f, "")
		}
		raw("a word", "garbage")
		raw("not base64", "!!!!")
		raw("padded standard base64", "eyJ2IjoyfQ==")
		for _, j := range []string{`[]`, `null`, `{}`, `{"v":2}`, `"x"`} {
			raw("base64 of "+j, base64.RawURLEncoding.EncodeToString([]byte(j)))
		}
		raw("100,000 characters of base64", strings.Repeat("A", 100_000))
		tampered("cut in half", func(c string) string { return c[:len(c)/2] })
		tampered("last character cut", func(c string) string { return c[:len(c)-1] })
		tampered("one character added", func(c string) string { return c + "A" })
		tampered("last character changed", func(c string) string { return c[:len(c)-1] + next(c[len(c)-1]) })
		tampered("a line break added", func(c string) string { return c[:len(c)/2] + "\n" + c[len(c)/2:] })
		for _, at := range []float64{0.03, 0.2, 0.35, 0.5, 0.65, 0.8, 0.97} {
			tampered(fmt.Sprintf("a bit flipped at %.0f%%", at*100), flipBit(at))
		}
		tampered("the version of old cursors", editJSON(func(m map[string]any) { m["v"] = 1; delete(m, "s") }))
		tampered("a future version", editJSON(func(m map[string]any) { m["v"] = 3 }))
		tampered("another id", editJSON(func(m map[string]any) { m["id"] = "0190a5a4-0000-7000-8000-000000000000" }))
		tampered("the nil id", editJSON(func(m map[string]any) { m["id"] = "00000000-0000-0000-0000-000000000000" }))
		tampered("no checksum", editJSON(func(m map[string]any) { delete(m, "s") }))
		tampered("an unknown field", editJSON(func(m map[string]any) { m["x"] = 1 }))
		tampered("60,000 characters of padding", editJSON(func(m map[string]any) { m["pad"] = strings.Repeat("p", 60_000) }))
		add("another listing's", Input{Cursor: &Cursor{Of: &l.foreign}}, "cursor")
		if l.other != nil {
			add("another filter's", Input{Cursor: &Cursor{Of: &Listing{Op: l.op, In: *l.other}}}, "cursor")
			add("the unfiltered listing's, with a filter", Input{Type: "email.send", Cursor: &Cursor{Of: own}}, "cursor")
		}
		if l.filtered != nil {
			add("another app's", Input{App: "acme", Cursor: &Cursor{Of: &Listing{Op: l.op, In: Input{App: "globex"}}}}, "cursor")
		}
	}
	return cs
}

// next is another base64url character than c.
func next(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func times() []Case {
	var cs []Case
	type value struct {
		name, text string
		legal      bool
		// differs and why: as Case's, where a surface answers otherwise.
		differs map[Surface]string
		why     string
		// zero is Go's zero time, which the Go API reads as absent: a listing is then
		// unfiltered, a bulk filter of it alone is empty, a job is due now.
		zero bool
	}
	values := []value{
		{name: "the Unix epoch", text: "1970-01-01T00:00:00Z", legal: true},
		{name: "the last second of year 9999", text: "9999-12-31T23:59:59Z", legal: true},
		{name: "offset +14:00", text: "2026-01-01T00:00:00+14:00", legal: true},
		{name: "offset -12:00", text: "2026-01-01T00:00:00-12:00", legal: true},
		{name: "offset +23:59", text: "2026-01-01T00:00:00+23:59", legal: true},
		{name: "offset -00:00", text: "2026-01-01T00:00:00-00:00", legal: true},
		{name: "nanoseconds and offset +05:45", text: "2026-01-01T00:00:00.123456789+05:45", legal: true},
		{name: "the epoch at offset +05:45", text: "1970-01-01T05:45:00+05:45", legal: true},
		{name: "year 0", text: "0000-01-01T00:00:00Z"},
		{name: "year 1", text: "0001-01-01T00:00:00Z", zero: true},
		{name: "the last second of 1969", text: "1969-12-31T23:59:59Z"},
		{name: "the last nanosecond of 1969", text: "1969-12-31T23:59:59.999999999Z"},
		{name: "the epoch at offset +00:01, in 1969", text: "1970-01-01T00:00:00+00:01"},
		{name: "a microsecond into year 10000", text: "9999-12-31T23:59:59.000001Z"},
		{name: "year 9999 at offset -00:01, in 10000", text: "9999-12-31T23:59:59-00:01"},
		{name: "year 10000", text: "10000-01-01T00:00:00Z"},
		{name: "offset +24:00", text: "2026-01-01T00:00:00+24:00"},
		{name: "offset +00:60", text: "2026-01-01T00:00:00+00:60"},
		{name: "offset without a colon", text: "2026-01-01T00:00:00+0100"},
		{name: "no offset", text: "2026-01-01T00:00:00"},
		{name: "a comma before the fraction", text: "2026-01-01T00:00:00,5Z"},
		{name: "a space for T", text: "2026-01-01 00:00:00Z"},
		{name: "lower-case t and z", text: "2026-01-01t00:00:00z"},
		{name: "February 30", text: "2026-02-30T00:00:00Z"},
		{name: "a leap second", text: "2026-12-31T23:59:60Z"},
		{name: "a word", text: "tomorrow"},
		{name: "relative -2h", text: "-2h", differs: map[Surface]string{CLI: ""}, why: whyRelative},
		{name: "relative -1000000d, before 1970", text: "-1000000d"},
		{name: "relative -5000000d", text: "-5000000d"},
		{name: "relative +100000000h", text: "+100000000h"},
	}
	for _, v := range values {
		add := func(op Op, field string, in Input) {
			c := Case{Name: v.name, Category: Times, Op: op, In: in, Differs: v.differs, Why: v.why}
			if !v.legal {
				c.Field = field
			}
			if v.zero {
				goAnswer := ""
				if op == ReplayMany || op == Purge {
					goAnswer = "filter"
				}
				c.Differs, c.Why = map[Surface]string{Go: goAnswer}, whyZeroTime
			}
			cs = append(cs, c)
		}
		// A refused filter is tried for real; one some surface accepts, as a dry run.
		dry := v.legal || len(v.differs) > 0 || v.zero
		add(ListDead, "failedAfter", Input{FailedAfter: v.text})
		add(ListDead, "failedBefore", Input{FailedBefore: v.text, All: true})
		add(ReplayMany, "failedBefore", Input{FailedBefore: v.text, DryRun: dry})
		add(Purge, "failedAfter", Input{FailedAfter: v.text, DryRun: dry})
		if v.text != "-2h" {
			add(Enqueue, "runAt", job(func(in *Input) { in.RunAt = v.text }))
		}
	}
	runLater := Case{Name: "relative +10m", Category: Times, Op: Enqueue, In: job(func(in *Input) { in.RunAt = "+10m" }),
		Field: "runAt", Differs: map[Surface]string{CLI: ""}, Why: whyRelative}
	cs = append(cs, runLater,
		Case{Name: "failedBefore before failedAfter", Category: Times, Op: ListDead, Field: "failedBefore",
			In: Input{FailedAfter: "2026-01-02T00:00:00Z", FailedBefore: "2026-01-01T00:00:00Z"}},
		Case{Name: "failedBefore equal to failedAfter", Category: Times, Op: ReplayMany, Field: "failedBefore",
			In: Input{FailedAfter: "2026-01-01T00:00:00Z", FailedBefore: "2026-01-01T00:00:00Z"}})
	return cs
}

// control is the operator's control of live work: job ids that are no UUID for cancel, retry
// and delete, and pause scopes that name nothing, or a bad queue, type or app. All are
// refused: a legal input would change live work.
func control() []Case {
	var cs []Case
	for _, id := range []struct{ name, value string }{
		{"empty", ""},
		{"a number", "123"},
		{"words", "not-a-uuid"},
		{"one digit short", "01a21a55-eb18-7ddf-8bab-c095c1bcf03"},
		{"one character too many", "01a21a55-eb18-7ddf-8bab-c095c1bcf03fz"},
		{"an injection", `' OR 1=1 --`},
		{"NUL", "01a21a55-eb18-7ddf-8bab-c095c1bcf03f\x00"},
		{"100,000 characters", strings.Repeat("f", 100_000)},
	} {
		category := Names
		if strings.Contains(id.value, "'") {
			category = Injection
		}
		for _, op := range []Op{CancelJob, RetryJob, DeleteJob} {
			cs = append(cs, Case{Name: "job id: " + id.name, Category: category, Op: op, In: Input{Job: id.value}, Field: "id"})
		}
	}
	scope := func(name string, category Category, in Input, field string) {
		cs = append(cs, Case{Name: "scope: " + name, Category: category, Op: Pause, In: in, Field: field})
	}
	scope("nothing", Names, Input{}, "scope")
	scope("a queue with a space", Names, Input{Queue: "a b"}, "queue")
	scope("a queue of 129 characters", Names, Input{Queue: strings.Repeat("q", maxName+1)}, "queue")
	scope("a queue of 100,000 characters", Oversized, Input{Queue: strings.Repeat("q", 100_000)}, "queue")
	scope("a type of non-ASCII", Names, Input{Type: "é"}, "type")
	scope("a type with NUL", Names, Input{Type: "a\x00"}, "type")
	scope("a type of invalid UTF-8", Names, Input{Type: "a\xff"}, "type")
	scope("an app that does not exist", Names, Input{App: "no-such-app", Queue: "q"}, "app")
	scope("an app id that does not exist", Names, Input{App: "0190a5a4-0000-7000-8000-000000000000"}, "app")
	scope("an app of 100,000 characters", Oversized, Input{App: strings.Repeat("a", 100_000)}, "app")
	scope("a good app and a bad queue", Names, Input{App: "acme", Queue: "a\tb"}, "queue")
	for _, inj := range SQLInjections {
		scope("app "+inj, Injection, Input{App: inj}, "app")
	}
	scope("type of an injection", Injection, Input{Type: `'; DROP TABLE pauses; --`}, "type")
	return cs
}

// The limits of a job's tags, and a retention policy's max age that every surface takes.
const (
	maxTags      = 16
	maxTagLength = 64
	// validAge is a max age every surface takes: a Go duration, which the Go API can carry.
	validAge = "168h"
)

// isTag is the contract's rule for a tag: 1–64 printable ASCII characters, no spaces, no
// commas.
func isTag(s string) bool {
	return len(s) <= maxTagLength && isIdentifier(s) && !strings.Contains(s, ",")
}

// retention is the retention policies: bad kinds, max ages and max counts out of range or
// not numbers at all, neither limit, scopes naming no app or a bad type, and policy ids that
// are no UUID for delete. Legal policies are set for real and read back.
func retention() []Case {
	var cs []Case
	set := func(name string, category Category, in Input, field string) *Case {
		cs = append(cs, Case{Name: name, Category: category, Op: SetRetention, In: in, Field: field})
		return &cs[len(cs)-1]
	}
	policy := func(edit func(in *Input)) Input {
		in := Input{Kind: "completed", MaxAge: validAge}
		edit(&in)
		return in
	}
	for _, k := range []struct{ name, value string }{
		{"empty", ""},
		{"a word", "bogus"},
		{"in capitals", "Completed"},
		{"with a trailing space", "completed "},
		{"a job status", "pending"},
		{"dead", "dead"},
		{"plural", "completeds"},
		{"NUL", "completed\x00"},
		{"non-ASCII", "complété"},
		{"invalid UTF-8", "completed\xff"},
		{"100,000 characters", strings.Repeat("k", 100_000)},
	} {
		category := Names
		if len(k.value) == 100_000 {
			category = Oversized
		}
		set("kind: "+k.name, category, policy(func(in *Input) { in.Kind = k.value }), "kind")
	}
	set("kind: an injection", Injection, policy(func(in *Input) { in.Kind = `completed' OR '1'='1` }), "kind")

	for _, v := range []string{"-1h", "-1ms", "-1d", "0s", "0d", "0", "1ns", "999us", "1h-", "7 d", "7days", "soon",
		"1e400h", "2562048h", "100000d", "9223372036854775808ns", "+7d", "+-7d", "0x10d", "½d"} {
		set("maxAge "+v, Numbers, policy(func(in *Input) { in.MaxAge = v }), "maxAge")
	}
	zeroAge := set("maxAge 0s with a max count", Numbers, policy(func(in *Input) { in.MaxAge, in.MaxCount = "0s", "10" }), "maxAge")
	zeroAge.Differs, zeroAge.Why = map[Surface]string{Go: ""}, "the Go API reads a max age of 0 as none; the CLI and the HTTP API only read an absent one so"
	for _, v := range []string{"-1", "-9223372036854775808", "9223372036854775808", "1.5", "1e3", "ten"} {
		c := set("maxCount "+v, Numbers, policy(func(in *Input) { in.MaxCount = v }), "maxCount")
		if !json.Valid([]byte(v)) {
			c.Differs, c.Why = map[Surface]string{HTTP: "body"}, "JSON has no number "+v+": the HTTP request body that carries it is not JSON"
		}
	}
	set("maxCount -1 alone", Numbers, Input{Kind: "replayed", MaxCount: "-1"}, "maxCount")
	set("maxCount 0 alone", Numbers, Input{Kind: "replayed", MaxCount: "0"}, "maxAge")
	set("neither limit", Numbers, Input{Kind: "replayed"}, "maxAge")
	set("neither limit, scoped", Numbers, Input{Kind: "unreplayed", App: "acme", Type: "email.send"}, "maxAge")

	scoped := func(app, typ string) Input {
		return policy(func(in *Input) { in.Kind, in.App, in.Type = "unreplayed", app, typ })
	}
	for _, a := range []struct{ name, value string }{
		{"that does not exist", "no-such-app"},
		{"id that does not exist", "0190a5a4-0000-7000-8000-000000000000"},
		{"in other capitals", "Acme"},
		{"with NUL", "acme\x00"},
		{"of invalid UTF-8", "acme\xff"},
		{"with a trailing space", "acme "},
	} {
		set("an app "+a.name, Names, scoped(a.value, ""), "app")
	}
	set("an app of 100,000 characters", Oversized, scoped(strings.Repeat("a", 100_000), ""), "app")
	for _, t := range []struct{ name, value string }{
		{"129 characters", strings.Repeat("t", maxName+1)},
		{"a space", "a b"},
		{"non-ASCII", "é"},
		{"NUL", "a\x00"},
		{"DEL", "a\x7f"},
		{"a tab", "a\tb"},
		{"a newline", "a\n"},
		{"invalid UTF-8", "a\xff"},
	} {
		set("type: "+t.name, Names, scoped("acme", t.value), "type")
	}
	set("type of 100,000 characters", Oversized, scoped("", strings.Repeat("t", 100_000)), "type")
	for _, inj := range SQLInjections {
		set("app "+fmt.Sprintf("%q", inj), Injection, scoped(inj, ""), "app")
	}
	set(`type "'; DROP TABLE retention_policies; --"`, Injection, scoped("", `'; DROP TABLE retention_policies; --`), "type")

	// Legal policies, set for real: each replaces the limits of its kind and scope's policy.
	set("maxAge 1ms, the least", Numbers, policy(func(in *Input) { in.MaxAge = "1ms" }), "")
	set("maxAge 1500us, kept to the millisecond", Numbers, policy(func(in *Input) { in.MaxAge = "1500us" }), "")
	set("maxAge 2562047h, near the largest duration", Numbers, policy(func(in *Input) { in.Kind, in.MaxAge = "cancelled", "2562047h" }), "")
	set("maxAge 99999d, the most days", Numbers, policy(func(in *Input) { in.Kind, in.MaxAge = "replayed", "99999d" }), "")
	set("maxCount 1 alone", Numbers, Input{Kind: "unreplayed", App: "acme", Type: "email.send", MaxCount: "1"}, "")
	set("maxCount 9223372036854775807, the largest", Numbers, Input{Kind: "unreplayed", App: "globex", MaxCount: "9223372036854775807"}, "")
	set("maxCount 0 with a max age", Numbers, policy(func(in *Input) { in.Kind, in.MaxCount = "unreplayed", "0" }), "")
	set("a type of 128 characters", Names, scoped("acme", strings.Repeat("t", maxName)), "")
	set("the app by its odd name and a type like an injection", Injection, scoped(InjectionAppName, InjectionTag), "")

	for _, id := range []struct{ name, value string }{
		{"empty", ""},
		{"a number", "123"},
		{"words", "not-a-uuid"},
		{"one digit short", "01a21a55-eb18-7ddf-8bab-c095c1bcf03"},
		{"one character too many", "01a21a55-eb18-7ddf-8bab-c095c1bcf03fz"},
		{"an injection", `' OR 1=1 --`},
		{"NUL", "01a21a55-eb18-7ddf-8bab-c095c1bcf03f\x00"},
		{"invalid UTF-8", "01a21a55-eb18-7ddf-8bab-c095c1bcf03\xff"},
		{"100,000 characters", strings.Repeat("f", 100_000)},
	} {
		category := Names
		if strings.Contains(id.value, "'") {
			category = Injection
		}
		cs = append(cs, Case{Name: "policy id: " + id.name, Category: category, Op: DeleteRetention, In: Input{Policy: id.value}, Field: "id"})
	}
	return cs
}

// tags is a job's tags on enqueue — too many, empty, too long, of bytes no tag may hold,
// repeated — and the one-tag filter of the jobs listing and the dead-letter filter.
func tags() []Case {
	var cs []Case
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("t%d", i)
		}
		return out
	}
	enq := func(name string, category Category, tags []string, field string) *Case {
		cs = append(cs, Case{Name: "tags: " + name, Category: category, Op: Enqueue,
			In: job(func(in *Input) { in.Tags = tags }), Field: field})
		return &cs[len(cs)-1]
	}
	enq("one", Names, []string{"red"}, "")
	enq("16", Names, many(maxTags), "")
	enq("of 64 characters", Names, []string{strings.Repeat("t", maxTagLength)}, "")
	enq("every printable ASCII character but space and comma", Names, []string{"!\"#$%&'()*+-./:;<=>?@[\\]^_`{|}~"}, "")
	enq("a quoted word", Names, []string{`"vip"`}, "")
	enq("kept in the order given", Names, []string{"b", "a", "B", "A"}, "")
	enq("17", Names, many(maxTags+1), "tags")
	enq("17, the first empty", Names, append([]string{""}, many(maxTags)...), "tags")
	enq("1,000", Oversized, many(1000), "tags")
	enq("one empty", Names, []string{""}, "tags[0]")
	enq("the second empty", Names, []string{"a", ""}, "tags[1]")
	enq("of 65 characters", Names, []string{strings.Repeat("t", maxTagLength+1)}, "tags[0]")
	enq("of 100,000 characters", Oversized, []string{"a", strings.Repeat("t", 100_000)}, "tags[1]")
	enq("a space", Names, []string{"a b"}, "tags[0]")
	enq("a leading space", Names, []string{" a"}, "tags[0]")
	enq("a comma", Names, []string{"a,b"}, "tags[0]")
	enq("a tab", Names, []string{"a\tb"}, "tags[0]")
	enq("a newline", Names, []string{"a\nb"}, "tags[0]")
	enq("a carriage return", Names, []string{"a\rb"}, "tags[0]")
	enq("NUL", Names, []string{"a\x00"}, "tags[0]")
	enq("DEL", Names, []string{"a\x7f"}, "tags[0]")
	enq("non-ASCII", Names, []string{"rouge", "é"}, "tags[1]")
	enq("a C1 control", Names, []string{"a\u009bb"}, "tags[0]")
	enq("a zero-width space", Names, []string{"a\u200bb"}, "tags[0]")
	utf := enq("invalid UTF-8", Names, []string{"a\xff"}, "tags[0]")
	utf.Differs, utf.Why = map[Surface]string{HTTP: "tags"}, "the HTTP API refuses a body member holding invalid UTF-8 as a whole"
	enq("repeated", Names, []string{"a", "a"}, "tags[1]")
	enq("repeated apart", Names, []string{"a", "b", "c", "b"}, "tags[3]")
	enq("repeated in other capitals", Names, []string{"a", "A"}, "")
	for _, s := range SQLInjections {
		field := ""
		if !isTag(s) {
			field = "tags[0]"
		}
		enq(fmt.Sprintf("%q", s), Injection, []string{s}, field)
	}

	filter := func(name string, category Category, op Op, in Input, field string) {
		cs = append(cs, Case{Name: "tag filter: " + name, Category: category, Op: op, In: in, Field: field})
	}
	for _, op := range []Op{ListJobs, ListDead} {
		filter("red", Names, op, Input{Tag: "red"}, "")
		filter("a tag's prefix", Names, op, Input{Tag: "re"}, "")
		filter("in other capitals", Names, op, Input{Tag: "RED"}, "")
		filter("longer than the tag", Names, op, Input{Tag: "reddish"}, "")
		filter("and an app", Names, op, Input{Tag: "red", App: "acme"}, "")
		filter("like an injection", Injection, op, Input{Tag: InjectionTag}, "")
		filter("%", Injection, op, Input{Tag: "%"}, "")
		filter("%_%", Injection, op, Input{Tag: "%_%"}, "")
		filter("_", Injection, op, Input{Tag: "_"}, "")
		filter("of 64 characters", Names, op, Input{Tag: strings.Repeat("t", maxTagLength)}, "")
		filter("its own cursor", Cursors, op, Input{Tag: "red", Cursor: &Cursor{Of: &Listing{Op: op, In: Input{Tag: "red"}}}}, "")
		filter("the untagged listing's cursor", Cursors, op, Input{Tag: "red", Cursor: &Cursor{Of: &Listing{Op: op}}}, "cursor")
		filter("another tag's cursor", Cursors, op, Input{Tag: "blue", Cursor: &Cursor{Of: &Listing{Op: op, In: Input{Tag: "red"}}}}, "cursor")
		for _, t := range []struct{ name, value string }{
			{"65 characters", strings.Repeat("t", maxTagLength+1)},
			{"a space", "a b"},
			{"a comma", "red,blue"},
			{"non-ASCII", "é"},
			{"NUL", "red\x00"},
			{"a newline", "red\n"},
			{"DEL", "red\x7f"},
			{"invalid UTF-8", "red\xff"},
		} {
			filter(t.name, Names, op, Input{Tag: t.value}, "tag")
		}
		filter("100,000 characters", Oversized, op, Input{Tag: strings.Repeat("t", 100_000)}, "tag")
		for _, s := range SQLInjections {
			if !isTag(s) {
				filter(fmt.Sprintf("%q", s), Injection, op, Input{Tag: s}, "tag")
			}
		}
	}
	filter("red and replayed too", Names, ListDead, Input{Tag: "red", All: true}, "")
	filter("red and pending", Names, ListJobs, Input{Tag: "red", Status: "pending"}, "")
	// A refused filter is tried for real; a legal one as a dry run.
	for _, op := range []Op{ReplayMany, Purge} {
		filter("red, a dry run", Names, op, Input{Tag: "red", DryRun: true}, "")
		filter("like an injection, a dry run", Injection, op, Input{Tag: InjectionTag, DryRun: true}, "")
		filter("a space", Names, op, Input{Tag: "a b"}, "tag")
		filter("a comma", Names, op, Input{Tag: "red,blue"}, "tag")
		filter("non-ASCII", Names, op, Input{Tag: "é"}, "tag")
		filter("65 characters", Names, op, Input{Tag: strings.Repeat("t", maxTagLength+1)}, "tag")
		filter(`"' OR '1'='1"`, Injection, op, Input{Tag: `' OR '1'='1`}, "tag")
	}
	return cs
}
