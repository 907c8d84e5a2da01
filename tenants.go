package sluice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

type (
	// AppHoldings is what an app holds: its jobs by state, its dead-letter entries, its
	// tokens that are not revoked and its retention policies. See Client.AppHoldings.
	AppHoldings = store.AppHoldings
	// AppRows counts an app's rows by table: what a purge deleted.
	AppRows = store.AppRows
	// AppNotEmptyError is DeleteApp's refusal of an app that still holds something; it lists
	// what, and wraps ErrConflict.
	AppNotEmptyError = store.AppNotEmptyError
)

// RenameApp gives the app with this id or name a new name and returns it. Its id never
// changes, so its jobs, dead-letter entries, tokens, retention policies, replay operations
// and cursors keep working; only the old name stops naming it (and is free for another app).
// The new name is validated as at creation: a bad or taken one is a *FieldError on "name"
// (a taken one wraps ErrConflict); an unknown app is a *FieldError on "app" wrapping
// ErrNotFound. The rename is audited (app.rename, with the old and new names).
func (c *Client) RenameApp(ctx context.Context, idOrName, name string) (App, error) {
	if err := validate.AppName("name", name); err != nil {
		return App{}, err
	}
	id, err := c.resolveApp(ctx, "app", idOrName)
	if err != nil {
		return App{}, err
	}
	app, err := c.store.RenameApp(ctx, id, name, newAudit(ctx, "app.rename", &id, nil))
	if errors.Is(err, ErrNotFound) {
		return App{}, unknownApp("app", idOrName)
	}
	return app, err
}

// AppHoldings returns what the app with this id or name holds, or a *FieldError on "app"
// wrapping ErrNotFound.
func (c *Client) AppHoldings(ctx context.Context, idOrName string) (AppHoldings, error) {
	id, err := c.resolveApp(ctx, "app", idOrName)
	if err != nil {
		return AppHoldings{}, err
	}
	h, err := c.store.AppHoldings(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return h, unknownApp("app", idOrName)
	}
	return h, err
}

// Purge batch sizes: rows deleted per transaction.
const (
	DefaultPurgeBatchSize = 1000
	MaxPurgeBatchSize     = 10000
)

// maxPurgeRefusals bounds how often a purge finds the app not empty after emptying it (new
// jobs enqueued meanwhile, or rows a worker held locked) before it gives up.
const maxPurgeRefusals = 10

// DeleteAppOptions say how to delete an app; nil means the defaults.
type DeleteAppOptions struct {
	// Purge deletes everything the app holds first: its jobs (whatever their state, running
	// ones included), its dead-letter entries, its tokens and its retention policies. Without
	// it, an app that holds anything is refused.
	Purge bool
	// BatchSize is how many rows each of the purge's transactions deletes, 1..10000.
	// Defaults to 1000.
	BatchSize int
	// Progress, when set, is called after each batch with the purge's totals so far.
	Progress func(deleted AppRows)
}

// AppDeletion is what DeleteApp did.
type AppDeletion struct {
	// App is the app as it was.
	App App `json:"app"`
	// Deleted counts what the purge deleted, by table (zero without Purge).
	Deleted AppRows `json:"deleted"`
	// Batches is how many of the purge's transactions deleted something.
	Batches int `json:"batches"`
	// Schedules and Pauses count the app's periodic schedules and pauses, which go with it
	// (as the audit row's details also record).
	Schedules int64 `json:"schedules"`
	Pauses    int64 `json:"pauses"`
	// AuditID is the operation's row in the audit log.
	AuditID uuid.UUID `json:"auditId"`
	// Done is true once the app itself is deleted.
	Done bool `json:"done"`
}

