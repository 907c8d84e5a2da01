package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/validate"
)

// sessionCookie is the cookie the web UI logs in with: the token string itself.
const sessionCookie = "sluice_session"

// request is one request as the route handlers see it: authorised, with its token and the
// resource its path names.
type request struct {
	*http.Request
	w http.ResponseWriter
	s *server

	// token is the request's token; nil on public routes.
	token *sluice.Token
	// tokenApp is an app token's app; nil for an admin token.
	tokenApp *sluice.App

	// The resource the path names, by the route's resource kind.
	app   sluice.App
	job   sluice.Job
	entry sluice.DeadJob
	op    sluice.ReplayOperation
	// policy and report: the retention policy or trim report the path names.
	policy sluice.RetentionPolicy
	// schedule: the periodic schedule the path names.
	schedule sluice.ScheduleInfo
	report   sluice.TrimReport
}

// The authorisation failures.
var (
	errNoToken = &apiError{status: http.StatusUnauthorized,
		msg: "a token is required: send Authorization: Bearer sluice_… (or log in with POST /v1/session)"}
	errBadAuthHeader = &apiError{status: http.StatusUnauthorized, msg: "the Authorization header must be Bearer followed by a token"}
	errBadToken      = &apiError{status: http.StatusUnauthorized, msg: "the token is invalid, revoked or expired"}
	errReadOnly      = &apiError{status: http.StatusForbidden, msg: "this token is read-only: it may only GET"}
	errAdminOnly     = &apiError{status: http.StatusForbidden, msg: "this route needs an admin token"}
	errCrossOrigin   = &apiError{status: http.StatusForbidden, msg: "cross-origin request refused: a write authenticated by the session cookie must come from this server's own pages"}
)

// authorize authenticates the request as its route's access asks and checks that its token
// may use the route. Afterwards the request's context names the token as the audit actor.
func (s *server) authorize(r *request, rt route) error {
	acc := rt.access
	if acc == accessMetrics {
		acc = accessAdminRead
		if s.opts.PublicMetrics {
			acc = accessPublic
		}
	}
	if acc == accessPublic {
		return nil
	}
	secret, viaCookie, err := credential(r.Request)
	if err != nil {
		return err
	}
	// A browser attaches the cookie to cross-site requests by itself: a write it
	// authenticates must come from the same origin. Checked before any database work.
	if viaCookie && !safeMethod(r.Method) {
		if err := s.csrf.Check(r.Request); err != nil {
			return errCrossOrigin
		}
	}
	tok, err := s.authenticate(r, secret)
	if err != nil {
		return err
	}
	switch {
	case (acc == accessWrite || acc == accessAdminWrite) && tok.ReadOnly:
		return errReadOnly
	case (acc == accessAdminRead || acc == accessAdminWrite) && tok.AppID != nil:
		return errAdminOnly
	}
	r.Request = r.WithContext(sluice.WithActor(r.Context(), "token:"+tok.ID.String()))
	return nil
}

// authenticate checks a token string and sets the request's token (and its app).
func (s *server) authenticate(r *request, secret string) (sluice.Token, error) {
	tok, err := s.client.Authenticate(r.Context(), secret)
	if errors.Is(err, sluice.ErrUnauthorized) {
		return tok, errBadToken
	}
	if err != nil {
		return tok, err
	}
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.tokenID = tok.ID
	}
	if tok.AppID != nil {
		app, err := s.client.GetApp(r.Context(), tok.AppID.String())
		if errors.Is(err, sluice.ErrNotFound) {
			return tok, errBadToken
		}
		if err != nil {
			return tok, err
		}
		r.tokenApp = &app
	}
	r.token = &tok
	return tok, nil
}

