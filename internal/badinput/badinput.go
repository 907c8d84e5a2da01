// Package badinput is Sluice's bad-input corpus, defined once: every case is an operation, its
// input in a neutral form (text as a caller types or sends it), and the field that must be
// named when the input is refused, or none when the contract says the input is legal and must
// be stored or matched exactly as given.
//
// The corpus is run through every surface — the Go API, the sluice command as a process and
// the HTTP API over a listener — on both stores, by test/badinput; each surface carries the
// neutral input its own way (Go values, flags, a JSON body or a query string) and spells the
// field its own way ("maxAttempts", "--max-attempts"). httpapi's tests send its JSON
// documents as the bodies of every route.
package badinput

import (
	"encoding/base64"
	"encoding/json"
	"slices"
)

// Surface is a way into Sluice that the corpus runs through.
type Surface string

// The surfaces.
const (
	// Go is the Go API, package sluice.
	Go Surface = "go"
	// CLI is the sluice command, run as a process.
	CLI Surface = "cli"
	// HTTP is the HTTP API, package httpapi, served on a listener and called with an admin
	// token.
	HTTP Surface = "http"
)

// Surfaces lists every surface.
var Surfaces = []Surface{Go, CLI, HTTP}

// Op is the operation a case's input goes to.
type Op string

// The operations, with what each is on the Go API, the CLI and the HTTP API.
const (
	// CreateApp creates the app In.App: Client.CreateApp; sluice apps create NAME;
	// POST /v1/apps.
	CreateApp Op = "create app"
	// Enqueue enqueues one job: Client.Enqueue; sluice jobs enqueue; POST /v1/apps/{app}/jobs.
	Enqueue Op = "enqueue"
	// ListJobs lists jobs: Client.ListJobs; sluice jobs list; GET /v1/jobs.
	ListJobs Op = "list jobs"
	// ListDead lists dead-letter entries: DLQ.List; sluice dlq list; GET /v1/dlq.
	ListDead Op = "list dlq"
	// ListAudit lists the audit log: Client.ListAudit; GET /v1/audit (no CLI command).
	ListAudit Op = "list audit"
	// ReplayMany replays by filter: DLQ.ReplayMany; sluice dlq replay FILTER;
	// POST /v1/dlq/replay.
	ReplayMany Op = "bulk replay"
	// Purge purges by filter: DLQ.Purge; sluice dlq purge FILTER; POST /v1/dlq/purge.
	Purge Op = "purge"
	// RenameApp renames the app In.App to In.Name: Client.RenameApp; sluice apps rename APP
	// NAME; PATCH /v1/apps/{app}.
	RenameApp Op = "rename app"
	// DeleteApp purges and deletes the app In.App in batches of In.BatchSize: Client.DeleteApp
	// with Purge; sluice apps delete APP --purge --batch-size N; DELETE
	// /v1/apps/{app}?purge=true&batchSize=N. Only refused inputs: a legal one would purge.
	DeleteApp Op = "delete app"
	// CreateToken makes an admin token that expires after In.TTL: Client.CreateToken; sluice
	// tokens create --admin --ttl D (the HTTP API makes no tokens).
	CreateToken Op = "create token"
	// RotateToken rotates the token In.Token with a grace of In.Grace: Client.RotateToken;
	// sluice tokens rotate ID --grace D (the HTTP API rotates no tokens).
	RotateToken Op = "rotate token"
	// CancelJob cancels the job In.Job: Client.CancelJob; sluice jobs cancel ID; POST
	// /v1/jobs/{id}/cancel. Only refused inputs: a legal one would cancel.
	CancelJob Op = "cancel job"
	// RetryJob makes the job In.Job due now: Client.RetryJob; sluice jobs retry ID; POST
	// /v1/jobs/{id}/retry. Only refused inputs.
	RetryJob Op = "retry job"
	// DeleteJob deletes the job In.Job: Client.DeleteJob; sluice jobs delete ID; DELETE
	// /v1/jobs/{id}. Only refused inputs.
	DeleteJob Op = "delete job"
	// Pause pauses the scope In.App, In.Queue, In.Type: Client.Pause; sluice pause --app
	// --queue --type; POST /v1/pauses. Only refused inputs: a legal one would pause.
	Pause Op = "pause"
	// SetRetention sets the retention policy In.Kind of the scope In.App, In.Type with the
	// limits In.MaxAge and In.MaxCount: Client.SetRetention; sluice retention set --kind
	// --app --type --max-age --max-count; PUT /v1/retention.
	SetRetention Op = "set retention"
	// DeleteRetention deletes the retention policy In.Policy: Client.DeleteRetention; sluice
	// retention delete ID; DELETE /v1/retention/{id}. Only refused inputs.
	DeleteRetention Op = "delete retention"
)

