package httpapi

import (
	"net/http"
	"strconv"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/validate"
)

// renameAppRequest is PATCH /v1/apps/{app}'s body.
type renameAppRequest struct {
	Name string `json:"name"`
}

// renameApp gives the path's app the body's name.
func (s *server) renameApp(w http.ResponseWriter, r *request) error {
	var in renameAppRequest
	if err := r.decode(&in); err != nil {
		return err
	}
	app, err := s.client.RenameApp(r.Context(), r.app.ID.String(), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

// appHoldings answers what the path's app holds.
func (s *server) appHoldings(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	h, err := s.client.AppHoldings(r.Context(), r.app.ID.String())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h)
}

// deleteApp deletes the path's app: refused (409) while it holds anything, unless purge=true,
// which deletes what it holds first in batches of batchSize rows.
func (s *server) deleteApp(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	q, err := parseQuery(r, "purge", "batchSize")
	if err != nil {
		return err
	}
	opts := &sluice.DeleteAppOptions{}
	if opts.Purge, err = q.bool("purge"); err != nil {
		return err
	}
	if v := q.get("batchSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 {
			return badField("batchSize", "must be an integer between 1 and %d, got %s", sluice.MaxPurgeBatchSize, validate.Quote(v))
		}
		if !opts.Purge {
			return badField("batchSize", "is only for purge=true")
		}
		opts.BatchSize = n
	}
	res, err := s.client.DeleteApp(r.Context(), r.app.ID.String(), opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
