package sluice

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os/user"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// Token is an API bearer token for `sluice serve`: admin (every app) or scoped to one app,
// optionally read-only.
type Token = store.Token

// AuditEntry is one replay, bulk replay, purge or deletion, with who did it and how many
// entries it changed.
type AuditEntry = store.AuditEntry

// ErrUnauthorized: a bearer token is malformed, unknown, revoked or expired. Which of these
// is deliberately not said.
var ErrUnauthorized = errors.New("sluice: invalid, revoked or expired token")

// TokenParams describe a token to create.
type TokenParams struct {
	// Name is a label for people ("ci deploy", "alice"); optional, at most 128 characters.
	Name string
	// App, an app id or name, scopes the token to that app. Empty makes an admin token.
	App string
	// ReadOnly tokens may only read.
	ReadOnly bool
	// TTL, when set, makes the token expire that long after its creation (by this process's
	// clock): from then on it is refused exactly as a revoked one. 1 minute to 10 years;
	// 0 (the default) never expires.
	TTL time.Duration
}

// Token lifetimes.
const (
	MinTokenTTL = time.Minute
	MaxTokenTTL = 10 * 365 * 24 * time.Hour
	// MaxRotationGrace bounds how long a rotated token's previous secret keeps working.
	MaxRotationGrace = 30 * 24 * time.Hour
)

// tokenPrefix starts every token, so a leaked one is recognisable (and scannable).
const tokenPrefix = "sluice_"

// CreateToken makes a token and returns it with its secret form, the string a client presents
// as "Authorization: Bearer …". The secret is shown here once: the store keeps only its
// SHA-256. Bad input is a *FieldError ("name", "app").
func (c *Client) CreateToken(ctx context.Context, p TokenParams) (Token, string, error) {
	if len(p.Name) > validate.MaxNameLength || strings.ContainsFunc(p.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return Token{}, "", store.Fieldf("name", "must be at most %d characters without control characters", validate.MaxNameLength)
	}
	if p.TTL != 0 && (p.TTL < MinTokenTTL || p.TTL > MaxTokenTTL) {
		return Token{}, "", store.Fieldf("ttl", "must be between %s and %s (%dd), got %s", MinTokenTTL, MaxTokenTTL, MaxTokenTTL/(24*time.Hour), p.TTL)
	}
	t := Token{ID: newID(), Name: p.Name, ReadOnly: p.ReadOnly}
	if p.TTL != 0 {
		expires := clock.Now().Add(p.TTL).UTC().Truncate(time.Millisecond)
		t.ExpiresAt = &expires
	}
	if p.App != "" {
		id, err := c.resolveApp(ctx, "app", p.App)
		if err != nil {
			return Token{}, "", err
		}
		t.AppID = &id
	}
	secret, hash, err := newSecret(t.ID)
	if err != nil {
		return Token{}, "", err
	}
	t.SecretHash = hash
	saved, err := c.store.CreateToken(ctx, t)
	if err != nil {
		return Token{}, "", err
	}
	return saved, secret, nil
}

// newSecret makes a token string for the token with this id, and the hash the store keeps.
func newSecret(id uuid.UUID) (secret string, hash []byte, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	encoded := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(encoded))
	return tokenPrefix + hex.EncodeToString(id[:]) + "_" + encoded, sum[:], nil
}

// RotateParams say how to rotate a token.
type RotateParams struct {
	// Grace is how long the token's current secret keeps working beside the new one, up to
	// 30 days. 0 (the default) ends it at once.
	Grace time.Duration
}

