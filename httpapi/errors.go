package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicehq/sluice"
)

// apiError is an answer other than success: its status, its message and the input it is
// about. Its message is shown to the client as it is.
type apiError struct {
	status int
	msg    string
	// field names the bad input as the request spelled it; empty when the error is not about
	// one input.
	field string
}

// Error returns the message.
func (e *apiError) Error() string { return e.msg }

// badField is a 400 about one input.
func badField(field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, field: field, msg: field + ": " + fmt.Sprintf(format, args...)}
}

// errorBody is every error's JSON: {"error": "...", "field": "..."}.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// The answers for errors whose detail is not the client's business.
const (
	msgInternal    = "internal error; the server's log has the details"
	msgUnavailable = "the database is not answering; try again later"
)

// classify turns an error from a handler or the Go API into its answer.
func classify(err error) *apiError {
	var ae *apiError
	var fe *sluice.FieldError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, sluice.ErrAlreadyReplayed):
		return &apiError{status: http.StatusConflict, msg: "the dead-letter entry was already replayed; an entry is replayed at most once"}
	case errors.Is(err, sluice.ErrConflict), errors.Is(err, sluice.ErrAppDisabled):
		// A change the stored state rules out: a taken name, a held unique key, a job in
		// the wrong state, a disabled app's enqueue.
		if errors.As(err, &fe) {
			return &apiError{status: http.StatusConflict, field: fe.Field, msg: fe.Error()}
		}
		return &apiError{status: http.StatusConflict, msg: "conflict: " + err.Error()}
	case errors.Is(err, sluice.ErrUnauthorized):
		return errBadToken
	case errors.As(err, &fe):
		return &apiError{status: http.StatusBadRequest, field: fe.Field, msg: fe.Error()}
	case errors.Is(err, sluice.ErrNotFound):
		return &apiError{status: http.StatusNotFound, msg: "not found"}
	case unavailable(err):
		return &apiError{status: http.StatusServiceUnavailable, msg: msgUnavailable}
	}
	return &apiError{status: http.StatusInternalServerError, msg: msgInternal}
}

// unavailable reports whether err says the database could not answer (in time), rather than
// that it refused the request.
func unavailable(err error) bool {
	var connectErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return true
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 53: insufficient resources; 57P01-57P03: the
		// server is shutting down or not accepting connections yet.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return pgconn.SafeToRetry(err)
}

// writeError answers with err's status and JSON body, logging what the client is not told.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	switch {
	case e.status >= 500:
		level := slog.LevelError
		if e.status == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		s.log.LogAttrs(r.Context(), level, "http request failed",
			slog.String("method", r.Method), slog.String("pattern", r.Pattern),
			slog.Int("status", e.status), slog.String("error", err.Error()))
	case e.status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	writeJSON(w, e.status, errorBody{Error: e.msg, Field: e.field}) // an errorBody always encodes
}

// writeJSON writes v as the JSON body of a status answer. If v does not encode, nothing is
// written and the error is returned, for the caller to answer 500.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the answer: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n')) // a failed write has no one to tell
	return nil
}
