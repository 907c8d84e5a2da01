package httpapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/validate"
)

// healthBody is GET /healthz's answer.
type healthBody struct {
	Status string `json:"status"`
}

// healthz answers whether the database answers a cheap query in time.
func (s *server) healthz(w http.ResponseWriter, r *request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if _, err := s.client.ListApps(ctx); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "health check failed", slog.String("error", err.Error()))
		return &apiError{status: http.StatusServiceUnavailable, msg: msgUnavailable}
	}
	return writeJSON(w, http.StatusOK, healthBody{Status: "ok"})
}

// sessionRequest is POST /v1/session's body.
type sessionRequest struct {
	Token string `json:"token"`
}

// createSession logs the web UI in: the token, once checked, becomes the session cookie.
func (s *server) createSession(w http.ResponseWriter, r *request) error {
	// A cross-site page must not log a browser in with a token of its choosing.
	if err := s.csrf.Check(r.Request); err != nil {
		return errCrossOrigin
	}
	var in sessionRequest
	if err := r.decode(&in); err != nil {
		return err
	}
	if in.Token == "" {
		return badField("token", "is required")
	}
	if _, err := s.authenticate(r, in.Token); err != nil {
		return err
	}
	http.SetCookie(w, sessionCookieFor(r.Request, in.Token))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sessionInfo is GET /v1/session's answer: who the request's token is.
type sessionInfo struct {
	TokenID  uuid.UUID  `json:"tokenId"`
	Name     string     `json:"name"`
	Admin    bool       `json:"admin"`
	AppID    *uuid.UUID `json:"appId,omitempty"`
	AppName  string     `json:"appName,omitempty"`
	ReadOnly bool       `json:"readOnly"`
}

// getSession says who the request's token is.
func (s *server) getSession(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	out := sessionInfo{TokenID: r.token.ID, Name: r.token.Name, Admin: r.tokenApp == nil, ReadOnly: r.token.ReadOnly}
	if r.tokenApp != nil {
		out.AppID, out.AppName = &r.tokenApp.ID, r.tokenApp.Name
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteSession logs out: the cookie is cleared.
func (s *server) deleteSession(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	http.SetCookie(w, sessionCookieFor(r.Request, ""))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listApps lists the apps the token sees: every app for an admin token, its own for an app
// token.
func (s *server) listApps(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	apps := []sluice.App{}
	if r.tokenApp != nil {
		apps = append(apps, *r.tokenApp)
	} else {
		all, err := s.client.ListApps(r.Context())
		if err != nil {
			return err
		}
		apps = append(apps, all...)
	}
	return writeJSON(w, http.StatusOK, sluice.Page[sluice.App]{Items: apps})
}

// createAppRequest is POST /v1/apps's body.
type createAppRequest struct {
	Name string `json:"name"`
}

// createApp creates an app.
func (s *server) createApp(w http.ResponseWriter, r *request) error {
	var in createAppRequest
	if err := r.decode(&in); err != nil {
		return err
	}
	app, err := s.client.CreateApp(r.Context(), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, app)
}

// setLimits replaces the path's app's limits with the body's (sluice.AppLimits; a field left
// out or 0 sets no limit).
func (s *server) setLimits(w http.ResponseWriter, r *request) error {
	var in sluice.AppLimits
	if err := r.decode(&in); err != nil {
		return err
	}
	app, err := s.client.SetAppLimits(r.Context(), r.app.ID.String(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

// enqueueRequest is POST /v1/apps/{app}/jobs's body.
type enqueueRequest struct {
	Type     string          `json:"type"`
	Payload  json.RawMessage `json:"payload"`
	Queue    string          `json:"queue"`
	Priority int             `json:"priority"`
	// MaxAttempts is a pointer so that an explicit 0 is refused rather than read as the
	// default.
	MaxAttempts *int       `json:"maxAttempts"`
	RunAt       *time.Time `json:"runAt"`
	UniqueKey   string     `json:"uniqueKey"`
	Tags        []string   `json:"tags"`
}

// enqueue enqueues one job into the path's app: 201, or 200 when a live job holds the unique
// key (that job is returned and nothing is inserted).
func (s *server) enqueue(w http.ResponseWriter, r *request) error {
	var in enqueueRequest
	if err := r.decode(&in); err != nil {
		return err
	}
	job := sluice.NewJob{App: r.app.ID.String(), Type: in.Type, Payload: in.Payload, Queue: in.Queue,
		Priority: in.Priority, UniqueKey: in.UniqueKey, Tags: in.Tags}
	if in.MaxAttempts != nil {
		if err := validate.MaxAttempts("maxAttempts", *in.MaxAttempts); err != nil {
			return err
		}
		job.MaxAttempts = *in.MaxAttempts
	}
	if in.RunAt != nil {
		if err := validate.Time("runAt", *in.RunAt); err != nil {
			return err
		}
		job.RunAt = *in.RunAt
	}
	// A traceparent header makes the job part of the caller's trace.
	ctx := withRequestTrace(r.Context(), r.Header)
	res, err := s.client.Enqueue(ctx, job)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return writeJSON(w, status, enqueueView{Job: s.showJob(res.Job), Duplicate: res.Duplicate})
}

// listJobs lists one page of the jobs the token sees.
func (s *server) listJobs(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, "app", "type", "status", "tag", "limit", "cursor")
	if err != nil {
		return err
	}
	f := sluice.JobFilter{Type: q.get("type"), Status: sluice.JobStatus(q.get("status")), Tag: q.get("tag")}
	if f.App, err = r.appFilter("app", q.get("app")); err != nil {
		return err
	}
	if f.Type != "" {
		if err := validate.Identifier("type", f.Type); err != nil {
			return err
		}
	}
	opts, err := q.list()
	if err != nil {
		return err
	}
	page, err := s.client.ListJobs(r.Context(), f, opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, showPage(page, s.showJob))
}

// getJob shows one job.
func (s *server) getJob(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.showJob(r.job))
}

// dlqFilterParams are the query parameters of the dead-letter filter.
var dlqFilterParams = []string{"app", "type", "failedAfter", "failedBefore", "errorContains", "group", "tag"}

// dlqFilter reads the dead-letter filter from the query, in the token's scope.
func (r *request) dlqFilter(q query) (sluice.Filter, error) {
	f := sluice.Filter{Type: q.get("type"), ErrorContains: q.get("errorContains"), Group: q.get("group"), Tag: q.get("tag")}
	var err error
	if f.App, err = r.appFilter("app", q.get("app")); err != nil {
		return f, err
	}
	if f.FailedAfter, err = q.time("failedAfter"); err != nil {
		return f, err
	}
	f.FailedBefore, err = q.time("failedBefore")
	return f, err
}

// listDead lists one page of the dead-letter entries the token sees, newest failure first.
func (s *server) listDead(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, slices.Concat(dlqFilterParams, []string{"limit", "cursor", "all"})...)
	if err != nil {
		return err
	}
	f, err := r.dlqFilter(q)
	if err != nil {
		return err
	}
	opts, err := q.list()
	if err != nil {
		return err
	}
	if opts.All, err = q.bool("all"); err != nil {
		return err
	}
	page, err := s.client.DLQ().List(r.Context(), f, opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, showPage(page, s.showDead))
}

// listGroups lists the failure groups of the un-replayed entries the token sees: ranked, most
// entries first (order=count, the default), or one page in key order (order=key, with a
// cursor).
func (s *server) listGroups(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, slices.Concat(dlqFilterParams, []string{"order", "limit", "cursor"})...)
	if err != nil {
		return err
	}
	f, err := r.dlqFilter(q)
	if err != nil {
		return err
	}
	opts, err := q.list()
	if err != nil {
		return err
	}
	switch order := q.get("order"); order {
	case "key":
		page, err := s.client.DLQ().ListGroups(r.Context(), f, opts)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, page)
	case "", "count":
		if opts.Cursor != "" {
			return badField("cursor", "only pages the key order (order=key); the ranking by count has no cursor")
		}
		groups, err := s.client.DLQ().Groups(r.Context(), f, sluice.GroupOptions{Limit: opts.Limit})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, sluice.Page[sluice.FailureGroup]{Items: groups})
	default:
		return badField("order", "must be count or key, got %s", validate.Quote(order))
	}
}

// getDead shows one dead-letter entry with its full error history.
func (s *server) getDead(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.showDead(r.entry))
}

