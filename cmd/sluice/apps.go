package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

func (c *cli) appsCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "apps",
		Short: "Create, list, limit, rename, disable, enable and delete apps (tenants)",
		Long:  "An app is a tenant: every job and every dead-letter entry belongs to exactly one.",
	}, c.appsCreateCommand(), c.appsListCommand(), c.appsLimitCommand(), c.appsRenameCommand(), c.appsDeleteCommand(),
		c.appsDisableCommand(), c.appsEnableCommand())
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
					row(w, "ID", "NAME", "CREATED AT", "MAX RUNNING", "RATE/S", "BURST", "DISABLED AT")
					for _, a := range items {
						row(w, a.ID.String(), cell(a.Name, 128), fmtTime(a.CreatedAt),
							fmtLimit(float64(a.MaxRunning)), fmtLimit(a.Rate), fmtLimit(float64(a.Burst)), fmtTimePtr(a.DisabledAt))
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
		{"disabled at", fmtTimePtr(app.DisabledAt)},
	})
}

// fmtLimit shows a limit, "-" for none.
func fmtLimit(v float64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (c *cli) appsRenameCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rename APP NAME",
		Short: "Give an app a new name",
		Long: `Give APP (an id or a name) the name NAME, validated as at creation. Its id does not
change: its jobs, dead-letter entries, tokens and retention policies stay its own, and
anything that names it by id keeps working. The old name names nothing any more (and is free
for another app). The rename is recorded in the audit log.`,
		Example: "  sluice apps rename billing invoicing",
		Args:    exactArgs(2),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				app, err := cl.RenameApp(withActor(cmd.Context()), args[0], args[1])
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

func (c *cli) appsDeleteCommand() *cobra.Command {
	var (
		purge     bool
		batchSize int
	)
	cmd := &cobra.Command{
		Use:   "delete APP [--purge [--batch-size N]]",
		Short: "Delete an app that holds nothing, or with --purge everything it holds",
		Long: `Delete APP (an id or a name). An app that still holds jobs (of any state), dead-letter
entries, tokens that are not revoked or retention policies is refused, with a list of what it
holds, and nothing changes.

With --purge, everything the app holds is deleted first, in batches of --batch-size rows
(default 1000, at most 10000), each its own short transaction; then the app. Running jobs of
the app are deleted under their workers, whose late results change nothing. Progress goes to
stderr. An interrupted purge leaves a consistent app with less in it: run the command again to
finish. Stop the app's producers first: a purge gives up if the app keeps receiving jobs. The
purge is one row of the audit log (app.purge), with its counts by table.`,
		Example: "  sluice apps delete scratch\n  sluice apps delete billing --purge\n  sluice apps delete billing --purge --batch-size 5000 --json",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("batch-size") && !purge {
				return flagError("batch-size", "is only for --purge")
			}
			if cmd.Flags().Changed("batch-size") && batchSize == 0 {
				return flagError("batch-size", "must be between 1 and %d, got 0", sluice.MaxPurgeBatchSize)
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				opts := &sluice.DeleteAppOptions{Purge: purge, BatchSize: batchSize}
				if purge {
					opts.Progress = func(d sluice.AppRows) {
						c.notice("Purged so far: %s.", deletedText(d))
					}
				}
				res, err := cl.DeleteApp(withActor(cmd.Context()), args[0], opts)
				var ne *sluice.AppNotEmptyError
				switch {
				case errors.As(err, &ne) && !purge:
					return fmt.Errorf("%w (to delete it with all it holds: sluice apps delete %s --purge)", err, args[0])
				case err != nil && res.Batches > 0:
					return fmt.Errorf("%w; the purge stopped after deleting %s: run it again to finish", err, deletedText(res.Deleted))
				case err != nil:
					return err
				}
				if c.json {
					return c.printJSON(res)
				}
				msg := fmt.Sprintf("Deleted app %s (%s).", cell(res.App.Name, 128), res.App.ID)
				if purge {
					msg = fmt.Sprintf("Purged and deleted app %s (%s): %s.", cell(res.App.Name, 128), res.App.ID, deletedText(res.Deleted))
				}
				_, err = fmt.Fprintln(c.stdout, msg)
				return err
			})
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&purge, "purge", false, "delete everything the app holds first: jobs, dead-letter entries, tokens, retention policies")
	f.IntVar(&batchSize, "batch-size", 0, fmt.Sprintf("rows per purge transaction, 1..%d (default %d)", sluice.MaxPurgeBatchSize, sluice.DefaultPurgeBatchSize))
	return cmd
}

func (c *cli) appsDisableCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "disable APP",
		Short: "Disable an app: its jobs are no longer claimed, and enqueueing them is refused",
		Long: `Disable APP (an id or a name). From when the command returns, no worker claims its jobs
(attempts already running finish as usual); enqueueing its jobs is refused, naming the app;
its periodic schedules' ticks pass, counted as skipped; its dead-letter entries stay readable,
and a replay still makes its job, which waits with the others. 'sluice apps enable APP' undoes
it. Disabling a disabled app changes nothing (it keeps the time it was first disabled).`,
		Example: "  sluice apps disable billing",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				app, err := cl.DisableApp(withActor(cmd.Context()), args[0])
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

func (c *cli) appsEnableCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "enable APP",
		Short:   "Enable a disabled app again: its due jobs are claimed at once",
		Long:    "Enable APP (an id or a name) again: its jobs can be enqueued, and its due jobs are claimed at once.",
		Example: "  sluice apps enable billing",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				app, err := cl.EnableApp(withActor(cmd.Context()), args[0])
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

// deletedText says what a purge deleted, like "12 jobs, 3 dead-letter entries, 0 tokens, 0
// retention policies".
func deletedText(d sluice.AppRows) string {
	return fmt.Sprintf("%d jobs, %d dead-letter entries, %d tokens, %d retention policies", d.Jobs, d.DeadJobs, d.Tokens, d.RetentionPolicies)
}
