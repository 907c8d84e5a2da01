package httpapi

import (
	"errors"
	"net/http"

	"github.com/sluicehq/sluice"
)

// errNoSchedule answers a path naming no schedule the token may see.
var errNoSchedule = &apiError{status: http.StatusNotFound, field: "id", msg: "id: no periodic schedule has this id"}

// resolveSchedule finds the {id} periodic schedule; an app token sees only its app's.
func (s *server) resolveSchedule(r *request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sch, err := s.client.GetSchedule(r.Context(), id)
	if errors.Is(err, sluice.ErrNotFound) || err == nil && !r.sees(sch.AppID) {
		return errNoSchedule
	}
	r.schedule = sch
	return err
}

// listSchedules answers the periodic schedules of the app (an app token: its own), by app
// then name, all in one page.
func (s *server) listSchedules(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, "app")
	if err != nil {
		return err
	}
	app, err := r.appFilter("app", q.get("app"))
	if err != nil {
		return err
	}
	list, err := s.client.Schedules(r.Context(), app)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sluice.Page[sluice.ScheduleInfo]{Items: list})
}

// getSchedule answers the schedule the path names.
func (s *server) getSchedule(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, r.schedule)
}

// deleteSchedule deletes the schedule the path names.
func (s *server) deleteSchedule(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	if err := s.client.DeleteSchedule(r.Context(), r.schedule.ID); errors.Is(err, sluice.ErrNotFound) {
		return errNoSchedule
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
