package sluice

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/validate"
)

// HandlerFunc handles one attempt of a job whose payload decodes into T. Returning nil
// completes the job; an error fails the attempt (retried with backoff until the attempts run
// out, then dead-lettered). Wrap the error with Permanent to dead-letter at once, return
// Snooze to run again later, or wrap with Cancel to end the job as cancelled. A panic is a
// failed attempt whose error carries the stack.
//
// ctx ends when the attempt's timeout passes, when the worker loses the job's lease, or when
// the client is stopped hard; a handler should return promptly then. Handlers never run
// inside a database transaction.
type HandlerFunc[T any] func(ctx context.Context, job *Job, args T) error

// handler is a registered job type: its options and its handler with the payload decoding
// bound in.
type handler struct {
	jobType string
	opts    TypeOptions
	run     func(ctx context.Context, job *Job) error
}

// Handle registers fn as the handler of jobType on c; the client then claims jobs of that
// type from the type's queue. The payload is decoded into T with encoding/json; a payload
// that does not decode fails the job permanently. Pass nil opts for the defaults.
//
// Handle panics if jobType or opts are invalid, if jobType already has a handler, or if the
// client is running: these are programming errors, as with http.Handle.
func Handle[T any](c *Client, jobType string, fn HandlerFunc[T], opts *TypeOptions) {
	if err := validate.Identifier("jobType", jobType); err != nil {
		panic("sluice.Handle: " + err.Error())
	}
	if fn == nil {
		panic("sluice.Handle: nil handler for " + jobType)
	}
	o, err := opts.withDefaults(c.cfg.JobTimeout)
	if err != nil {
		panic(fmt.Sprintf("sluice.Handle(%s): %s", jobType, err))
	}
	h := &handler{jobType: jobType, opts: o, run: func(ctx context.Context, job *Job) error {
		var args T
		if err := json.Unmarshal(job.Payload, &args); err != nil {
			return Permanent(fmt.Errorf("payload does not decode into %T: %w", args, err))
		}
		return fn(ctx, job, args)
	}}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine != nil {
		panic("sluice.Handle: the client is running; register handlers before Start")
	}
	if _, dup := c.handlers[jobType]; dup {
		panic("sluice.Handle: " + jobType + " already has a handler")
	}
	c.handlers[jobType] = h
}
