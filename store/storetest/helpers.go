package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// waitTimeout bounds every wait on a condition. Waits normally end in milliseconds; the bound
// only turns a hang into a failure.
const waitTimeout = 10 * time.Second

// newID returns a UUIDv7, as the application supplies for every row. Within one process they
// increase, so the order of creation is id order.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// uniqueName returns prefix followed by a random suffix: a queue, type or app name no other
// part of the test uses.
func uniqueName(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}

// idCmp orders ids as the stores do: bytewise, which is also canonical text order.
func idCmp(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// must takes a call's two results and returns a function that fails t if the error is not
// nil and returns the value otherwise: must(s.ListApps(ctx))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// wantErrIs fails the test unless errors.Is(err, target).
func wantErrIs(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one that is %q", what, err, target)
	}
}

// wantFieldError fails the test unless err is exactly the store error want: a *FieldError with
// the same field and message, wrapping the same cause, and reading the same.
func wantFieldError(t *testing.T, err, want error, what string) {
	t.Helper()
	var wantFE *store.FieldError
	if !errors.As(want, &wantFE) {
		t.Fatalf("%s: the expected error %v is not a *store.FieldError", what, want)
	}
	var fe *store.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: got error %v (%T), want *store.FieldError %q", what, err, err, want)
	}
	if fe.Field != wantFE.Field || fe.Message != wantFE.Message {
		t.Fatalf("%s: got FieldError{Field: %q, Message: %q}, want {Field: %q, Message: %q}",
			what, fe.Field, fe.Message, wantFE.Field, wantFE.Message)
	}
	if !errors.Is(err, wantFE.Err) {
		t.Fatalf("%s: error %v does not wrap %q", what, err, wantFE.Err)
	}
	if err.Error() != want.Error() {
		t.Fatalf("%s: error reads %q, want %q", what, err.Error(), want.Error())
	}
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(time.Millisecond) // a poll interval, not a synchronisation
	}
}

// canonJSON returns raw re-encoded with sorted keys and no spaces, so that payloads compare
// by meaning (stores need not keep key order or spacing).
func canonJSON(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "invalid JSON: " + string(raw)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return "unencodable JSON: " + string(raw)
	}
	return string(out)
}

// ---------------------------------------------------------------------------------------------
// Comparing rows
// ---------------------------------------------------------------------------------------------

func eqTime(a, b time.Time) bool { return a.Equal(b) }

func eqTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func eqIDPtr(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func eqTrace(a, b *store.TraceContext) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func eqHistory(a, b []store.ErrorRecord) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

// jobDiff names the fields in which two jobs differ.
func jobDiff(a, b store.Job) []string {
	var d []string
	check := func(name string, eq bool) {
		if !eq {
			d = append(d, name)
		}
	}
	check("ID", a.ID == b.ID)
	check("AppID", a.AppID == b.AppID)
	check("Type", a.Type == b.Type)
	check("Queue", a.Queue == b.Queue)
	check("Priority", a.Priority == b.Priority)
	check("Payload", canonJSON(a.Payload) == canonJSON(b.Payload))
	check("Status", a.Status == b.Status)
	check("Attempts", a.Attempts == b.Attempts)
	check("MaxAttempts", a.MaxAttempts == b.MaxAttempts)
	check("LastError", a.LastError == b.LastError)
	check("ErrorHistory", eqHistory(a.ErrorHistory, b.ErrorHistory))
	check("RunAt", eqTime(a.RunAt, b.RunAt))
	check("StartedAt", eqTimePtr(a.StartedAt, b.StartedAt))
	check("CompletedAt", eqTimePtr(a.CompletedAt, b.CompletedAt))
	check("CreatedAt", eqTime(a.CreatedAt, b.CreatedAt))
	check("UniqueKey", a.UniqueKey == b.UniqueKey)
	check("ReplayedFrom", eqIDPtr(a.ReplayedFrom, b.ReplayedFrom))
	check("LeaseToken", eqIDPtr(a.LeaseToken, b.LeaseToken))
	check("LeaseExpiresAt", eqTimePtr(a.LeaseExpiresAt, b.LeaseExpiresAt))
	check("Tags", slices.Equal(a.Tags, b.Tags))
	check("Trace", eqTrace(a.Trace, b.Trace))
	return d
}

// deadDiff names the fields in which two dead-letter entries differ.
func deadDiff(a, b store.DeadJob) []string {
	var d []string
	check := func(name string, eq bool) {
		if !eq {
			d = append(d, name)
		}
	}
	check("ID", a.ID == b.ID)
	check("OriginalJobID", a.OriginalJobID == b.OriginalJobID)
	check("AppID", a.AppID == b.AppID)
	check("Type", a.Type == b.Type)
	check("Payload", canonJSON(a.Payload) == canonJSON(b.Payload))
	check("Attempts", a.Attempts == b.Attempts)
	check("ErrorHistory", eqHistory(a.ErrorHistory, b.ErrorHistory))
	check("FailedAt", eqTime(a.FailedAt, b.FailedAt))
	check("ReplayedAt", eqTimePtr(a.ReplayedAt, b.ReplayedAt))
	check("Queue", a.Queue == b.Queue)
	check("Priority", a.Priority == b.Priority)
	check("MaxAttempts", a.MaxAttempts == b.MaxAttempts)
	check("UniqueKey", a.UniqueKey == b.UniqueKey)
	check("ReplayJobID", eqIDPtr(a.ReplayJobID, b.ReplayJobID))
	check("ErrorSignature", a.ErrorSignature == b.ErrorSignature)
	check("Tags", slices.Equal(a.Tags, b.Tags))
	check("Trace", eqTrace(a.Trace, b.Trace))
	return d
}

func describeJob(j store.Job) string {
	js, _ := json.Marshal(j)
	return fmt.Sprintf("%s leaseToken=%v", js, j.LeaseToken)
}

func describeDead(d store.DeadJob) string {
	js, _ := json.Marshal(d)
	return string(js)
}

// wantSameJob fails the test unless got and want agree in every field.
func wantSameJob(t *testing.T, got, want store.Job, what string) {
	t.Helper()
	if d := jobDiff(got, want); len(d) > 0 {
		t.Fatalf("%s: jobs differ in %v\n got: %s\nwant: %s", what, d, describeJob(got), describeJob(want))
	}
}

// wantSameDead fails the test unless got and want agree in every field.
func wantSameDead(t *testing.T, got, want store.DeadJob, what string) {
	t.Helper()
	if d := deadDiff(got, want); len(d) > 0 {
		t.Fatalf("%s: entries differ in %v\n got: %s\nwant: %s", what, d, describeDead(got), describeDead(want))
	}
}

// wantBetween fails the test unless lo <= got <= hi.
func wantBetween(t *testing.T, got, lo, hi time.Time, what string) {
	t.Helper()
	if got.Before(lo) || got.After(hi) {
		t.Fatalf("%s = %s, want within [%s, %s]", what, got.Format(time.RFC3339Nano), lo.Format(time.RFC3339Nano), hi.Format(time.RFC3339Nano))
	}
}

// wantRecordBetween fails the test unless the record's Unix-millisecond timestamp lies within
// [lo, hi], both taken to the millisecond as the record is.
func wantRecordBetween(t *testing.T, r store.ErrorRecord, lo, hi time.Time, what string) {
	t.Helper()
	if r.Timestamp < lo.UnixMilli() || r.Timestamp > hi.UnixMilli() {
		t.Fatalf("%s timestamp = %d (%s), want within [%d, %d]", what, r.Timestamp, r.Time().Format(time.RFC3339Nano), lo.UnixMilli(), hi.UnixMilli())
	}
}

// jobIDs returns the jobs' ids in order.
func jobIDs(jobs []store.Job) []uuid.UUID {
	out := make([]uuid.UUID, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// deadIDs returns the entries' ids in order.
func deadIDs(entries []store.DeadJob) []uuid.UUID {
	out := make([]uuid.UUID, len(entries))
	for i, d := range entries {
		out[i] = d.ID
	}
	return out
}

// newestFirst returns ids sorted by descending id, as listings return them.
func newestFirst(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return idCmp(b, a) })
	return out
}

// wantIDs fails the test unless got and want hold the same ids in the same order.
func wantIDs(t *testing.T, got, want []uuid.UUID, what string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got ids %v, want %v", what, got, want)
	}
}

