package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

func (c *cli) tokensCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke the API tokens of sluice serve",
		Long: `A token lets a client use the HTTP API of 'sluice serve', and logs in to its web UI. An
admin token may do everything; an app token sees and changes only its own app; a read-only
token (of either kind) may only read. A token is shown once, when it is made: Sluice keeps
only its hash. Revoking one takes effect at once.`,
	}, c.tokensCreateCommand(), c.tokensListCommand(), c.tokensRevokeCommand())
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
		app, name       string
	)
	cmd := &cobra.Command{
		Use:   "create --admin | --app APP [--read-only] [--name N]",
		Short: "Make a token; it is printed alone on the last line of stdout",
		Long: `Make a token: --admin for every app, or --app APP (id or name) for one app; --read-only
to allow only reading. The token is printed alone as the last line of stdout (with --json,
one JSON document: {"token": {id, name, appId, readOnly, createdAt}, "secret": "sluice_…"}),
and never again: Sluice keeps only its hash.`,
		Example: `  sluice tokens create --admin --name ops
  sluice tokens create --app billing --read-only --name dashboard
  TOKEN=$(sluice tokens create --app billing | tail -n 1)`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if admin == cmd.Flags().Changed("app") {
				return usagef("tokens create needs exactly one of --admin and --app APP")
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				tok, secret, err := cl.CreateToken(ctx, sluice.TokenParams{Name: name, App: app, ReadOnly: readOnly})
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

// tokenStatus says whether a token works: active, or when it was revoked.
func tokenStatus(t sluice.Token) string {
	if t.RevokedAt != nil {
		return "revoked " + fmtTime(*t.RevokedAt)
	}
	return "active"
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
		{"status", tokenStatus(t)},
	}
}

func (c *cli) tokensListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List every token, newest first (never their secrets)",
		Example: "  sluice tokens list\n  sluice tokens list --json",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				tokens, err := cl.ListTokens(ctx)
				if err != nil {
					return err
				}
				var names appNames
				if !c.json && len(tokens) > 0 {
					if names, err = loadAppNames(ctx, cl); err != nil {
						return err
					}
				}
				return printPage(c, sluice.Page[sluice.Token]{Items: tokens}, "tokens", nil, func(w io.Writer, items []sluice.Token) {
					row(w, "ID", "NAME", "SCOPE", "ACCESS", "CREATED AT", "STATUS")
					for _, t := range items {
						row(w, t.ID.String(), cell(t.Name, 32), tokenScope(t, names), tokenAccess(t), fmtTime(t.CreatedAt), tokenStatus(t))
					}
				})
			})
		}),
	}
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