// Category groups cases for reporting.
type Category string

// The categories.
const (
	Oversized   Category = "oversized"
	InvalidJSON Category = "invalid JSON"
	Nesting     Category = "deep nesting"
	Names       Category = "names"
	Numbers     Category = "numeric edges"
	Injection   Category = "SQL injection"
	Cursors     Category = "tampered cursors"
	Times       Category = "extreme times"
)

// Input is a case's input. Text fields hold what a caller would type or send, byte for byte;
// empty text means "not given".
type Input struct {
	// App is the app to create (CreateApp), the job's app (Enqueue), the filter's app, or the
	// paused scope's (Pause) or the retention policy's (SetRetention), by id or name.
	App string
	// Type is the job's type (Enqueue), the filter's, or the paused scope's (Pause) or the
	// retention policy's (SetRetention).
	Type string
	// Queue and UniqueKey are the job's (Enqueue); Queue is also the paused scope's (Pause).
	Queue, UniqueKey string
	// Payload is the job's payload (Enqueue).
	Payload []byte
	// Tags are the job's tags (Enqueue); nil for none.
	Tags []string
	// Priority and MaxAttempts are the job's, as decimal text (Enqueue).
	Priority, MaxAttempts string
	// RunAt is when the job is due (Enqueue).
	RunAt string
	// Status is the jobs listing's status filter (ListJobs).
	Status string
	// FailedAfter, FailedBefore, ErrorContains and Group are the dead-letter filter's.
	FailedAfter, FailedBefore, ErrorContains, Group string
	// Tag is the jobs listing's and the dead-letter filter's tag.
	Tag string
	// All lists replayed entries too (ListDead).
	All bool
	// Limit is a listing's page size, as decimal text.
	Limit string
	// Cursor is a listing's cursor; nil for none.
	Cursor *Cursor
	// Rate is a bulk replay's rate, as decimal text (ReplayMany).
	Rate string
	// DryRun only counts (ReplayMany, Purge).
	DryRun bool
	// Name is an app's new name (RenameApp).
	Name string
	// BatchSize is a purge's batch size, as decimal text (DeleteApp).
	BatchSize string
	// TTL (CreateToken) and Grace (RotateToken) are durations as the CLI takes them: a Go
	// duration or whole days ("30d").
	TTL, Grace string
	// Token is the id of the token to rotate (RotateToken).
	Token string
	// Job is the id of the job to change (CancelJob, RetryJob, DeleteJob).
	Job string
	// Kind is a retention policy's kind; MaxAge its max age as the CLI takes it (a Go
	// duration or whole days, "7d"); MaxCount its max count, as decimal text (SetRetention).
	Kind, MaxAge, MaxCount string
	// Policy is the id of the retention policy to delete (DeleteRetention).
	Policy string
}

// Cursor says how a case's cursor is made: Raw as it is, or else the cursor that the listing
// Of issues for its first page of one item, passed through Tamper when it is set.
type Cursor struct {
	Raw    string
	Of     *Listing
	Tamper func(cursor string) string
}

// Listing is a listing whose cursor a case uses: ListJobs, ListDead or ListAudit with the
// filter fields of In.
type Listing struct {
	Op Op
	In Input
}

// Case is one bad (or legal but odd) input.
type Case struct {
	// Name says what the input is; with Op it is unique in the corpus.
	Name     string
	Category Category
	Op       Op
	In       Input
	// Field is the input that must be named when it is refused, as the Go API's *FieldError
	// and the JSON API spell it ("maxAttempts"); each surface spells it its own way
	// ("--max-attempts" on the command line). Empty means the input is legal: it must be
	// stored, or matched, exactly as given.
	Field string
	// Differs holds the answers that differ by design on one surface, for the reason Why:
	// the field that surface names instead, or "" where it accepts the input.
	Differs map[Surface]string
	Why     string
}