// wantIDSet fails the test unless got and want hold the same ids, in any order.
func wantIDSet(t *testing.T, got, want []uuid.UUID, what string) {
	t.Helper()
	wantIDs(t, newestFirst(got), newestFirst(want), what)
}

// ---------------------------------------------------------------------------------------------
// Acting through the store
// ---------------------------------------------------------------------------------------------

// createApp creates an app with a fresh id.
func (b *bundle) createApp(t *testing.T, name string) store.App {
	t.Helper()
	app, err := b.s.CreateApp(b.ctx, store.App{ID: newID(), Name: name})
	if err != nil {
		t.Fatalf("CreateApp(%q): %v", name, err)
	}
	return app
}

// dbNow reads the database clock: the CreatedAt of an app created for the purpose. Everything
// the store stamped before the call is at or before it; everything it stamps after, at or
// after it.
func (b *bundle) dbNow(t *testing.T) time.Time {
	t.Helper()
	return b.createApp(t, uniqueName("clock-probe")).CreatedAt
}

// waitClockPast polls the database clock until it is strictly past ts.
func (b *bundle) waitClockPast(t *testing.T, ts time.Time) {
	t.Helper()
	waitFor(t, "the database clock to pass "+ts.Format(time.RFC3339Nano), func() bool {
		return b.dbNow(t).After(ts)
	})
}

// newJob returns a job of the app ready to insert, with the defaults the sluice package would
// fill in: queue "default", priority 0, 25 attempts, due now.
func newJob(appID uuid.UUID, typ string) store.InsertJob {
	id := newID()
	return store.InsertJob{
		ID:          id,
		AppID:       appID,
		Type:        typ,
		Queue:       "default",
		Payload:     json.RawMessage(fmt.Sprintf(`{"job": %q}`, id)),
		MaxAttempts: 25,
	}
}

// insert inserts jobs without an external transaction, failing the test on error.
func (b *bundle) insert(t *testing.T, jobs ...store.InsertJob) []store.InsertResult {
	t.Helper()
	res, err := b.s.InsertJobs(b.ctx, nil, jobs)
	if err != nil {
		t.Fatalf("InsertJobs: %v", err)
	}
	if len(res) != len(jobs) {
		t.Fatalf("InsertJobs returned %d results for %d jobs", len(res), len(jobs))
	}
	return res
}

// insertNew inserts jobs that must all be new, and returns them as stored.
func (b *bundle) insertNew(t *testing.T, jobs ...store.InsertJob) []store.Job {
	t.Helper()
	out := make([]store.Job, len(jobs))
	for i, r := range b.insert(t, jobs...) {
		if r.Duplicate {
			t.Fatalf("InsertJobs: job %d (%s) reported a duplicate of %s", i, jobs[i].ID, r.Job.ID)
		}
		out[i] = r.Job
	}
	return out
}

// getJob returns the job, failing the test if it cannot.
func (b *bundle) getJob(t *testing.T, id uuid.UUID) store.Job {
	t.Helper()
	j, err := b.s.GetJob(b.ctx, id)
	if err != nil {
		t.Fatalf("GetJob(%s): %v", id, err)
	}
	return j
}

// wantNoJob fails the test unless the job does not exist.
func (b *bundle) wantNoJob(t *testing.T, id uuid.UUID) {
	t.Helper()
	_, err := b.s.GetJob(b.ctx, id)
	wantErrIs(t, err, store.ErrNotFound, "GetJob of job "+id.String())
}

// getDead returns the entry, failing the test if it cannot.
func (b *bundle) getDead(t *testing.T, id uuid.UUID) store.DeadJob {
	t.Helper()
	d, err := b.s.GetDead(b.ctx, id)
	if err != nil {
		t.Fatalf("GetDead(%s): %v", id, err)
	}
	return d
}

// claim claims up to limit jobs of the queue and types with a fresh lease token.
func (b *bundle) claim(t *testing.T, queue string, types []string, limit int, lease time.Duration) ([]store.Job, uuid.UUID) {
	t.Helper()
	token := newID()
	jobs, err := b.s.ClaimJobs(b.ctx, store.ClaimParams{Queue: queue, Types: types, Limit: limit, LeaseToken: token, LeaseDuration: lease})
	if err != nil {
		t.Fatalf("ClaimJobs: %v", err)
	}
	return jobs, token
}