// credential finds the request's token: the Authorization header, else the session cookie.
func credential(r *http.Request) (secret string, viaCookie bool, err error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", false, errBadAuthHeader
		}
		return token, false, nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return c.Value, true, nil
	}
	return "", false, errNoToken
}

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// resolve looks up what the request's path names and keeps it on the request. For an app
// token, a resource of another app is the same 404 as one that does not exist.
func (s *server) resolve(r *request, res resource) error {
	ctx := r.Context()
	switch res {
	case resourceApp:
		app, err := s.pathApp(r, r.PathValue("app"))
		r.app = app
		return err
	case resourceJob:
		id, err := pathID(r)
		if err != nil {
			return err
		}
		job, err := s.client.GetJob(ctx, id)
		if errors.Is(err, sluice.ErrNotFound) || err == nil && !r.sees(job.AppID) {
			return errNoJob
		}
		r.job = job
		return err
	case resourceEntry:
		id, err := pathID(r)
		if err != nil {
			return err
		}
		entry, err := s.client.DLQ().Get(ctx, id)
		if errors.Is(err, sluice.ErrNotFound) || err == nil && !r.sees(entry.AppID) {
			return errNoEntry
		}
		r.entry = entry
		return err
	case resourceReplay:
		id, err := pathID(r)
		if err != nil {
			return err
		}
		op, err := s.client.DLQ().Operation(ctx, id)
		if errors.Is(err, sluice.ErrNotFound) || err == nil && r.tokenApp != nil && (op.AppID == nil || !r.sees(*op.AppID)) {
			return errNoReplay
		}
		r.op = op
		return err
	case resourcePolicy:
		return s.resolvePolicy(r)
	case resourceReport:
		return s.resolveReport(r)
	case resourceSchedule:
		return s.resolveSchedule(r)
	}
	return nil
}

// The answers for a path naming nothing the token may see: the same whether it does not
// exist or belongs to another app.
var (
	errNoApp    = &apiError{status: http.StatusNotFound, field: "app", msg: "app: no app has this id or name"}
	errNoJob    = &apiError{status: http.StatusNotFound, field: "id", msg: "id: no job has this id"}
	errNoEntry  = &apiError{status: http.StatusNotFound, field: "id", msg: "id: no dead-letter entry has this id"}
	errNoReplay = &apiError{status: http.StatusNotFound, field: "id", msg: "id: no replay operation has this id"}
)

// pathID reads the {id} path value.
func pathID(r *request) (uuid.UUID, error) {
	v := r.PathValue("id")
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, badField("id", "must be a UUID, got %s", validate.Quote(v))
	}
	return id, nil
}

// pathApp resolves the {app} path value, an app id or name.
func (s *server) pathApp(r *request, ref string) (sluice.App, error) {
	if r.tokenApp != nil {
		if !r.isOwnApp(ref) {
			return sluice.App{}, errNoApp
		}
		return *r.tokenApp, nil
	}
	if !couldNameApp(ref) {
		return sluice.App{}, errNoApp
	}
	app, err := s.client.GetApp(r.Context(), ref)
	if errors.Is(err, sluice.ErrNotFound) {
		return app, errNoApp
	}
	return app, err
}

// appFilter scopes an app filter (app= or a bulk body's app) to the request's token: an admin
// token's filter is used as it is; an app token's is its own app, when empty or naming it,
// and otherwise the 404 of an app that does not exist.
func (r *request) appFilter(field, ref string) (string, error) {
	if r.tokenApp == nil {
		if ref != "" && !couldNameApp(ref) {
			// Said as the Go API says it for an unknown app, without asking the database
			// about text that cannot be a name.
			return "", &sluice.FieldError{Field: field, Message: "no app has the id or name " + validate.Quote(ref), Err: sluice.ErrNotFound}
		}
		return ref, nil
	}
	if ref != "" && !r.isOwnApp(ref) {
		return "", &apiError{status: http.StatusNotFound, field: field, msg: field + ": no app has this id or name"}
	}
	return r.tokenApp.ID.String(), nil
}

// isOwnApp reports whether ref, an app id or name, names an app token's app.
func (r *request) isOwnApp(ref string) bool {
	if id, err := uuid.Parse(ref); err == nil {
		return id == r.tokenApp.ID
	}
	return ref == r.tokenApp.Name
}

// sees reports whether the request's token may see things of the app.
func (r *request) sees(app uuid.UUID) bool {
	return r.tokenApp == nil || r.tokenApp.ID == app
}

// couldNameApp reports whether ref could name an app: an id, or a valid app name. Anything
// else names no app, and is never sent to the database.
func couldNameApp(ref string) bool {
	if _, err := uuid.Parse(ref); err == nil {
		return true
	}
	return validate.AppName("app", ref) == nil
}

// sessionCookieFor makes the session cookie holding token; an empty token clears it.
func sessionCookieFor(r *http.Request, token string) *http.Cookie {
	c := &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	if token == "" {
		c.MaxAge = -1
	}
	return c
}