// FieldOn is the field surface s must name, or "" when s must accept the input.
func (c Case) FieldOn(s Surface) string {
	if f, ok := c.Differs[s]; ok {
		return f
	}
	return c.Field
}

// Corpus returns every case, in the order they are to be run. Cases that change stored data
// (creating apps, enqueueing, replaying and purging for real) never change what a later case
// expects: each case's expectation holds whatever ran before it.
func Corpus() []Case {
	var cs []Case
	for _, part := range [][]Case{oversized(), invalidJSON(), nesting(), names(), numbers(), injection(), cursors(), times(), control(), retention(), tags()} {
		cs = append(cs, part...)
	}
	return cs
}

// Categories lists the categories in the corpus's order.
func Categories() []Category {
	var out []Category
	for _, c := range Corpus() {
		if !slices.Contains(out, c.Category) {
			out = append(out, c.Category)
		}
	}
	return out
}

// FixtureApp, FixtureJob and FixtureEntry describe the data every run starts from, made
// through the Go API on a fresh database: apps, pending jobs (no worker runs them) and
// dead-letter entries, in this order, so that ids (and so listings) come out in the same
// order on both stores.
type (
	FixtureJob struct {
		App, Type, Label string
		Tags             []string
	}
	FixtureEntry struct {
		App, Type, Label, Error string
		Tags                    []string
		// Replayed entries are replayed when the fixture is made, which writes the audit log.
		Replayed bool
	}
)

// The fixture. Its payloads are {"label": Label}; the jobs and entries carry Tags.
var (
	FixtureApps = []string{"acme", "globex", InjectionAppName}
	FixtureJobs = []FixtureJob{
		{"acme", "report.build", "job-1", []string{"red"}},
		{"globex", "report.build", "job-2", nil},
		{"acme", "email.send", "job-3", []string{"blue", "red"}},
		{"globex", "email.send", "job-4", []string{"red"}},
		{InjectionAppName, "report.build", "job-5", []string{InjectionTag, "%"}},
	}
	FixtureDead = []FixtureEntry{
		{App: "acme", Type: "email.send", Label: "dead-1", Error: "smtp: connection refused", Tags: []string{"red"}},
		{App: "globex", Type: "sms.send", Label: "dead-2", Error: "gateway said no"},
		{App: "acme", Type: "email.send", Label: "dead-3", Error: "smtp: TIMEOUT after 30s", Replayed: true, Tags: []string{"red"}},
		{App: "globex", Type: "sms.send", Label: "dead-4", Error: "gateway said no"},
		{App: "acme", Type: "email.send", Label: "dead-5", Error: "smtp: connection refused", Tags: []string{"blue", "red"}},
		{App: "acme", Type: "email.send", Label: "dead-6", Error: "smtp: timeout after 30s", Replayed: true},
		{App: InjectionAppName, Type: "sql.test", Label: "dead-7", Error: injectionError(), Tags: []string{InjectionTag}},
		{App: "acme", Type: `x'OR'1'='1`, Label: "dead-8", Error: "typed like an injection"},
	}
)

// InjectionAppName is a legal app name that reads as SQL: filters naming it must match its
// jobs and entries, literally.
const InjectionAppName = `Robert'); DROP TABLE apps;--`

// InjectionTag is a legal tag that reads as SQL: a tag filter naming it must match the jobs
// and entries that have it, literally.
const InjectionTag = `x'OR'1'='1`

// injectionError is an error text holding every injection string: an errorContains filter
// holding one matches that entry, literally, and nothing else.
func injectionError() string {
	s := "input was:"
	for _, inj := range SQLInjections {
		s += " " + inj
	}
	return s
}

// Document is a JSON text for a payload or a request body.
type Document struct {
	Name string
	Text []byte
	// Syntax is true when Text is not JSON at all: where a surface embeds it in a JSON body,
	// the body is what is refused.
	Syntax bool
}