// claimOne claims the job, which must be the only due one of its queue and type.
func (b *bundle) claimOne(t *testing.T, j store.Job, lease time.Duration) (store.Job, uuid.UUID) {
	t.Helper()
	jobs, token := b.claim(t, j.Queue, []string{j.Type}, 10, lease)
	if len(jobs) != 1 || jobs[0].ID != j.ID {
		t.Fatalf("claiming job %s: got %v", j.ID, jobIDs(jobs))
	}
	return jobs[0], token
}

// running inserts n jobs of type "work" into a queue of their own, lets mod adjust each, and
// claims them all under one token with an hour's lease. It returns them in insertion order.
func (b *bundle) running(t *testing.T, n int, mod func(i int, j *store.InsertJob)) ([]store.Job, uuid.UUID) {
	t.Helper()
	queue := uniqueName("q")
	jobs := make([]store.InsertJob, n)
	for i := range jobs {
		jobs[i] = newJob(b.app.ID, "work")
		jobs[i].Queue = queue
		if mod != nil {
			mod(i, &jobs[i])
		}
	}
	b.insertNew(t, jobs...)
	claimed, token := b.claim(t, queue, []string{"work"}, n, time.Hour)
	if len(claimed) != n {
		t.Fatalf("claimed %d of %d jobs", len(claimed), n)
	}
	byID := map[uuid.UUID]store.Job{}
	for _, j := range claimed {
		byID[j.ID] = j
	}
	out := make([]store.Job, n)
	for i, j := range jobs {
		out[i] = byID[j.ID]
	}
	return out, token
}

// finish applies finishes, failing the test on error.
func (b *bundle) finish(t *testing.T, fs ...store.Finish) []bool {
	t.Helper()
	ok, err := b.s.FinishJobs(b.ctx, fs)
	if err != nil {
		t.Fatalf("FinishJobs: %v", err)
	}
	if len(ok) != len(fs) {
		t.Fatalf("FinishJobs returned %d results for %d finishes", len(ok), len(fs))
	}
	return ok
}

// finishOne applies one finish and returns whether it was applied.
func (b *bundle) finishOne(t *testing.T, lease store.Lease, outcome store.Outcome, errText string, delay time.Duration) bool {
	t.Helper()
	return b.finish(t, store.Finish{Lease: lease, Outcome: outcome, Error: errText, Delay: delay})[0]
}

// allOutcomes is every outcome, for checks that must hold whatever a worker reports.
var allOutcomes = []store.Outcome{
	store.OutcomeComplete, store.OutcomeRetry, store.OutcomeDeadLetter,
	store.OutcomeSnooze, store.OutcomeCancel, store.OutcomeRelease,
}

// wantFenced checks that every outcome finished under lease changes nothing: each reports
// false, the job (if it exists) is unchanged, and the DLQ holds no more entries than before.
func (b *bundle) wantFenced(t *testing.T, lease store.Lease, what string) {
	t.Helper()
	before, getErr := b.s.GetJob(b.ctx, lease.JobID)
	deadBefore := must(b.s.CountDead(b.ctx, store.DeadFilter{IncludeReplayed: true}))(t)
	for _, o := range allOutcomes {
		if b.finishOne(t, lease, o, "stale worker's error", time.Hour) {
			t.Fatalf("%s: FinishJobs with outcome %d reported the stale lease as applied", what, o)
		}
	}
	after, err := b.s.GetJob(b.ctx, lease.JobID)
	if (getErr == nil) != (err == nil) {
		t.Fatalf("%s: a fenced finish changed whether the job exists (before: %v, after: %v)", what, getErr, err)
	}
	if getErr == nil {
		wantSameJob(t, after, before, what+": job after fenced finishes")
	}
	if n := must(b.s.CountDead(b.ctx, store.DeadFilter{IncludeReplayed: true}))(t); n != deadBefore {
		t.Fatalf("%s: a fenced finish changed the DLQ from %d to %d entries", what, deadBefore, n)
	}
	if held := must(b.s.ExtendLeases(b.ctx, []store.Lease{lease}, time.Hour))(t); len(held.Held) != 0 {
		t.Fatalf("%s: ExtendLeases renewed the stale lease", what)
	}
	if getErr == nil {
		wantSameJob(t, b.getJob(t, lease.JobID), before, what+": job after extending the stale lease")
	}
}

