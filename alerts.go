package sluice

import (
	"context"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// AlertDelivery is one alert (package alert) and where its delivery stands: pending (with
// its failed attempts so far, the last error and the next try), delivered, or failed (given
// up on). Finished ones are kept for the alerter's AlertConfig.History (7 days by default).
type AlertDelivery = store.AlertDelivery

// AlertStatus is where an alert's delivery stands: "pending", "delivered" or "failed".
type AlertStatus = store.AlertStatus

// The statuses of an alert.
const (
	AlertPending   = store.AlertPending
	AlertDelivered = store.AlertDelivered
	AlertFailed    = store.AlertFailed
)

// AlertListOptions select and page the alerts ListAlerts returns.
type AlertListOptions struct {
	// App, an app's id or name, keeps that app's alerts only.
	App string
	// Status keeps the alerts of that status only; empty for every status.
	Status AlertStatus
	// Limit is the page size, 1..1000. Defaults to 50.
	Limit int
	// Cursor is the NextCursor of the previous page, with the same App and Status.
	Cursor string
}

// ListAlerts returns one page of alerts, newest first (by id: the entry's id for a
// dead-letter alert, the crossing's for a group alert): those pending and those delivered or
// given up on that are still recorded. Bad input is a *FieldError ("app", "status", "limit",
// "cursor").
func (c *Client) ListAlerts(ctx context.Context, opts AlertListOptions) (Page[AlertDelivery], error) {
	limit, err := validate.Limit("limit", opts.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return Page[AlertDelivery]{}, err
	}
	if opts.Status != "" && !opts.Status.Valid() {
		return Page[AlertDelivery]{}, store.Fieldf("status", "must be pending, delivered or failed")
	}
	q := store.AlertQuery{Status: opts.Status}
	if opts.App != "" {
		id, err := c.resolveApp(ctx, "app", opts.App)
		if err != nil {
			return Page[AlertDelivery]{}, err
		}
		q.AppID = &id
	}
	key := filterKey("alerts", q.AppID, q.Status)
	before, err := decodeCursor(opts.Cursor, key)
	if err != nil {
		return Page[AlertDelivery]{}, err
	}
	items, err := c.store.ListAlerts(ctx, q, store.Page{Limit: limit + 1, Before: before})
	if err != nil {
		return Page[AlertDelivery]{}, err
	}
	return makePage(items, limit, key, func(a AlertDelivery) uuid.UUID { return a.ID }), nil
}
