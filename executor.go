package sluice

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// begin takes over one claimed job: its lease joins the heartbeat at once, and it waits for
// one of the producer's handler goroutines — or, if the client stops first, it is given back
// unstarted.
func (e *engine) begin(p *producer, job Job, token uuid.UUID) {
	ctx, cancel := context.WithCancelCause(e.jobsCtx)
	a := &attempt{job: job, lease: store.Lease{JobID: job.ID, Token: token}, ctx: ctx, cancel: cancel}
	e.running.add(a)
	p.ready <- a
}

// giveBack releases a claimed job that no handler started: the client is stopping.
func (e *engine) giveBack(p *producer, a *attempt) {
	p.done(-1)
	a.cancel(nil)
	a.finished.Store(true)
	e.completer.submit(a, store.Finish{Lease: a.lease, Outcome: store.OutcomeRelease})
}

// execute runs a claimed job's handler and submits its outcome.
func (e *engine) execute(p *producer, a *attempt) {
	h := e.handlers[a.job.Type]
	if h.opts.Timeout > 0 { // the attempt's time starts now, not when it was claimed
		var cancelTimeout context.CancelFunc
		a.ctx, cancelTimeout = context.WithTimeoutCause(a.ctx, h.opts.Timeout, errTimeout)
		defer cancelTimeout()
	}
	obs := e.cfg.Observer
	if obs != nil {
		obs.AttemptStarted(&a.job)
	}
	started := clock.Now()
	spanCtx, span := e.startAttemptSpan(a.ctx, &a.job)
	err := runHandler(spanCtx, h, &a.job)
	ran := clock.Since(started)
	p.done(ran)
	finish := e.outcome(a, h, err)
	endAttemptSpan(span, err, finish)
	if obs != nil {
		obs.AttemptFinished(&a.job, finish.Outcome, ran)
	}
	a.cancel(nil)
	a.finished.Store(true)
	e.completer.submit(a, finish)
}

// panicError carries a recovered panic's text, already bounded.
type panicError struct{ text string }

func (e *panicError) Error() string { return e.text }

// runHandler calls the handler, turning a panic into an error that carries its stack.
func runHandler(ctx context.Context, h *handler, job *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{text: validate.PanicText(fmt.Sprint(r), string(debug.Stack()))}
		}
	}()
	return h.run(ctx, job)
}

// outcome decides what a finished attempt does to its job. An attempt that lost its lease
// still reports its outcome: the store's fence turns the write into a no-op, one mechanism
// for every way a lease can be lost.
func (e *engine) outcome(a *attempt, h *handler, err error) store.Finish {
	f := store.Finish{Lease: a.lease}
	if err == nil {
		f.Outcome = store.OutcomeComplete
		return f
	}
	var snooze *snoozeError
	var cancel *cancelError
	var permanent *permanentError
	switch {
	case errors.As(err, &snooze):
		f.Outcome, f.Delay = store.OutcomeSnooze, snooze.delay
	case errors.As(err, &cancel):
		f.Outcome, f.Error = store.OutcomeCancel, errorText(err)
	case errors.Is(context.Cause(a.ctx), ErrCancelRequested):
		f.Outcome = store.OutcomeCancel
		f.Error = validate.ErrorText("cancelled by an operator while it ran; the handler returned: "+err.Error(), validate.MaxErrorBytes)
	case errors.Is(context.Cause(a.ctx), errShutdown):
		f.Outcome = store.OutcomeRelease
	default:
		f.Error = errorText(err)
		if errors.As(err, new(*panicError)) {
			e.log.Error("sluice: handler panicked", jobAttrs(&a.job, "error", f.Error)...)
		}
		if errors.Is(context.Cause(a.ctx), errTimeout) {
			f.Error = validate.ErrorText(fmt.Sprintf("attempt timed out after %s: %s", h.opts.Timeout, f.Error), validate.MaxErrorBytes)
		}
		if errors.As(err, &permanent) || a.job.Attempts >= a.job.MaxAttempts {
			f.Outcome = store.OutcomeDeadLetter
		} else {
			f.Outcome, f.Delay = store.OutcomeRetry, max(h.opts.Backoff(a.job.Attempts), 0)
		}
	}
	return f
}

// errorText is the storable text of a handler's error.
func errorText(err error) string {
	var p *panicError
	if errors.As(err, &p) {
		return p.text
	}
	return validate.ErrorText(err.Error(), validate.MaxErrorBytes)
}

// releaseUnstarted gives back jobs claimed as the client stopped: pending again at once, the
// attempt not counted.
func (e *engine) releaseUnstarted(jobs []Job, token uuid.UUID) {
	if len(jobs) == 0 {
		return
	}
	finishes := make([]store.Finish, len(jobs))
	for i, j := range jobs {
		finishes[i] = store.Finish{Lease: store.Lease{JobID: j.ID, Token: token}, Outcome: store.OutcomeRelease}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.leaseWrites.Lock()
	defer e.leaseWrites.Unlock()
	if _, err := e.st.FinishJobs(ctx, finishes); err != nil {
		e.log.Warn("sluice: releasing unstarted jobs failed; they will be rescued when their leases expire",
			"queue", jobs[0].Queue, "jobs", len(jobs), "error", err)
	}
}
