package badinput_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/httpapi"
	"github.com/sluicehq/sluice/internal/badinput"
	"github.com/sluicehq/sluice/internal/validate"
)

// answer is what a surface said to one case.
type answer struct {
	// inexpressible says why the surface cannot even carry the input (a NUL in a process
	// argument, a number beyond Go's int); the case is then not run there.
	inexpressible string
	// refused is set for an error answer; field is the input it names, spelled as the
	// surface spells it, or "" if it names none it can be told by; shown is the whole
	// answer (exit status and stderr, or HTTP status and body), compared across stores.
	refused bool
	field   string
	shown   string
	// For an accepted input: a listing's page (ids, and whether it has a next cursor), a
	// bulk operation's counts, a created app, an enqueued job's id.
	ids           []uuid.UUID
	next          bool
	matched, done int
	app           sluice.App
	jobID         uuid.UUID
}

// surface runs one case's input through one way into Sluice.
type surface interface {
	run(c badinput.Case, cursor string) answer
	// spell is how the surface names a field given in the Go API's spelling.
	spell(op badinput.Op, field string) string
}

// goSurface is the Go API.
type goSurface struct{ w *world }

func (s goSurface) spell(_ badinput.Op, field string) string { return field }

func (s goSurface) run(c badinput.Case, cursor string) answer {
	in, ctx := c.In, s.w.ctx
	var ints [3]int
	for i, text := range []string{in.Priority, in.MaxAttempts, in.Limit} {
		if text == "" {
			continue
		}
		n, err := strconv.Atoi(text)
		if err != nil {
			return answer{inexpressible: "Go's int cannot hold " + strconv.Quote(text)}
		}
		ints[i] = n
	}
	var times [3]time.Time
	for i, text := range []string{in.RunAt, in.FailedAfter, in.FailedBefore} {
		if text == "" {
			continue
		}
		t, ok := validate.ParseTime(text)
		if !ok {
			return answer{inexpressible: "a time.Time cannot be " + strconv.Quote(text)}
		}
		times[i] = t
	}
	var rate float64
	if in.Rate != "" {
		var err error
		if rate, err = strconv.ParseFloat(in.Rate, 64); err != nil {
			return answer{inexpressible: "a float64 cannot be " + strconv.Quote(in.Rate)}
		}
	}
	filter := sluice.Filter{App: in.App, Type: in.Type, FailedAfter: times[1], FailedBefore: times[2], ErrorContains: in.ErrorContains,
		Group: in.Group, Tag: in.Tag}
	opts := sluice.ListOptions{Limit: ints[2], Cursor: cursor, All: in.All}
	var a answer
	var err error
	switch c.Op {
	case badinput.CreateApp:
		a.app, err = s.w.client.CreateApp(ctx, in.App)
	case badinput.Enqueue:
		var res sluice.EnqueueResult
		res, err = s.w.client.Enqueue(ctx, sluice.NewJob{App: in.App, Type: in.Type, Payload: json.RawMessage(in.Payload),
			Queue: in.Queue, Priority: ints[0], MaxAttempts: ints[1], RunAt: times[0], UniqueKey: in.UniqueKey, Tags: in.Tags})
		a.jobID = res.Job.ID
	case badinput.ListJobs:
		var p sluice.Page[sluice.Job]
		p, err = s.w.client.ListJobs(ctx, sluice.JobFilter{App: in.App, Type: in.Type, Status: sluice.JobStatus(in.Status), Tag: in.Tag}, opts)
		for _, j := range p.Items {
			a.ids = append(a.ids, j.ID)
		}
		a.next = p.NextCursor != ""
	case badinput.ListDead:
		var p sluice.Page[sluice.DeadJob]
		p, err = s.w.client.DLQ().List(ctx, filter, opts)
		for _, d := range p.Items {
			a.ids = append(a.ids, d.ID)
		}
		a.next = p.NextCursor != ""
	case badinput.ListAudit:
		var p sluice.Page[sluice.AuditEntry]
		p, err = s.w.client.ListAudit(ctx, opts)
		for _, e := range p.Items {
			a.ids = append(a.ids, e.ID)
		}
		a.next = p.NextCursor != ""
	case badinput.ReplayMany:
		var res sluice.ReplayResult
		res, err = s.w.client.DLQ().ReplayMany(ctx, filter, sluice.ReplayOptions{DryRun: in.DryRun, Rate: rate})
		a.matched, a.done = res.Matched, res.Replayed
	case badinput.Purge:
		var res sluice.PurgeResult
		res, err = s.w.client.DLQ().Purge(ctx, filter, sluice.PurgeOptions{DryRun: in.DryRun})
		a.matched, a.done = res.Matched, res.Purged
	case badinput.RenameApp:
		a.app, err = s.w.client.RenameApp(ctx, in.App, in.Name)
	case badinput.DeleteApp:
		n, convErr := strconv.Atoi(in.BatchSize)
		if convErr != nil {
			return answer{inexpressible: "Go's int cannot hold " + strconv.Quote(in.BatchSize)}
		}
		_, err = s.w.client.DeleteApp(ctx, in.App, &sluice.DeleteAppOptions{Purge: true, BatchSize: n})
	case badinput.CreateToken:
		ttl, convErr := time.ParseDuration(in.TTL)
		if convErr != nil {
			return answer{inexpressible: "a time.Duration cannot be " + strconv.Quote(in.TTL)}
		}
		_, _, err = s.w.client.CreateToken(ctx, sluice.TokenParams{TTL: ttl})
	case badinput.RotateToken:
		grace, convErr := time.ParseDuration(in.Grace)
		if convErr != nil {
			return answer{inexpressible: "a time.Duration cannot be " + strconv.Quote(in.Grace)}
		}
		_, _, err = s.w.client.RotateToken(ctx, uuid.MustParse(in.Token), sluice.RotateParams{Grace: grace})
	case badinput.CancelJob, badinput.RetryJob, badinput.DeleteJob:
		id, parseErr := uuid.Parse(in.Job)
		if parseErr != nil {
			return answer{inexpressible: "a uuid.UUID cannot be " + strconv.Quote(in.Job)}
		}
		change := map[badinput.Op]func(context.Context, uuid.UUID) (sluice.Job, error){
			badinput.CancelJob: s.w.client.CancelJob, badinput.RetryJob: s.w.client.RetryJob, badinput.DeleteJob: s.w.client.DeleteJob}
		_, err = change[c.Op](ctx, id)
	case badinput.Pause:
		_, err = s.w.client.Pause(ctx, sluice.Scope{App: in.App, Queue: in.Queue, Type: in.Type})
	case badinput.SetRetention:
		p := sluice.Policy{Kind: sluice.RetentionKind(in.Kind), App: in.App, Type: in.Type}
		if in.MaxAge != "" {
			var convErr error
			if p.MaxAge, convErr = time.ParseDuration(in.MaxAge); convErr != nil {
				return answer{inexpressible: "a time.Duration cannot be " + strconv.Quote(in.MaxAge)}
			}
		}
		if in.MaxCount != "" {
			var convErr error
			if p.MaxCount, convErr = strconv.ParseInt(in.MaxCount, 10, 64); convErr != nil {
				return answer{inexpressible: "an int64 cannot be " + strconv.Quote(in.MaxCount)}
			}
		}
		_, err = s.w.client.SetRetention(ctx, p)
	case badinput.DeleteRetention:
		id, parseErr := uuid.Parse(in.Policy)
		if parseErr != nil {
			return answer{inexpressible: "a uuid.UUID cannot be " + strconv.Quote(in.Policy)}
		}
		err = s.w.client.DeleteRetention(ctx, id)
	}
	if err != nil {
		a = answer{refused: true, shown: err.Error()}
		if fe, ok := errors.AsType[*sluice.FieldError](err); ok {
			a.field = fe.Field
		}
	}
	return a
}