// allJobs returns every job of the store, newest first, walking ListJobs page by page.
func allJobs(ctx context.Context, s store.Store, f store.JobFilter) ([]store.Job, error) {
	var out []store.Job
	page := store.Page{Limit: 100}
	for {
		jobs, err := s.ListJobs(ctx, f, page)
		if err != nil {
			return nil, err
		}
		out = append(out, jobs...)
		if len(jobs) < page.Limit {
			return out, nil
		}
		page.Before = &jobs[len(jobs)-1].ID
	}
}

// jobsReplayedFrom returns the jobs replayed from the entry.
func (b *bundle) jobsReplayedFrom(t *testing.T, entryID uuid.UUID) []store.Job {
	t.Helper()
	var out []store.Job
	for _, j := range must(allJobs(b.ctx, b.s, store.JobFilter{}))(t) {
		if j.ReplayedFrom != nil && *j.ReplayedFrom == entryID {
			out = append(out, j)
		}
	}
	return out
}

// allDead returns every entry matching the filter, newest first, walking ListDead page by page.
func allDead(ctx context.Context, s store.Store, f store.DeadFilter) ([]store.DeadJob, error) {
	var out []store.DeadJob
	page := store.Page{Limit: 100}
	for {
		entries, err := s.ListDead(ctx, f, page)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
		if len(entries) < page.Limit {
			return out, nil
		}
		page.Before = &entries[len(entries)-1].ID
	}
}

// ---------------------------------------------------------------------------------------------
// Making dead-letter entries the way workers do
// ---------------------------------------------------------------------------------------------

// deadSpec describes a job to drive into the DLQ through the worker path: insert, then one
// claim and one failed attempt per error.
type deadSpec struct {
	appID uuid.UUID
	typ   string
	// errs are the attempts' errors, oldest first: every one but the last is a retry, the last
	// dead-letters the job. Empty means one attempt failing with "boom".
	errs    []string
	payload json.RawMessage // empty: {"spec": i}
	// queue, when empty, is a queue of the call's own. A named queue must hold no other due
	// jobs of the spec's type, or the claims would take them.
	queue       string
	priority    int
	maxAttempts int // 0: 25
	uniqueKey   string
	tags        []string
	trace       *store.TraceContext
}

// spec is a deadSpec for an app, a type and the errors of its attempts.
func spec(appID uuid.UUID, typ string, errs ...string) deadSpec {
	return deadSpec{appID: appID, typ: typ, errs: errs}
}

