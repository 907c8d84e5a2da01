package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

func (c *cli) appsCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "apps",
		Short: "Create and list apps (tenants)",
		Long:  "An app is a tenant: every job and every dead-letter entry belongs to exactly one.",
	}, c.appsCreateCommand(), c.appsListCommand())
}

func (c *cli) appsCreateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create an app",
		Long: `Create an app. NAME is 1-128 characters without control characters, not shaped like a
UUID, and not taken by another app.`,
		Example: "  sluice apps create billing",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				app, err := cl.CreateApp(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(app)
				}
				return c.printDetails([]field{
					{"id", app.ID.String()},
					{"name", app.Name},
					{"created at", fmtTime(app.CreatedAt)},
				})
			})
		}),
	}
}

func (c *cli) appsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List every app, by name",
		Example: "  sluice apps list\n  sluice apps list --json",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				apps, err := cl.ListApps(cmd.Context())
				if err != nil {
					return err
				}
				return printPage(c, sluice.Page[sluice.App]{Items: apps}, "apps", nil, func(w io.Writer, items []sluice.App) {
					row(w, "ID", "NAME", "CREATED AT")
					for _, a := range items {
						row(w, a.ID.String(), cell(a.Name, 128), fmtTime(a.CreatedAt))
					}
				})
			})
		}),
	}
}
