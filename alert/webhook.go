package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/store"
)

// The webhook's headers.
const (
	HeaderEvent     = "Sluice-Event"
	HeaderEventID   = "Sluice-Event-Id"
	HeaderSignature = "Sluice-Signature"
)

// envelope is a webhook request's body.
type envelope struct {
	Event     string              `json:"event"`
	ID        string              `json:"id"`
	Entry     *store.DeadJob      `json:"entry,omitempty"`
	Threshold *int64              `json:"threshold,omitempty"`
	Group     *store.FailureGroup `json:"group,omitempty"`
}

func encodeEnvelope(e envelope) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("encode the %s alert %s: %w", e.Event, e.ID, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// maxErrorBody bounds how much of a failed answer's body is quoted in the error.
const maxErrorBody = 512

// post sends one webhook attempt. A 2xx answer is success; 429 and 5xx are retried
// (honouring Retry-After); any other answer is a permanent error.
func (a *Alerter) post(ctx context.Context, event, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return &permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sluice-Alerts/1")
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderEventID, id)
	if a.cfg.WebhookSecret != "" {
		req.Header.Set(HeaderSignature, Sign(a.cfg.WebhookSecret, time.Now(), body))
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("webhook answered %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
			return &retryAfterError{err: err, after: time.Duration(secs) * time.Second}
		}
		return err
	}
	return &permanentError{err}
}

// Sign returns the Sluice-Signature header of a webhook request with this body, sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<unix seconds>.<body>" keyed with secret>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("alert: no valid Sluice-Signature header")
	ErrBadSignature = errors.New("alert: the signature does not match the body")
	ErrStale        = errors.New("alert: the signature's timestamp is outside the tolerance")
)

// Verify checks a webhook request's Sluice-Signature header against its body, for a
// receiver: the HMAC must match (any of several v1 values, for a secret being rotated) and,
// with tolerance above 0, the timestamp must be within tolerance of now, which refuses a
// replayed old request. It returns nil, ErrNoSignature, ErrBadSignature or ErrStale.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	matched := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
			return ErrStale
		}
	}
	return nil
}