// DeleteApp deletes the app with this id or name.
//
// Without opts.Purge, the app must hold nothing: else the answer is an *AppNotEmptyError
// (wrapping ErrConflict) that lists what it holds (pending, running and finished jobs,
// dead-letter entries, tokens that are not revoked, retention policies), and nothing changes.
//
// With opts.Purge, what the app holds is deleted first, in batches of opts.BatchSize rows,
// each its own short transaction (so even a huge app never holds a long lock), then the app
// itself, last. The operation is one row in the audit log (app.purge) whose count and
// details.deleted grow with each committed batch. An interrupted purge (a crash, a cancelled
// ctx, a lost database) leaves a consistent app with fewer rows, and the AppDeletion of what
// was done with the error; running DeleteApp again finishes it. A running job of the app is
// deleted under its worker: the worker's later completion, retry or heartbeat finds no row
// with its lease and changes nothing. The purge does not stop new jobs from being enqueued
// meanwhile: it deletes those too, and gives up (with the *AppNotEmptyError) if the app
// keeps receiving them; stop the app's producers first.
//
// Either way the app's name is free afterwards, and its id is never used again. An unknown
// app is a *FieldError on "app" wrapping ErrNotFound; a bad batch size a *FieldError on
// "batchSize".
func (c *Client) DeleteApp(ctx context.Context, idOrName string, opts *DeleteAppOptions) (AppDeletion, error) {
	var o DeleteAppOptions
	if opts != nil {
		o = *opts
	}
	batch, err := validate.Limit("batchSize", o.BatchSize, DefaultPurgeBatchSize, MaxPurgeBatchSize)
	if err != nil {
		return AppDeletion{}, err
	}
	id, err := c.resolveApp(ctx, "app", idOrName)
	if err != nil {
		return AppDeletion{}, err
	}
	app, err := c.store.GetApp(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return AppDeletion{}, unknownApp("app", idOrName)
	}
	if err != nil {
		return AppDeletion{}, err
	}
	held, err := c.store.AppHoldings(ctx, id)
	if err != nil {
		return AppDeletion{}, c.deleteError(err, idOrName)
	}
	res := AppDeletion{App: app, Schedules: held.Schedules, Pauses: held.Pauses}
	settings := func(details map[string]any) map[string]any {
		details["app"], details["schedules"], details["pauses"] = app.Name, held.Schedules, held.Pauses
		return details
	}
	if !o.Purge {
		audit := newAudit(ctx, "app.delete", &id, settings(map[string]any{}))
		res.AuditID = audit.ID
		if err := c.store.DeleteApp(ctx, id, audit); err != nil {
			return res, c.deleteError(err, idOrName)
		}
		c.knownApps.Delete(id)
		res.Done = true
		return res, nil
	}
	audit := newAudit(ctx, "app.purge", &id, settings(map[string]any{"batchSize": batch}))
	res.AuditID = audit.ID
	for refusals := 0; ; {
		n, err := c.store.PurgeAppBatch(ctx, id, store.PurgeBatch{Limit: batch, Audit: audit})
		if err != nil {
			return res, err
		}
		if n.Total() > 0 {
			res.Deleted = res.Deleted.Add(n)
			res.Batches++
			if o.Progress != nil {
				o.Progress(res.Deleted)
			}
		}
		if n.Total() == int64(batch) {
			continue
		}
		// Fewer than a batch: nothing is left that was not locked. Delete the app, which
		// refuses if anything arrived (or was locked) meanwhile.
		err = c.store.DeleteApp(ctx, id, audit)
		if err == nil {
			c.knownApps.Delete(id)
			res.Done = true
			return res, nil
		}
		var ne *AppNotEmptyError
		if refusals++; !errors.As(err, &ne) || refusals >= maxPurgeRefusals {
			if ne != nil {
				err = fmt.Errorf("the app keeps receiving work while it is purged (stop its producers and purge again): %w", err)
			}
			return res, c.deleteError(err, idOrName)
		}
		// Rows a worker's transaction held, or jobs enqueued meanwhile: give them a moment.
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(time.Duration(refusals) * 20 * time.Millisecond):
		}
	}
}

// deleteError maps a store's ErrNotFound (the app went away meanwhile) to the app's field.
func (c *Client) deleteError(err error, idOrName string) error {
	if errors.Is(err, ErrNotFound) {
		return unknownApp("app", idOrName)
	}
	return err
}

// unknownApp is the error for an app id or name that names no app.
func unknownApp(field, idOrName string) error {
	return &FieldError{Field: field, Message: "no app has the id or name " + validate.Quote(idOrName), Err: ErrNotFound}
}