// RotateToken gives the token a new secret and returns it with the new token string (shown
// this once): the same id, name, scope, access and expiry. The old secret stops working at
// once, or after p.Grace (by this process's clock); a secret still in the grace of an earlier
// rotation stops at once either way. A revoked or expired token is a *FieldError on "id"
// wrapping ErrConflict; an unknown one ErrNotFound; a bad grace a *FieldError on "grace".
func (c *Client) RotateToken(ctx context.Context, id uuid.UUID, p RotateParams) (Token, string, error) {
	if p.Grace < 0 || p.Grace > MaxRotationGrace {
		return Token{}, "", store.Fieldf("grace", "must be between 0 and %s (30d), got %s", MaxRotationGrace, p.Grace)
	}
	t, err := c.store.GetToken(ctx, id)
	if err != nil {
		return Token{}, "", err
	}
	now := clock.Now()
	if t.RevokedAt == nil && !TokenActive(t, now) {
		return Token{}, "", &FieldError{Field: "id", Message: "the token has expired: make a new one", Err: ErrConflict}
	}
	secret, hash, err := newSecret(id)
	if err != nil {
		return Token{}, "", err
	}
	rot := store.TokenRotation{SecretHash: hash}
	if p.Grace > 0 {
		until := now.Add(p.Grace).UTC().Truncate(time.Millisecond)
		rot.PreviousExpiresAt = &until
	}
	saved, err := c.store.RotateToken(ctx, id, rot)
	if err != nil {
		return Token{}, "", err
	}
	return saved, secret, nil
}

// ListTokens returns every token (without secrets), newest first.
func (c *Client) ListTokens(ctx context.Context) ([]Token, error) {
	return c.store.ListTokens(ctx)
}

// RevokeToken revokes a token at once, or returns ErrNotFound.
func (c *Client) RevokeToken(ctx context.Context, id uuid.UUID) error {
	return c.store.RevokeToken(ctx, id)
}

// Authenticate returns the token a bearer string names, if the string is well formed, the
// token exists, it is neither revoked nor expired, and the secret is its current one (or the
// previous one, within a rotation's grace); else ErrUnauthorized. Secrets are compared in
// constant time; expiry and grace are judged by this process's clock.
func (c *Client) Authenticate(ctx context.Context, bearer string) (Token, error) {
	rest, ok := strings.CutPrefix(bearer, tokenPrefix)
	idHex, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(idHex) != 32 || len(secret) != base64.RawURLEncoding.EncodedLen(32) {
		return Token{}, ErrUnauthorized
	}
	raw, err := hex.DecodeString(idHex)
	if err != nil {
		return Token{}, ErrUnauthorized
	}
	id, _ := uuid.FromBytes(raw)
	t, err := c.store.GetToken(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Token{}, ErrUnauthorized
	}
	if err != nil {
		return Token{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	now := clock.Now()
	current := subtle.ConstantTimeCompare(sum[:], t.SecretHash) == 1
	// A rotated token's previous secret, during the rotation's grace.
	previous := len(t.PreviousSecretHash) == len(sum) && subtle.ConstantTimeCompare(sum[:], t.PreviousSecretHash) == 1 &&
		t.PreviousExpiresAt != nil && now.Before(*t.PreviousExpiresAt)
	if !current && !previous || !TokenActive(t, now) {
		return Token{}, ErrUnauthorized
	}
	return t, nil
}

// TokenActive reports whether the token works at now: it is neither revoked nor expired.
func TokenActive(t Token, now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// ListAudit returns one page of the audit log, newest first.
func (c *Client) ListAudit(ctx context.Context, opts ListOptions) (Page[AuditEntry], error) {
	limit, err := validate.Limit("limit", opts.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	key := filterKey("audit")
	before, err := decodeCursor(opts.Cursor, key)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	items, err := c.store.ListAudit(ctx, store.Page{Limit: limit + 1, Before: before})
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	return makePage(items, limit, key, func(e AuditEntry) uuid.UUID { return e.ID }), nil
}

type actorKey struct{}

// WithActor returns a context whose replays and purges are recorded in the audit log as done
// by actor ("token:<id>", "cli:<user>", ...). Without it, the actor is "go:<os user>".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// actorOf returns the actor for the audit log.
func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "go:" + name
}