// cliSurface is the sluice command, run as a process on the world's database.
type cliSurface struct {
	w      *world
	binary string
}

// spell names a field as the command line does: the flag --max-attempts for maxAttempts,
// the argument NAME of apps create and ID of the job and policy changes, the filter and a
// pause's scope as a whole as "filter" and "scope", and a job's tags as the --tag flag, one
// tag as its value "--tag (value 3)".
func (s cliSurface) spell(op badinput.Op, field string) string {
	switch {
	case (op == badinput.CreateApp || op == badinput.RenameApp) && field == "name":
		return "NAME"
	case (op == badinput.CancelJob || op == badinput.RetryJob || op == badinput.DeleteJob || op == badinput.DeleteRetention) && field == "id":
		return "ID"
	case field == "tags":
		return "--tag"
	case strings.HasPrefix(field, "tags[") && strings.HasSuffix(field, "]"):
		i, _ := strconv.Atoi(field[len("tags[") : len(field)-1])
		return fmt.Sprintf("--tag (value %d)", i+1)
	case field == "filter", field == "scope":
		return field
	}
	var kebab strings.Builder
	for _, r := range field {
		if unicode.IsUpper(r) {
			kebab.WriteByte('-')
			r = unicode.ToLower(r)
		}
		kebab.WriteRune(r)
	}
	return "--" + kebab.String()
}

