package main

import (
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

func (c *cli) appsCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "apps",
		Short: "Create and list apps (tenants)",
		Long:  "An app is a tenant: every job and every dead-letter entry belongs to exactly one.",
	}, c.appsCreateCommand(), c.appsListCommand(), c.appsLimitCommand())
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
				return c.printApp(app)
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
					row(w, "ID", "NAME", "CREATED AT", "MAX RUNNING", "RATE/S", "BURST")
					for _, a := range items {
						row(w, a.ID.String(), cell(a.Name, 128), fmtTime(a.CreatedAt),
							fmtLimit(float64(a.MaxRunning)), fmtLimit(a.Rate), fmtLimit(float64(a.Burst)))
					}
				})
			})
		}),
	}
}

func (c *cli) appsLimitCommand() *cobra.Command {
	var limits sluice.AppLimits
	cmd := &cobra.Command{
		Use:   "limit APP",
		Short: "Set an app's limits: how many of its jobs run at once, how fast they start",
		Long: `Set the limits of APP (an id or a name), replacing the ones it had; every worker process
enforces them through the database. --max-running caps the app's jobs running at once (in all
queues, claimed-ahead jobs included); --rate bounds how many start per second on average, and
--burst how many may start at once after a quiet spell (default: the rate, rounded up). A flag
left out, or 0, sets no limit: with no flags, the app has no limits.`,
		Example: "  sluice apps limit billing --max-running 20\n  sluice apps limit billing --rate 50 --burst 100\n  sluice apps limit billing",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				app, err := cl.SetAppLimits(cmd.Context(), args[0], limits)
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(app)
				}
				return c.printApp(app)
			})
		}),
	}
	f := cmd.Flags()
	f.IntVar(&limits.MaxRunning, "max-running", 0, "at most this many of the app's jobs run at once (0: no cap)")
	f.Float64Var(&limits.Rate, "rate", 0, "at most this many of the app's jobs start per second, on average (0: no limit)")
	f.IntVar(&limits.Burst, "burst", 0, "how many may start at once after a quiet spell (default: the rate, rounded up)")
	return cmd
}

// printApp prints one app's details.
func (c *cli) printApp(app sluice.App) error {
	return c.printDetails([]field{
		{"id", app.ID.String()},
		{"name", app.Name},
		{"created at", fmtTime(app.CreatedAt)},
		{"max running", fmtLimit(float64(app.MaxRunning))},
		{"rate per second", fmtLimit(app.Rate)},
		{"burst", fmtLimit(float64(app.Burst))},
	})
}

// fmtLimit shows a limit, "-" for none.
func fmtLimit(v float64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