// replayOne replays one entry and answers the new job; 409 when it was replayed already or
// a live job holds its unique key.
func (s *server) replayOne(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	job, err := s.client.DLQ().Replay(r.Context(), r.entry.ID)
	if errors.Is(err, sluice.ErrNotFound) {
		return errNoEntry // deleted since it was looked up
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.showJob(job))
}

// deleteDead deletes one entry, replayed or not.
func (s *server) deleteDead(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	if err := s.client.DLQ().Delete(r.Context(), r.entry.ID); errors.Is(err, sluice.ErrNotFound) {
		return errNoEntry
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// replayRequest is POST /v1/dlq/replay's body: a filter and the options.
type replayRequest struct {
	App  string `json:"app"`
	Type string `json:"type"`
	failedRange
	ErrorContains string          `json:"errorContains"`
	Group         string          `json:"group"`
	Tag           string          `json:"tag"`
	DryRun        bool            `json:"dryRun"`
	Rate          float64         `json:"rate"`
	Attempts      int             `json:"attempts"`
	PayloadPatch  json.RawMessage `json:"payloadPatch"`
	IncludeLoops  bool            `json:"includeLoops"`
}

// failedRange is a bulk body's failedAfter and failedBefore. They are pointers so that a
// time given as the zero time (year 1), which the Go API reads as "absent", is refused
// rather than ignored.
type failedRange struct {
	FailedAfter  *time.Time `json:"failedAfter"`
	FailedBefore *time.Time `json:"failedBefore"`
}

// filter checks the times given and returns the filter's fields with them set.
func (fr failedRange) filter(app, jobType, errorContains, group, tag string) (sluice.Filter, error) {
	f := sluice.Filter{App: app, Type: jobType, ErrorContains: errorContains, Group: group, Tag: tag}
	for _, t := range []struct {
		field string
		v     *time.Time
		dst   *time.Time
	}{{"failedAfter", fr.FailedAfter, &f.FailedAfter}, {"failedBefore", fr.FailedBefore, &f.FailedBefore}} {
		if t.v == nil {
			continue
		}
		if err := validate.Time(t.field, *t.v); err != nil {
			return f, err
		}
		*t.dst = *t.v
	}
	return f, nil
}

// replayResult is a bulk replay's dry-run answer.
type replayResult struct {
	sluice.ReplayResult
	// DryRun says nothing was replayed: Matched counts what would have been.
	DryRun bool `json:"dryRun"`
}

// replayMany starts a replay operation over the un-replayed entries the filter matches, in
// the token's scope, and answers 202 with it; a dry run answers 200 with the count.
func (s *server) replayMany(w http.ResponseWriter, r *request) error {
	var in replayRequest
	if err := r.decode(&in); err != nil {
		return err
	}
	f, err := in.filter(in.App, in.Type, in.ErrorContains, in.Group, in.Tag)
	if err != nil {
		return err
	}
	if f.IsEmpty() {
		// Checked as the request says it: an app token's implicit app is no filter.
		return badField("filter", "needs at least one of app, type, failedAfter, failedBefore, errorContains, group, tag")
	}
	if f.App, err = r.appFilter("app", f.App); err != nil {
		return err
	}
	var patch json.RawMessage
	if len(in.PayloadPatch) > 0 && string(in.PayloadPatch) != "null" {
		patch = in.PayloadPatch
	}
	op, err := s.client.DLQ().StartReplay(r.Context(), f, sluice.ReplayOptions{DryRun: in.DryRun, Rate: in.Rate,
		Attempts: in.Attempts, PayloadPatch: patch, IncludeLoops: in.IncludeLoops})
	if err != nil {
		return err
	}
	if in.DryRun {
		return writeJSON(w, http.StatusOK, replayResult{sluice.ReplayResult{Matched: int(op.Matched)}, true})
	}
	w.Header().Set("Location", "/v1/replays/"+op.ID.String())
	return writeJSON(w, http.StatusAccepted, op)
}

// listReplays lists replay operations, newest first: an app token's only those whose filter
// names its app.
func (s *server) listReplays(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, "app", "limit", "cursor")
	if err != nil {
		return err
	}
	app, err := r.appFilter("app", q.get("app"))
	if err != nil {
		return err
	}
	opts, err := q.list()
	if err != nil {
		return err
	}
	page, err := s.client.DLQ().Operations(r.Context(), sluice.OperationFilter{App: app}, opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// getReplay answers the operation the path names.
func (s *server) getReplay(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, r.op)
}

// pauseReplay, resumeReplay and cancelReplay change the operation's state.
func (s *server) pauseReplay(w http.ResponseWriter, r *request) error {
	return s.replayState(w, r, (*sluice.DLQ).PauseReplay)
}

func (s *server) resumeReplay(w http.ResponseWriter, r *request) error {
	return s.replayState(w, r, (*sluice.DLQ).ResumeReplay)
}

func (s *server) cancelReplay(w http.ResponseWriter, r *request) error {
	return s.replayState(w, r, (*sluice.DLQ).CancelReplay)
}

func (s *server) replayState(w http.ResponseWriter, r *request, do func(*sluice.DLQ, context.Context, uuid.UUID) (sluice.ReplayOperation, error)) error {
	if err := r.noBody(); err != nil {
		return err
	}
	op, err := do(s.client.DLQ(), r.Context(), r.op.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, op)
}

// purgeRequest is POST /v1/dlq/purge's body: a filter and the options.
type purgeRequest struct {
	App  string `json:"app"`
	Type string `json:"type"`
	failedRange
	ErrorContains string `json:"errorContains"`
	Group         string `json:"group"`
	Tag           string `json:"tag"`
	ReplayedOnly  bool   `json:"replayedOnly"`
	DryRun        bool   `json:"dryRun"`
	All           bool   `json:"all"`
}

// purgeResult is a purge's answer.
type purgeResult struct {
	sluice.PurgeResult
	// DryRun says nothing was purged: Matched counts what would have been.
	DryRun bool `json:"dryRun"`
}

// purge deletes the entries the filter matches, in the token's scope.
func (s *server) purge(w http.ResponseWriter, r *request) error {
	var in purgeRequest
	if err := r.decode(&in); err != nil {
		return err
	}
	f, err := in.filter(in.App, in.Type, in.ErrorContains, in.Group, in.Tag)
	if err != nil {
		return err
	}
	if f.IsEmpty() && !in.ReplayedOnly && !in.All {
		return badField("filter", "needs at least one of app, type, failedAfter, failedBefore, errorContains, group, tag, or replayedOnly, or all (to purge everything)")
	}
	if f.App, err = r.appFilter("app", f.App); err != nil {
		return err
	}
	res, err := s.client.DLQ().Purge(r.Context(), f, sluice.PurgeOptions{ReplayedOnly: in.ReplayedOnly, DryRun: in.DryRun, All: in.All})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, purgeResult{res, in.DryRun})
}

// statsRow is one app and type's counts, with the app's name.
type statsRow struct {
	sluice.TypeStats
	AppName string `json:"appName"`
}

// MarshalJSON writes the counts as TypeStats writes them, with appName added.
func (r statsRow) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(r.TypeStats)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	if fields["appName"], err = json.Marshal(r.AppName); err != nil {
		return nil, err
	}
	return json.Marshal(fields)
}

