package httpapi

import (
	"net/http"

	"github.com/sluicehq/sluice"
)

// listAlerts answers a page of alerts, newest first, in the token's scope: app= and status=
// (pending, delivered, failed) select them.
func (s *server) listAlerts(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, "app", "status", "limit", "cursor")
	if err != nil {
		return err
	}
	opts := sluice.AlertListOptions{Status: sluice.AlertStatus(q.get("status"))}
	if opts.App, err = r.appFilter("app", q.get("app")); err != nil {
		return err
	}
	list, err := q.list()
	if err != nil {
		return err
	}
	opts.Limit, opts.Cursor = list.Limit, list.Cursor
	page, err := s.client.ListAlerts(r.Context(), opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}
