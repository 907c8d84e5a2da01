package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

func (c *cli) retentionCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "retention",
		Short: "Retention: how long completed and cancelled jobs and dead-letter entries are kept",
		Long: `Retention deletes completed and cancelled jobs and replayed and un-replayed dead-letter
entries that a policy no longer keeps, in batches of at most 1,000 rows per transaction. Every
worker process and 'sluice serve' runs it every 5 minutes; 'sluice retention run' runs a pass
now.

A policy has a kind (completed, cancelled, replayed, unreplayed), a scope (--app, --type, or
every app and type) and a max age and/or a max count: rows older than the age, and rows
beyond the newest N of the scope, are deleted. The most specific policy covering a row
applies: app and type, then app, then type, then every app and type.

Without a stored policy for every app and type, the defaults apply: completed and cancelled
jobs 7 days, replayed entries 30 days. Un-replayed entries are never deleted unless a policy
says so, and never silently: each batch is logged, counted (sluice_dlq_trimmed_total),
recorded as a trim report that the web UI shows until dismissed ('sluice retention
reports'), and, with 'serve --retention-export-dir DIR', appended to a JSON Lines file in
DIR before it is deleted.`,
	}, c.retentionSetCommand(), c.retentionListCommand(), c.retentionDeleteCommand(),
		c.retentionRunCommand(), c.retentionReportsCommand(), c.retentionDismissCommand())
}

func (c *cli) retentionSetCommand() *cobra.Command {
	var (
		kind, app, typ, maxAge string
		maxCount               int64
	)
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Create or replace the policy of a kind and scope",
		Example: `  sluice retention set --kind completed --max-age 3d
  sluice retention set --kind unreplayed --app billing --type email.send --max-age 30d --max-count 10000
  sluice retention set --kind replayed --max-count 100000`,
		Args: exactArgs(0),
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if kind == "" {
				return flagError("kind", "is required: completed, cancelled, replayed or unreplayed")
			}
			p := sluice.Policy{Kind: sluice.RetentionKind(kind), App: app, Type: typ, MaxCount: maxCount}
			if maxAge != "" {
				d, err := parseDuration("max-age", maxAge, false)
				if err != nil {
					return err
				}
				p.MaxAge = d
			}
			if maxAge == "" && maxCount == 0 {
				return flagError("max-age", "a policy needs --max-age, --max-count or both")
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				out, err := cl.SetRetention(withActor(cmd.Context()), p)
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(out)
				}
				names, err := loadAppNames(cmd.Context(), cl)
				if err != nil {
					return err
				}
				return c.printDetails(policyFields(out, names))
			})
		}),
	}
	cmd.Flags().StringVar(&kind, "kind", "", "completed, cancelled, replayed or unreplayed")
	cmd.Flags().StringVar(&app, "app", "", "only this app (id or name); default every app")
	cmd.Flags().StringVar(&typ, "type", "", "only this job type; default every type")
	cmd.Flags().StringVar(&maxAge, "max-age", "", "delete rows older than this (90m, 36h, 7d)")
	cmd.Flags().Int64Var(&maxCount, "max-count", 0, "keep only the newest N rows of the scope")
	return cmd
}

// policyFields is a policy's detail view.
func policyFields(p sluice.RetentionPolicy, names appNames) []field {
	return []field{
		{"ID", p.ID.String()},
		{"Kind", string(p.Kind)},
		{"App", policyApp(p, names)},
		{"Type", orAll(p.Type, "every type")},
		{"Max age", ageText(p.MaxAge)},
		{"Max count", countText(p.MaxCount)},
		{"Updated", fmtTime(p.UpdatedAt)},
	}
}

func policyApp(p sluice.RetentionPolicy, names appNames) string {
	if p.AppID == nil {
		return "every app"
	}
	return names.name(*p.AppID)
}

func orAll(s, all string) string {
	if s == "" {
		return all
	}
	return s
}

func ageText(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func countText(n int64) string {
	if n <= 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func (c *cli) retentionListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the stored retention policies (the defaults apply where none covers every app and type)",
		Example: "  sluice retention list\n  sluice retention list --json",
		Args:    exactArgs(0),
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				list, err := cl.ListRetention(cmd.Context())
				if err != nil {
					return err
				}
				names, err := loadAppNames(cmd.Context(), cl)
				if err != nil {
					return err
				}
				return printPage(c, sluice.Page[sluice.RetentionPolicy]{Items: list}, "retention policies", nil,
					func(w io.Writer, items []sluice.RetentionPolicy) {
						row(w, "ID", "KIND", "APP", "TYPE", "MAX AGE", "MAX COUNT")
						for _, p := range items {
							row(w, p.ID.String(), string(p.Kind), cell(policyApp(p, names), 40), cell(orAll(p.Type, "*"), 40),
								ageText(p.MaxAge), countText(p.MaxCount))
						}
					})
			})
		}),
	}
}

