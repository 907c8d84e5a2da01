package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice"
)

// The answers for a retention path naming nothing the token may see.
var (
	errNoPolicy = &apiError{status: http.StatusNotFound, field: "id", msg: "id: no retention policy has this id"}
	errNoReport = &apiError{status: http.StatusNotFound, field: "id", msg: "id: no trim report has this id"}
)

// resolvePolicy finds the {id} policy; an app token sees only its app's.
func (s *server) resolvePolicy(r *request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	list, err := s.client.ListRetention(r.Context())
	if err != nil {
		return err
	}
	for _, p := range list {
		if p.ID == id {
			if r.tokenApp != nil && (p.AppID == nil || !r.sees(*p.AppID)) {
				return errNoPolicy
			}
			r.policy = p
			return nil
		}
	}
	return errNoPolicy
}

// resolveReport finds the {id} trim report; an app token sees only its app's.
func (s *server) resolveReport(r *request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rep, err := s.client.TrimReport(r.Context(), id)
	if errors.Is(err, sluice.ErrNotFound) || err == nil && !r.sees(rep.AppID) {
		return errNoReport
	}
	r.report = rep
	return err
}

// listRetention answers the stored policies, {"items": [...]}.
func (s *server) listRetention(w http.ResponseWriter, r *request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	list, err := s.client.ListRetention(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sluice.Page[sluice.RetentionPolicy]{Items: list})
}

// policyRequest is PUT /v1/retention's body.
type policyRequest struct {
	Kind string `json:"kind"`
	App  string `json:"app"`
	Type string `json:"type"`
	// MaxAge is a Go duration ("36h", "90m") or whole days ("7d").
	MaxAge   string `json:"maxAge"`
	MaxCount int64  `json:"maxCount"`
}

// parseMaxAge reads a policy's maxAge as the command line does: a Go duration, or a whole
// number of days without a sign ("+7d" is refused there too).
func parseMaxAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n < 100000 && days[0] != '+' {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, badField("maxAge", "must be a positive duration like \"90m\", \"36h\" or \"7d\"")
	}
	return d, nil
}

// putRetention creates or replaces the policy of the body's kind and scope.
func (s *server) putRetention(w http.ResponseWriter, r *request) error {
	var in policyRequest
	if err := r.decode(&in); err != nil {
		return err
	}
	age, err := parseMaxAge(in.MaxAge)
	if err != nil {
		return err
	}
	p, err := s.client.SetRetention(r.Context(), sluice.Policy{Kind: sluice.RetentionKind(in.Kind), App: in.App,
		Type: in.Type, MaxAge: age, MaxCount: in.MaxCount})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// deleteRetention deletes the path's policy.
func (s *server) deleteRetention(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	if err := s.client.DeleteRetention(r.Context(), r.policy.ID); errors.Is(err, sluice.ErrNotFound) {
		return errNoPolicy
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listTrimReports answers a page of trim reports: the undismissed ones, or all with all=true.
func (s *server) listTrimReports(w http.ResponseWriter, r *request) error {
	q, err := parseQuery(r, "all", "limit", "cursor")
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
	page, err := s.client.TrimReports(r.Context(), opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// dismissTrimReport dismisses the path's report, naming the token as who did.
func (s *server) dismissTrimReport(w http.ResponseWriter, r *request) error {
	if err := r.noBody(); err != nil {
		return err
	}
	rep, err := s.client.DismissTrimReport(r.Context(), r.report.ID, "token:"+r.token.ID.String())
	if errors.Is(err, sluice.ErrNotFound) {
		return errNoReport
	} else if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