// Documents are the JSON texts that are no payload: malformed JSON of every kind, and JSON
// that is not an object or array or that the stores could not keep alike. httpapi sends them
// as the body of every route that takes one.
func Documents() []Document {
	syntax := func(name, text string) Document { return Document{Name: name, Text: []byte(text), Syntax: true} }
	valid := func(name, text string) Document { return Document{Name: name, Text: []byte(text)} }
	return []Document{
		syntax("empty", ``),
		syntax("white space only", " \n\t "),
		syntax("truncated object", `{"a":`),
		syntax("truncated array", `[1,2`),
		syntax("truncated string", `{"a":"b`),
		syntax("truncated escape", `{"a":"\u00`),
		syntax("trailing garbage", `{} x`),
		syntax("trailing object", `{}{}`),
		syntax("trailing bracket", `[]]`),
		syntax("single quotes", `{'a':1}`),
		syntax("unquoted key", `{a:1}`),
		syntax("block comment", `{/* c */}`),
		syntax("line comment", "{\"a\":1 // c\n}"),
		syntax("trailing comma in array", `[1,]`),
		syntax("trailing comma in object", `{"a":1,}`),
		syntax("NaN", `[NaN]`),
		syntax("Infinity", `[Infinity]`),
		syntax("-Infinity", `[-Infinity]`),
		syntax("leading zero", `[01]`),
		syntax("hex number", `[0x10]`),
		syntax("plus sign", `[+1]`),
		syntax("bare fraction", `[.5]`),
		syntax("byte order mark", "\xEF\xBB\xBF{}"),
		syntax("raw control character in a string", "[\"a\tb\"]"),
		syntax("raw NUL byte", "{\"a\":\"\x00\"}"),
		valid("bare number", `42`),
		valid("bare string", `"x"`),
		valid("bare true", `true`),
		valid("bare null", `null`),
		valid("duplicate keys", `{"a":1,"b":2,"a":3}`),
		valid("nested duplicate keys", `{"x":{"k":1,"k":2}}`),
		valid("duplicate keys spelled apart", `{"a":1,"\u0061":2}`),
		valid(`\u0000 in a value`, `{"a":"\u0000"}`),
		valid(`\u0000 in a key`, `{"\u0000":1}`),
		valid("lone high surrogate", `["\ud800"]`),
		valid("lone low surrogate", `["\udc00"]`),
		valid("high surrogate then text", `["\ud800\u0041"]`),
		valid("reversed surrogate pair", `["\udc00\ud800"]`),
		valid("invalid UTF-8", "[\"\xff\"]"),
		valid("overlong UTF-8", "[\"\xc0\xaf\"]"),
		valid("UTF-8 surrogate", "[\"\xed\xa0\x80\"]"),
		valid("cut UTF-8 sequence", "[\"\xe2\x82\"]"),
		valid("number beyond float64", `[1e400]`),
		valid("number below float64", `[1e-400]`),
		valid("number beyond numeric", `[1e-20000]`),
		valid("zero with 16384 decimals", `[0e-16384]`),
		valid("exponent of ten digits", `[0e1000000000]`),
	}
}

// SQLInjections are classic injection strings, for both stores' dialects; the corpus tries
// each in every filter.
var SQLInjections = []string{
	`' OR '1'='1`,
	`x'OR'1'='1`,
	`'; DROP TABLE job_dlq; --`,
	`1;DELETE/**/FROM/**/jobs`,
	`" OR ""="`,
	`%' OR 1=1 --`,
	`\'; TRUNCATE apps; --`,
	`'||(SELECT/**/pg_sleep(5))||'`,
	`'); SELECT load_extension('x'); --`,
	`$1`,
	`%_%`,
	`*/;--`,
}

// flipBit returns a tamper that flips one bit of the decoded cursor at the fraction at of its
// length, so that any part of it (the version, the id, the fingerprint, the checksum) can be
// hit.
func flipBit(at float64) func(string) string {
	return func(c string) string {
		raw := decode(c)
		i := min(int(at*float64(len(raw))), len(raw)-1)
		raw[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(raw)
	}
}

// editJSON returns a tamper that edits the decoded cursor's JSON object.
func editJSON(edit func(map[string]any)) func(string) string {
	return func(c string) string {
		var m map[string]any
		if err := json.Unmarshal(decode(c), &m); err != nil {
			panic("badinput: a cursor that is not a JSON object: " + err.Error())
		}
		edit(m)
		raw, _ := json.Marshal(m)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
}

func decode(c string) []byte {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		panic("badinput: a cursor that is not base64url: " + err.Error())
	}
	return raw
}
