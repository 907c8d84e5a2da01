package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

func (c *cli) tokensCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "tokens",
		Short: "Create, list, rotate and revoke the API tokens of sluice serve",
		Long: `A token lets a client use the HTTP API of 'sluice serve', and logs in to its web UI. An
admin token may do everything; an app token sees and changes only its own app; a read-only
token (of either kind) may only read. A token is shown once, when it is made: Sluice keeps
only its hash. A token made with --ttl expires: from then on it is refused exactly as a
revoked one. Rotating a token gives it a new secret (same id, scope and access), the old one
working on for --grace. Revoking one takes effect at once.`,
	}, c.tokensCreateCommand(), c.tokensListCommand(), c.tokensRotateCommand(), c.tokensRevokeCommand())
}

// createdToken is the JSON of tokens create: the token's metadata and, this once, its
// secret.
type createdToken struct {
	Token sluice.Token `json:"token"`
	// Secret is the token string itself, to send as "Authorization: Bearer …".
	Secret string `json:"secret"`
}

func (c *cli) tokensCreateCommand() *cobra.Command {
	var (
		admin, readOnly bool
		app, name, ttl  string
	)
	cmd := &cobra.Command{
		Use:   "create --admin | --app APP [--read-only] [--name N] [--ttl D]",
		Short: "Make a token; it is printed alone on the last line of stdout",
		Long: `Make a token: --admin for every app, or --app APP (id or name) for one app; --read-only
to allow only reading; --ttl to make it expire that long from now (90m, 720h, 30d; 1 minute
to 3650 days), after which it is refused exactly as a revoked one. The token is printed alone
as the last line of stdout (with --json, one JSON document: {"token": {id, name, appId,
readOnly, createdAt, expiresAt}, "secret": "sluice_…"}), and never again: Sluice keeps only
its hash.`,
		Example: `  sluice tokens create --admin --name ops
  sluice tokens create --app billing --read-only --name dashboard --ttl 720h
  TOKEN=$(sluice tokens create --app billing | tail -n 1)`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if admin == cmd.Flags().Changed("app") {
				return usagef("tokens create needs exactly one of --admin and --app APP")
			}
			var lifetime time.Duration
			if cmd.Flags().Changed("ttl") {
				var err error
				if lifetime, err = parseDuration("ttl", ttl, false); err != nil {
					return err
				}
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				tok, secret, err := cl.CreateToken(ctx, sluice.TokenParams{Name: name, App: app, ReadOnly: readOnly, TTL: lifetime})
				if err != nil {
					return err
				}
				c.notice("The token is shown this once: Sluice keeps only its hash. Send it as 'Authorization: Bearer TOKEN', or log in to the web UI with it.")
				if c.json {
					return c.printJSON(createdToken{Token: tok, Secret: secret})
				}
				names, err := loadAppNames(ctx, cl)
				if err != nil {
					return err
				}
				if err := c.printDetails(tokenFields(tok, names)); err != nil {
					return err
				}
				_, err = fmt.Fprintln(c.stdout, secret)
				return err
			})
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&admin, "admin", false, "an admin token: every app")
	f.StringVar(&app, "app", "", "a token of this app only (id or name)")
	f.BoolVar(&readOnly, "read-only", false, "the token may only read")
	f.StringVar(&name, "name", "", "a label for people, like ci-deploy (at most 128 characters)")
	f.StringVar(&ttl, "ttl", "", "expire this long from now, like 720h or 30d (default: never)")
	return cmd
}

// tokenScope says what a token may see: "admin", or "app NAME".
func tokenScope(t sluice.Token, names appNames) string {
	if t.AppID == nil {
		return "admin"
	}
	return "app " + cell(names.name(*t.AppID), 64)
}

// tokenAccess says what a token may do.
func tokenAccess(t sluice.Token) string {
	if t.ReadOnly {
		return "read-only"
	}
	return "read-write"
}

// tokenStatus says whether a token works at now: active, or when it was revoked or expired.
func tokenStatus(t sluice.Token, now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked " + fmtTime(*t.RevokedAt)
	case !sluice.TokenActive(t, now):
		return "expired " + fmtTime(*t.ExpiresAt)
	case t.PreviousExpiresAt != nil && now.Before(*t.PreviousExpiresAt):
		return "active (previous secret until " + fmtTime(*t.PreviousExpiresAt) + ")"
	}
	return "active"
}

// tokenExpiry says when a token expires: "-" for never.
func tokenExpiry(t sluice.Token) string {
	if t.ExpiresAt == nil {
		return "-"
	}
	return fmtTime(*t.ExpiresAt)
}

// tokenFields is a token's detail view (never its secret, which the store does not keep).
func tokenFields(t sluice.Token, names appNames) []field {
	name := t.Name
	if name == "" {
		name = "-"
	}
	return []field{
		{"id", t.ID.String()},
		{"name", cell(name, 128)},
		{"scope", tokenScope(t, names)},
		{"access", tokenAccess(t)},
		{"created at", fmtTime(t.CreatedAt)},
		{"expires at", tokenExpiry(t)},
		{"rotated at", fmtTimePtr(t.RotatedAt)},
		{"status", tokenStatus(t, time.Now())},
	}
}

