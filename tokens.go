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
}

// tokenPrefix starts every token, so a leaked one is recognisable (and scannable).
const tokenPrefix = "sluice_"

// CreateToken makes a token and returns it with its secret form, the string a client presents
// as "Authorization: Bearer …". The secret is shown here once: the store keeps only its
// SHA-256. Bad input is a *FieldError ("name", "app").
func (c *Client) CreateToken(ctx context.Context, p TokenParams) (Token, string, error) {
	if len(p.Name) > validate.MaxNameLength || strings.ContainsFunc(p.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return Token{}, "", store.Fieldf("name", "must be at most %d characters without control characters", validate.MaxNameLength)
	}
	t := Token{ID: newID(), Name: p.Name, ReadOnly: p.ReadOnly}
	if p.App != "" {
		id, err := c.resolveApp(ctx, "app", p.App)
		if err != nil {
			return Token{}, "", err
		}
		t.AppID = &id
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Token{}, "", err
	}
	encoded := base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(encoded))
	t.SecretHash = sum[:]
	saved, err := c.store.CreateToken(ctx, t)
	if err != nil {
		return Token{}, "", err
	}
	return saved, tokenPrefix + hex.EncodeToString(t.ID[:]) + "_" + encoded, nil
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
// token exists, and it is neither revoked nor expired; else ErrUnauthorized. The secret is
// compared in constant time.
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
	if subtle.ConstantTimeCompare(sum[:], t.SecretHash) != 1 || t.RevokedAt != nil ||
		(t.ExpiresAt != nil && !clock.Now().Before(*t.ExpiresAt)) {
		return Token{}, ErrUnauthorized
	}
	return t, nil
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