// killJobs drives the specs' jobs into the DLQ and returns their job ids in order. It reports
// errors rather than failing the test, so goroutines can call it.
func killJobs(ctx context.Context, s store.Store, specs []deadSpec) ([]uuid.UUID, error) {
	ownQueue := uniqueName("dlq")
	jobs := make([]store.InsertJob, len(specs))
	errs := map[uuid.UUID][]string{}
	for i, sp := range specs {
		j := newJob(sp.appID, sp.typ)
		j.Queue = ownQueue
		if sp.queue != "" {
			j.Queue = sp.queue
		}
		j.Priority, j.UniqueKey, j.Tags, j.Trace = sp.priority, sp.uniqueKey, sp.tags, sp.trace
		if sp.maxAttempts > 0 {
			j.MaxAttempts = sp.maxAttempts
		}
		j.Payload = sp.payload
		if len(j.Payload) == 0 {
			j.Payload = json.RawMessage(fmt.Sprintf(`{"spec": %d}`, i))
		}
		jobs[i] = j
		errs[j.ID] = sp.errs
		if len(sp.errs) == 0 {
			errs[j.ID] = []string{"boom"}
		}
	}
	res, err := s.InsertJobs(ctx, nil, jobs)
	if err != nil {
		return nil, fmt.Errorf("InsertJobs: %w", err)
	}
	for i, r := range res {
		if r.Duplicate {
			return nil, fmt.Errorf("InsertJobs: job %d reported a duplicate", i)
		}
	}
	alive := map[uuid.UUID]store.InsertJob{}
	for _, j := range jobs {
		alive[j.ID] = j
	}
	for round := 0; len(alive) > 0; round++ {
		// One claim per queue, for the types still alive in it.
		types := map[string][]string{}
		count := map[string]int{}
		for _, j := range alive {
			if !slices.Contains(types[j.Queue], j.Type) {
				types[j.Queue] = append(types[j.Queue], j.Type)
			}
			count[j.Queue]++
		}
		var finishes []store.Finish
		for queue, n := range count {
			token := newID()
			claimed, err := s.ClaimJobs(ctx, store.ClaimParams{Queue: queue, Types: types[queue], Limit: n, LeaseToken: token, LeaseDuration: time.Hour})
			if err != nil {
				return nil, fmt.Errorf("ClaimJobs: %w", err)
			}
			if len(claimed) != n {
				return nil, fmt.Errorf("round %d: claimed %d of the %d jobs due in queue %s", round, len(claimed), n, queue)
			}
			for _, c := range claimed {
				if _, ok := alive[c.ID]; !ok {
					return nil, fmt.Errorf("round %d: claimed job %s, which is not being dead-lettered", round, c.ID)
				}
				e := errs[c.ID]
				f := store.Finish{Lease: store.Lease{JobID: c.ID, Token: token}, Outcome: store.OutcomeRetry, Error: e[round]}
				if round == len(e)-1 {
					f.Outcome = store.OutcomeDeadLetter
					delete(alive, c.ID)
				}
				finishes = append(finishes, f)
			}
		}
		applied, err := s.FinishJobs(ctx, finishes)
		if err != nil {
			return nil, fmt.Errorf("FinishJobs: %w", err)
		}
		for i, ok := range applied {
			if !ok {
				return nil, fmt.Errorf("round %d: the finish of job %s was not applied", round, finishes[i].Lease.JobID)
			}
		}
	}
	ids := make([]uuid.UUID, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids, nil
}

// deadOf returns the entries of the jobs, in the jobs' order.
func deadOf(ctx context.Context, s store.Store, jobIDs []uuid.UUID) ([]store.DeadJob, error) {
	all, err := allDead(ctx, s, store.DeadFilter{IncludeReplayed: true})
	if err != nil {
		return nil, err
	}
	byJob := map[uuid.UUID]store.DeadJob{}
	for _, d := range all {
		byJob[d.OriginalJobID] = d
	}
	out := make([]store.DeadJob, len(jobIDs))
	for i, id := range jobIDs {
		d, ok := byJob[id]
		if !ok {
			return nil, fmt.Errorf("job %s has no dead-letter entry", id)
		}
		out[i] = d
	}
	return out, nil
}

// kill drives the specs' jobs into the DLQ and returns their entries, in the specs' order. The
// entries' ids follow the order the store dead-lettered the jobs in, which need not be the
// specs' order: tests that depend on id order sort by id.
func (b *bundle) kill(t *testing.T, specs ...deadSpec) []store.DeadJob {
	t.Helper()
	ids, err := killJobs(b.ctx, b.s, specs)
	if err != nil {
		t.Fatalf("dead-lettering jobs: %v", err)
	}
	entries, err := deadOf(b.ctx, b.s, ids)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// killN dead-letters n jobs of the app and type, one attempt each, in one batch.
func (b *bundle) killN(t *testing.T, n int, appID uuid.UUID, typ string) []store.DeadJob {
	t.Helper()
	specs := make([]deadSpec, n)
	for i := range specs {
		specs[i] = spec(appID, typ, fmt.Sprintf("failure %d", i))
	}
	return b.kill(t, specs...)
}

// replay replays the entry with testDefaults, failing the test on error.
func (b *bundle) replay(t *testing.T, id uuid.UUID) store.Job {
	t.Helper()
	j, err := b.s.ReplayDead(b.ctx, store.ReplayParams{ID: id, Defaults: testDefaults})
	if err != nil {
		t.Fatalf("ReplayDead(%s): %v", id, err)
	}
	return j
}

// testDefaults are the replay defaults the suite passes where it does not test them.
var testDefaults = store.ReplayDefaults{Queue: "default", MaxAttempts: 25}