// argvLimit keeps every argument well under Linux's 128 KiB limit for one argument; a
// longer payload goes through stdin.
const argvLimit = 100_000

func (s cliSurface) run(c badinput.Case, cursor string) answer {
	in := c.In
	var args []string
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name+"="+value)
		}
	}
	filter := func() {
		flag("app", in.App)
		flag("type", in.Type)
		flag("failed-after", in.FailedAfter)
		flag("failed-before", in.FailedBefore)
		flag("error-contains", in.ErrorContains)
		flag("group", in.Group)
		flag("tag", in.Tag)
	}
	boolean := func(name string, set bool) {
		if set {
			args = append(args, "--"+name)
		}
	}
	var stdin []byte
	switch c.Op {
	case badinput.CreateApp:
		args = []string{"apps", "create", "--json", "--", in.App}
	case badinput.Enqueue:
		args = []string{"jobs", "enqueue", "--json", "--app=" + in.App, "--type=" + in.Type}
		p := string(in.Payload)
		if len(p) > argvLimit || strings.ContainsRune(p, 0) || p == "-" || strings.HasPrefix(p, "@") {
			p, stdin = "-", in.Payload
		}
		args = append(args, "--payload="+p)
		flag("queue", in.Queue)
		flag("priority", in.Priority)
		flag("max-attempts", in.MaxAttempts)
		flag("run-at", in.RunAt)
		flag("unique-key", in.UniqueKey)
		for _, t := range in.Tags {
			if strings.Contains(t, ",") {
				return answer{inexpressible: "the command line reads a comma in --tag as two tags"}
			}
			args = append(args, "--tag="+t)
		}
	case badinput.ListJobs:
		args = []string{"jobs", "list", "--json"}
		flag("app", in.App)
		flag("type", in.Type)
		flag("status", in.Status)
		flag("tag", in.Tag)
		flag("limit", in.Limit)
		flag("cursor", cursor)
	case badinput.ListDead:
		args = []string{"dlq", "list", "--json"}
		filter()
		flag("limit", in.Limit)
		flag("cursor", cursor)
		boolean("all", in.All)
	case badinput.ReplayMany:
		args = []string{"dlq", "replay", "--json"}
		filter()
		flag("rate", in.Rate)
		boolean("dry-run", in.DryRun)
	case badinput.Purge:
		args = []string{"dlq", "purge", "--json"}
		filter()
		boolean("dry-run", in.DryRun)
	case badinput.ListAudit:
		return answer{inexpressible: "the command has no audit listing"}
	case badinput.RenameApp:
		args = []string{"apps", "rename", "--json", "--", in.App, in.Name}
	case badinput.DeleteApp:
		args = []string{"apps", "delete", "--json", "--purge", "--batch-size=" + in.BatchSize, "--", in.App}
	case badinput.CreateToken:
		args = []string{"tokens", "create", "--json", "--admin", "--ttl=" + in.TTL}
	case badinput.RotateToken:
		args = []string{"tokens", "rotate", "--json", "--grace=" + in.Grace, "--", in.Token}
	case badinput.CancelJob, badinput.RetryJob, badinput.DeleteJob:
		verb := map[badinput.Op]string{badinput.CancelJob: "cancel", badinput.RetryJob: "retry", badinput.DeleteJob: "delete"}[c.Op]
		args = []string{"jobs", verb, "--json", "--", in.Job}
	case badinput.Pause:
		args = []string{"pause", "--json"}
		flag("app", in.App)
		flag("queue", in.Queue)
		flag("type", in.Type)
	case badinput.SetRetention:
		args = []string{"retention", "set", "--json"}
		flag("kind", in.Kind)
		flag("app", in.App)
		flag("type", in.Type)
		flag("max-age", in.MaxAge)
		flag("max-count", in.MaxCount)
	case badinput.DeleteRetention:
		args = []string{"retention", "delete", "--json", "--", in.Policy}
	}
	for _, a := range args {
		if strings.ContainsRune(a, 0) {
			return answer{inexpressible: "a process argument cannot hold NUL"}
		}
	}
	code, stdout, stderr := s.exec(args, stdin)
	if code != 0 {
		a := answer{refused: true, shown: fmt.Sprintf("exit %d: %s", code, stderr)}
		if stdout != "" {
			a.shown += "\n(and on stdout: " + stdout + ")"
		}
		a.field = cliField(stderr, s.spell(c.Op, c.FieldOn(badinput.CLI)))
		return a
	}
	var out struct {
		Items []struct {
			ID uuid.UUID `json:"id"`
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
		Matched    int    `json:"matched"`
		Replayed   int    `json:"replayed"`
		Purged     int    `json:"purged"`
		Job        struct {
			ID uuid.UUID `json:"id"`
		} `json:"job"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		return answer{refused: true, shown: "exit 0 with stdout that is not JSON: " + stdout}
	}
	a := answer{next: out.NextCursor != "", matched: out.Matched, done: out.Replayed + out.Purged, jobID: out.Job.ID}
	for _, it := range out.Items {
		a.ids = append(a.ids, it.ID)
	}
	if c.Op == badinput.CreateApp || c.Op == badinput.RenameApp {
		if err := json.Unmarshal([]byte(stdout), &a.app); err != nil {
			return answer{refused: true, shown: "sluice apps printed no app: " + stdout}
		}
	}
	return a
}

// cliField returns want if stderr names it as the command names bad input — "Error: --limit:
// …" from Sluice, `invalid argument "x" for "--limit" flag` from flag parsing — else "".
func cliField(stderr, want string) string {
	if want == "" {
		return ""
	}
	if strings.HasPrefix(stderr, "Error: "+want+": ") || strings.Contains(stderr, `"`+want+`" flag`) ||
		want == "filter" && strings.HasPrefix(stderr, "Error: ") && strings.Contains(stderr, " filter") {
		return want
	}
	return ""
}

// exec runs the command with the world's database and returns its exit status and output.
func (s cliSurface) exec(args []string, stdin []byte) (code int, stdout, stderr string) {
	ctx, cancel := context.WithTimeout(s.w.ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.binary, args...)
	cmd.Dir = s.w.t.TempDir()
	cmd.Env = append(os.Environ(), "SLUICE_DATABASE_URL="+s.w.url)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, exit := errors.AsType[*exec.ExitError](err); err != nil && !exit {
		s.w.t.Fatalf("running sluice %.200q: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// httpSurface is the HTTP API, served on a loopback listener, called with an admin token.
type httpSurface struct {
	w     *world
	srv   *httptest.Server
	token string
}

func newHTTPSurface(w *world) httpSurface {
	w.t.Helper()
	_, token, err := w.client.CreateToken(w.ctx, sluice.TokenParams{Name: "corpus"})
	if err != nil {
		w.t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(w.client, httpapi.Options{}))
	w.t.Cleanup(srv.Close)
	return httpSurface{w: w, srv: srv, token: token}
}

func (s httpSurface) spell(_ badinput.Op, field string) string { return field }

func (s httpSurface) run(c badinput.Case, cursor string) answer {
	in := c.In
	var body jsonObject
	query := url.Values{}
	param := func(name, value string) {
		if value != "" {
			query.Set(name, value)
		}
	}
	filterBody := func() {
		body.str("app", in.App)
		body.str("type", in.Type)
		body.str("failedAfter", in.FailedAfter)
		body.str("failedBefore", in.FailedBefore)
		body.str("errorContains", in.ErrorContains)
		body.str("group", in.Group)
		body.str("tag", in.Tag)
		if in.DryRun {
			body.raw("dryRun", "true")
		}
	}
	method, path := http.MethodGet, ""
	noBody := false // a POST that takes no body
	switch c.Op {
	case badinput.CreateApp:
		method, path = http.MethodPost, "/v1/apps"
		body.field("name", in.App)
	case badinput.Enqueue:
		if in.App == "" {
			return answer{inexpressible: "an empty path segment names no route"}
		}
		method, path = http.MethodPost, "/v1/apps/"+url.PathEscape(in.App)+"/jobs"
		body.field("type", in.Type)
		body.raw("payload", string(in.Payload))
		body.str("queue", in.Queue)
		body.raw("priority", in.Priority)
		body.raw("maxAttempts", in.MaxAttempts)
		body.str("runAt", in.RunAt)
		body.str("uniqueKey", in.UniqueKey)
		if in.Tags != nil {
			quoted := make([]string, len(in.Tags))
			for i, t := range in.Tags {
				quoted[i] = quote(t)
			}
			body.raw("tags", "["+strings.Join(quoted, ",")+"]")
		}
	case badinput.ListJobs:
		path = "/v1/jobs"
		param("app", in.App)
		param("type", in.Type)
		param("status", in.Status)
		param("tag", in.Tag)
	case badinput.ListDead:
		path = "/v1/dlq"
		param("app", in.App)
		param("type", in.Type)
		param("failedAfter", in.FailedAfter)
		param("failedBefore", in.FailedBefore)
		param("errorContains", in.ErrorContains)
		param("group", in.Group)
		param("tag", in.Tag)
		if in.All {
			query.Set("all", "true")
		}
	case badinput.ListAudit:
		path = "/v1/audit"
	case badinput.ReplayMany:
		method, path = http.MethodPost, "/v1/dlq/replay"
		filterBody()
		body.raw("rate", in.Rate)
	case badinput.Purge:
		method, path = http.MethodPost, "/v1/dlq/purge"
		filterBody()
	case badinput.RenameApp:
		method, path = http.MethodPatch, "/v1/apps/"+url.PathEscape(in.App)
		body.field("name", in.Name)
	case badinput.DeleteApp:
		method, path = http.MethodDelete, "/v1/apps/"+url.PathEscape(in.App)
		query.Set("purge", "true")
		param("batchSize", in.BatchSize)
		path += "?" + query.Encode()
	case badinput.CreateToken, badinput.RotateToken:
		return answer{inexpressible: "the HTTP API makes and rotates no tokens"}
	case badinput.CancelJob, badinput.RetryJob:
		if in.Job == "" {
			return answer{inexpressible: "an empty path segment names no route"}
		}
		verb := map[badinput.Op]string{badinput.CancelJob: "cancel", badinput.RetryJob: "retry"}[c.Op]
		method, path, noBody = http.MethodPost, "/v1/jobs/"+url.PathEscape(in.Job)+"/"+verb, true
	case badinput.DeleteJob:
		if in.Job == "" {
			return answer{inexpressible: "an empty path segment names no route"}
		}
		method, path = http.MethodDelete, "/v1/jobs/"+url.PathEscape(in.Job)
	case badinput.Pause:
		method, path = http.MethodPost, "/v1/pauses"
		body.str("app", in.App)
		body.str("queue", in.Queue)
		body.str("type", in.Type)
	case badinput.SetRetention:
		method, path = http.MethodPut, "/v1/retention"
		body.str("kind", in.Kind)
		body.str("app", in.App)
		body.str("type", in.Type)
		body.str("maxAge", in.MaxAge)
		body.raw("maxCount", in.MaxCount)
	case badinput.DeleteRetention:
		if in.Policy == "" {
			return answer{inexpressible: "an empty path segment names no route"}
		}
		method, path = http.MethodDelete, "/v1/retention/"+url.PathEscape(in.Policy)
	}
	if method == http.MethodGet {
		param("limit", in.Limit)
		param("cursor", cursor)
		if len(query) > 0 {
			path += "?" + query.Encode()
		}
	}
	var reqBody io.Reader
	if (method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut) && !noBody {
		reqBody = bytes.NewReader(body.bytes())
	}
	req, err := http.NewRequestWithContext(s.w.ctx, method, s.srv.URL+path, reqBody)
	if err != nil {
		s.w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.w.t.Fatalf("%s %.200s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.w.t.Fatal(err)
	}
	if resp.StatusCode == http.StatusAccepted && c.Op == badinput.ReplayMany {
		// A bulk replay is an operation the workers run; none runs here, so this does.
		var started sluice.ReplayOperation
		if err := json.Unmarshal(raw, &started); err != nil {
			return answer{refused: true, shown: fmt.Sprintf("202 with a body that is not an operation: %s", raw)}
		}
		done, err := s.w.client.DLQ().RunReplay(s.w.ctx, started.ID, nil)
		if err != nil {
			s.w.t.Fatalf("running replay operation %s: %v", started.ID, err)
		}
		return answer{matched: int(done.Matched), done: int(done.Replayed)}
	}
	if resp.StatusCode >= 300 {
		a := answer{refused: true, shown: fmt.Sprintf("%d %s", resp.StatusCode, raw)}
		var e struct{ Error, Field string }
		if json.Unmarshal(raw, &e) == nil && resp.StatusCode < 500 {
			a.field = e.Field
		}
		return a
	}
	var out struct {
		Items []struct {
			ID uuid.UUID `json:"id"`
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
		Matched    int    `json:"matched"`
		Replayed   int    `json:"replayed"`
		Purged     int    `json:"purged"`
		Job        struct {
			ID uuid.UUID `json:"id"`
		} `json:"job"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return answer{refused: true, shown: fmt.Sprintf("%d with a body that is not JSON: %s", resp.StatusCode, raw)}
	}
	a := answer{next: out.NextCursor != "", matched: out.Matched, done: out.Replayed + out.Purged, jobID: out.Job.ID}
	for _, it := range out.Items {
		a.ids = append(a.ids, it.ID)
	}
	if c.Op == badinput.CreateApp || c.Op == badinput.RenameApp {
		if err := json.Unmarshal(raw, &a.app); err != nil {
			return answer{refused: true, shown: method + " " + path + " answered no app: " + string(raw)}
		}
	}
	return a
}

// jsonObject builds a request body byte for byte, so that a value can be sent as the corpus
// has it: raw (a payload, a number) or as a string that keeps invalid UTF-8 invalid.
type jsonObject struct{ fields []string }

// field adds a string member, always.
func (o *jsonObject) field(name, value string) {
	o.fields = append(o.fields, quote(name)+":"+quote(value))
}

// str adds a string member when value is not empty.
func (o *jsonObject) str(name, value string) {
	if value != "" {
		o.field(name, value)
	}
}

// raw adds a member whose value is text as it is, when it is not empty.
func (o *jsonObject) raw(name, text string) {
	if text != "" {
		o.fields = append(o.fields, quote(name)+":"+text)
	}
}

func (o *jsonObject) bytes() []byte { return []byte("{" + strings.Join(o.fields, ",") + "}") }

// quote writes s as a JSON string, escaping what JSON requires and leaving every other byte
// as it is: invalid UTF-8 stays invalid, for the server to refuse.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