func (c *cli) retentionDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID",
		Short:   "Delete a retention policy (a default applies again where it did)",
		Example: "  sluice retention delete 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				if err := cl.DeleteRetention(withActor(cmd.Context()), id); err != nil {
					return notFound(err, "no retention policy has the id %s", id)
				}
				if c.json {
					return c.printJSON(map[string]string{"deleted": id.String()})
				}
				fmt.Fprintf(c.stdout, "Deleted retention policy %s\n", id)
				return nil
			})
		}),
	}
}

func (c *cli) retentionRunCommand() *cobra.Command {
	var (
		dryRun    bool
		exportDir string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a retention pass now and print what it deleted (or, with --dry-run, would delete)",
		Example: `  sluice retention run --dry-run
  sluice retention run --export-dir /var/lib/sluice/trimmed`,
		Args: exactArgs(0),
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if exportDir != "" {
				if fi, err := os.Stat(exportDir); err != nil || !fi.IsDir() {
					return flagError("export-dir", "must be a directory that exists, got %q", exportDir)
				}
			}
			cfg := &sluice.Config{Retention: sluice.RetentionConfig{ExportDir: exportDir}}
			return c.withClientConfig(cmd.Context(), cfg, func(cl *sluice.Client) error {
				res, err := cl.RunRetention(cmd.Context(), sluice.RetentionOptions{DryRun: dryRun})
				if err != nil && len(res.Trims) == 0 {
					return err
				}
				if c.json {
					if perr := c.printJSON(res); perr != nil {
						return perr
					}
					return err
				}
				names, nerr := loadAppNames(cmd.Context(), cl)
				if nerr != nil {
					return nerr
				}
				verb := "Deleted"
				if dryRun {
					verb = "Would delete"
				}
				total := 0
				for _, n := range res.Deleted {
					total += n
				}
				if len(res.Trims) > 0 {
					tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
					row(tw, "KIND", "APP", "TYPE", "COUNT", "OLDEST", "NEWEST", "POLICY")
					for _, t := range res.Trims {
						row(tw, string(t.Kind), cell(names.name(t.AppID), 40), cell(t.Type, 40), strconv.Itoa(t.Count),
							fmtTime(t.Oldest), fmtTime(t.Newest), cell(t.Policy, 80))
					}
					tw.Flush()
				}
				fmt.Fprintf(c.stdout, "%s %d rows: %d completed jobs, %d cancelled jobs, %d replayed entries, %d un-replayed entries\n",
					verb, total, res.Deleted[sluice.RetainCompleted], res.Deleted[sluice.RetainCancelled],
					res.Deleted[sluice.RetainReplayed], res.Deleted[sluice.RetainUnreplayed])
				return err
			})
		}),
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "delete nothing; print what would be deleted")
	cmd.Flags().StringVar(&exportDir, "export-dir", "", "append un-replayed entries to a JSON Lines file in this directory before deleting them")
	return cmd
}

func (c *cli) retentionReportsCommand() *cobra.Command {
	var (
		all   bool
		pages pageFlags
	)
	cmd := &cobra.Command{
		Use:     "reports",
		Short:   "List the reports of un-replayed dead-letter entries retention deleted (undismissed unless --all)",
		Example: "  sluice retention reports\n  sluice retention reports --all --json",
		Args:    exactArgs(0),
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			opts, err := pages.options()
			if err != nil {
				return err
			}
			opts.All = all
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				page, err := cl.TrimReports(cmd.Context(), opts)
				if err != nil {
					return err
				}
				names, err := loadAppNames(cmd.Context(), cl)
				if err != nil {
					return err
				}
				resume := []string{"sluice retention reports"}
				if all {
					resume = append(resume, "--all")
				}
				return printPage(c, page, "trim reports", resume, func(w io.Writer, items []sluice.TrimReport) {
					row(w, "ID", "APP", "TYPE", "COUNT", "OLDEST FAILED", "NEWEST FAILED", "DELETED", "DISMISSED", "EXPORT")
					for _, r := range items {
						row(w, r.ID.String(), cell(names.name(r.AppID), 40), cell(r.Type, 40), strconv.FormatInt(r.Count, 10),
							fmtTime(r.OldestFailedAt), fmtTime(r.NewestFailedAt), fmtTime(r.CreatedAt), fmtTimePtr(r.DismissedAt),
							cell(orAll(r.ExportFile, "-"), 80))
					}
				})
			})
		}),
	}
	cmd.Flags().BoolVar(&all, "all", false, "dismissed reports too")
	pages.add(cmd)
	return cmd
}

func (c *cli) retentionDismissCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "dismiss ID",
		Short:   "Dismiss a trim report: the web UI stops showing it",
		Example: "  sluice retention dismiss 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				r, err := cl.DismissTrimReport(cmd.Context(), id, cliActor())
				if err != nil {
					return notFound(err, "no trim report has the id %s", id)
				}
				if c.json {
					return c.printJSON(r)
				}
				fmt.Fprintf(c.stdout, "Dismissed trim report %s (%d entries of %s)\n", r.ID, r.Count, r.Type)
				return nil
			})
		}),
	}
}