// stats counts jobs by state and dead-letter entries per app and type, for the apps the
// token sees.
func (s *server) stats(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	all, err := s.client.Stats(r.Context())
	if err != nil {
		return err
	}
	names := map[uuid.UUID]string{}
	if r.tokenApp != nil {
		names[r.tokenApp.ID] = r.tokenApp.Name
	} else {
		apps, err := s.client.ListApps(r.Context())
		if err != nil {
			return err
		}
		for _, a := range apps {
			names[a.ID] = a.Name
		}
	}
	rows := []statsRow{}
	for _, st := range all {
		if r.sees(st.AppID) {
			rows = append(rows, statsRow{st, names[st.AppID]})
		}
	}
	return writeJSON(w, http.StatusOK, sluice.Page[statsRow]{Items: rows})
}

// listAudit lists one page of the audit log, newest first.
func (s *server) listAudit(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, "limit", "cursor")
	if err != nil {
		return err
	}
	opts, err := q.list()
	if err != nil {
		return err
	}
	page, err := s.client.ListAudit(r.Context(), opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// openAPIDocument is the OpenAPI 3.1 description of this API, written by hand; a test keeps
// it and the route table in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the OpenAPI document.
func (s *server) openAPI(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(openAPIDocument) // a failed write has no one to tell
	return nil
}