func (c *cli) tokensListCommand() *cobra.Command {
	var expiring string
	cmd := &cobra.Command{
		Use:   "list [--expiring-within D]",
		Short: "List every token, newest first (never their secrets)",
		Long: `List every token, newest first, with its scope, access, expiry and status (active,
expired or revoked; never its secret). --expiring-within D lists only the active tokens that
expire within D from now (90m, 72h, 7d): the ones to rotate or replace soon.`,
		Example: "  sluice tokens list\n  sluice tokens list --json\n  sluice tokens list --expiring-within 7d",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			var within time.Duration
			if cmd.Flags().Changed("expiring-within") {
				var err error
				if within, err = parseDuration("expiring-within", expiring, false); err != nil {
					return err
				}
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				tokens, err := cl.ListTokens(ctx)
				if err != nil {
					return err
				}
				now := time.Now()
				if within > 0 {
					soon := tokens[:0]
					for _, t := range tokens {
						if sluice.TokenActive(t, now) && t.ExpiresAt != nil && t.ExpiresAt.Before(now.Add(within)) {
							soon = append(soon, t)
						}
					}
					tokens = soon
				}
				var names appNames
				if !c.json && len(tokens) > 0 {
					if names, err = loadAppNames(ctx, cl); err != nil {
						return err
					}
				}
				return printPage(c, sluice.Page[sluice.Token]{Items: tokens}, "tokens", nil, func(w io.Writer, items []sluice.Token) {
					row(w, "ID", "NAME", "SCOPE", "ACCESS", "CREATED AT", "EXPIRES AT", "STATUS")
					for _, t := range items {
						row(w, t.ID.String(), cell(t.Name, 32), tokenScope(t, names), tokenAccess(t), fmtTime(t.CreatedAt),
							tokenExpiry(t), tokenStatus(t, now))
					}
				})
			})
		}),
	}
	cmd.Flags().StringVar(&expiring, "expiring-within", "", "only active tokens that expire within this long, like 72h or 7d")
	return cmd
}

func (c *cli) tokensRotateCommand() *cobra.Command {
	var grace string
	cmd := &cobra.Command{
		Use:   "rotate ID [--grace D]",
		Short: "Give a token a new secret; it is printed alone on the last line of stdout",
		Long: `Give the token ID a new secret, keeping its id, name, scope, access and expiry. The old
secret stops working at once, or with --grace D (like 1h; at most 30d) once D has passed, so
that its users can switch; a secret still in the grace of an earlier rotation stops at once.
The new token is printed alone as the last line of stdout (with --json: {"token": {...},
"secret": "sluice_…"}), and never again. A revoked or expired token cannot be rotated: make a
new one.`,
		Example: `  sluice tokens rotate 01938c5e-7a8b-7cde-8f01-23456789abcd
  sluice tokens rotate 01938c5e-7a8b-7cde-8f01-23456789abcd --grace 1h`,
		Args: exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			var g time.Duration
			if cmd.Flags().Changed("grace") {
				if g, err = parseDuration("grace", grace, true); err != nil {
					return err
				}
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				tok, secret, err := cl.RotateToken(ctx, id, sluice.RotateParams{Grace: g})
				if err != nil {
					return notFound(err, "no token has the id %s", id)
				}
				if tok.PreviousExpiresAt != nil {
					c.notice("The previous secret keeps working until %s. The new one is shown this once.", fmtTime(*tok.PreviousExpiresAt))
				} else {
					c.notice("The previous secret no longer works. The new one is shown this once.")
				}
				if c.json {
					return c.printJSON(createdToken{Token: tok, Secret: secret})
				}
				names, err := loadAppNames(ctx, cl)
				if err != nil {
					return err
				}
				if err := c.printDetails(tokenFields(tok, names)); err != nil {
					return err
				}
				_, err = fmt.Fprintln(c.stdout, secret)
				return err
			})
		}),
	}
	cmd.Flags().StringVar(&grace, "grace", "", "the old secret keeps working this long, like 1h (default: it stops at once)")
	return cmd
}

func (c *cli) tokensRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke a token at once",
		Example: "  sluice tokens revoke 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				if err := cl.RevokeToken(ctx, id); err != nil {
					return notFound(err, "no token has the id %s", id)
				}
				tok, err := cl.Store().GetToken(ctx, id)
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(tok)
				}
				_, err = fmt.Fprintf(c.stdout, "Revoked token %s (%s).\n", id, tokenScope(tok, nil))
				return err
			})
		}),
	}
}

// cliActor is who the audit log says did a replay or purge from the command line:
// cli:<the operating-system user>.
func cliActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return "cli:" + name
}

// withActor names the command-line user as the actor of what ctx audits.
func withActor(ctx context.Context) context.Context {
	return sluice.WithActor(ctx, cliActor())
}
