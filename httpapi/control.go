package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/validate"
)

// errNotPaused answers a resume of a scope that is not paused.
var errNotPaused = &apiError{status: http.StatusNotFound, field: "scope",
	msg: "scope: is not paused (a pause is lifted by exactly the scope it was made with: see GET /v1/pauses)"}

// changeJob makes one change to the path's job (cancel, retry, delete) and answers the job
// after it; 404 when the job went away since it was looked up, 409 naming id when its state
// rules the change out.
func (s *server) changeJob(w http.ResponseWriter, r *request, change func(context.Context, uuid.UUID) (sluice.Job, error)) error {
	if err := r.noBody(); err != nil {
		return err
	}
	job, err := change(r.Context(), r.job.ID)
	if errors.Is(err, sluice.ErrNotFound) {
		return errNoJob
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.showJob(job))
}

// cancelJob cancels the path's job: a pending one at once, a running one by marking it
// (cancelRequestedAt) for its worker to stop.
func (s *server) cancelJob(w http.ResponseWriter, r *request) error {
	return s.changeJob(w, r, s.client.CancelJob)
}

// retryJob makes the path's pending job due now.
func (s *server) retryJob(w http.ResponseWriter, r *request) error {
	return s.changeJob(w, r, s.client.RetryJob)
}

// deleteJob deletes the path's job, unless it runs, and answers what it was.
func (s *server) deleteJob(w http.ResponseWriter, r *request) error {
	return s.changeJob(w, r, s.client.DeleteJob)
}

// pauseScope scopes a pause's scope to the request's token. An admin token's scope is used as
// it is. An app token's is always of its own app: app left out means its app, and app naming
// another app (or none) is the 404 of an app that does not exist; so a scope over every app is
// an admin's only. A scope naming nothing is left for the Go API to refuse (on "scope"): an
// app token's implicit app does not make it one.
func (r *request) pauseScope(in sluice.Scope) (sluice.Scope, error) {
	if in == (sluice.Scope{}) {
		return in, nil
	}
	var err error
	in.App, err = r.appFilter("app", in.App)
	return in, err
}

// pauseRequest is POST /v1/pauses's body.
type pauseRequest struct {
	App   string `json:"app"`
	Queue string `json:"queue"`
	Type  string `json:"type"`
}

// pause pauses the body's scope and answers the pause: the existing one when the scope was
// paused already.
func (s *server) pause(w http.ResponseWriter, r *request) error {
	var in pauseRequest
	if err := r.decode(&in); err != nil {
		return err
	}
	scope, err := r.pauseScope(sluice.Scope(in))
	if err != nil {
		return err
	}
	p, err := s.client.Pause(r.Context(), scope)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// resume lifts the pause of exactly the scope the query names (app=, queue=, type=) and
// answers it; 404 on "scope" when that scope is not paused.
func (s *server) resume(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	q, err := parseQuery(r, "app", "queue", "type")
	if err != nil {
		return err
	}
	scope, err := r.pauseScope(sluice.Scope{App: q.get("app"), Queue: q.get("queue"), Type: q.get("type")})
	if err != nil {
		return err
	}
	p, err := s.client.Resume(r.Context(), scope)
	var fe *sluice.FieldError
	if errors.Is(err, sluice.ErrNotFound) && !errors.As(err, &fe) {
		return errNotPaused
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// listPauses answers the pauses, oldest first: every one for an admin token; with app= (and
// always for an app token) those that hold the app's jobs — the app's own and those over
// every app.
func (s *server) listPauses(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, "app")
	if err != nil {
		return err
	}
	ref, err := r.appFilter("app", q.get("app"))
	if err != nil {
		return err
	}
	var app *uuid.UUID
	if ref != "" {
		a, err := s.client.GetApp(r.Context(), ref)
		if errors.Is(err, sluice.ErrNotFound) {
			return &sluice.FieldError{Field: "app", Message: "no app has the id or name " + validate.Quote(ref), Err: sluice.ErrNotFound}
		}
		if err != nil {
			return err
		}
		app = &a.ID
	}
	all, err := s.client.ListPauses(r.Context())
	if err != nil {
		return err
	}
	items := []sluice.Pause{}
	for _, p := range all {
		if app == nil || p.AppID == nil || *p.AppID == *app {
			items = append(items, p)
		}
	}
	return writeJSON(w, http.StatusOK, sluice.Page[sluice.Pause]{Items: items})
}

// disableApp disables the path's app and answers it.
func (s *server) disableApp(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	app, err := s.client.DisableApp(r.Context(), r.app.ID.String())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

// enableApp enables the path's app again and answers it.
func (s *server) enableApp(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	app, err := s.client.EnableApp(r.Context(), r.app.ID.String())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}
