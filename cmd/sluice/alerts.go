package main

import (
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

// alertsCommand is `sluice alerts`: what the alerters (package alert) delivered, gave up on,
// or still have to deliver.
func (c *cli) alertsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "See the alerts of dead-lettered jobs and failure groups, and where their delivery stands",
		Long: `An alerter (a client with Config.Alerts, or 'sluice serve --alert-webhook') delivers an alert
for every dead-lettered job and every failure group that reaches its threshold, retrying
failed attempts. 'sluice alerts list' shows the pending ones (with their attempts, last error
and next try) and those delivered or given up on in the last 7 days.`,
	}
	cmd.AddCommand(c.alertsListCommand())
	return cmd
}

func (c *cli) alertsListCommand() *cobra.Command {
	var (
		app, status string
		pages       pageFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List alerts newest first: pending, delivered and failed",
		Example: `  sluice alerts list
  sluice alerts list --status failed --app billing
  sluice alerts list --status pending --json`,
		Args: exactArgs(0),
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			opts, err := pages.options()
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				page, err := cl.ListAlerts(cmd.Context(), sluice.AlertListOptions{App: app, Status: sluice.AlertStatus(status),
					Limit: opts.Limit, Cursor: opts.Cursor})
				if err != nil {
					return err
				}
				names, err := loadAppNames(cmd.Context(), cl)
				if err != nil {
					return err
				}
				resume := []string{"sluice alerts list"}
				if app != "" {
					resume = append(resume, "--app", app)
				}
				if status != "" {
					resume = append(resume, "--status", status)
				}
				return printPage(c, page, "alerts", resume, func(w io.Writer, items []sluice.AlertDelivery) {
					row(w, "ID", "EVENT", "APP", "TYPE", "GROUP", "STATUS", "ATTEMPTS", "QUEUED", "NEXT TRY", "FINISHED", "LAST ERROR")
					for _, a := range items {
						row(w, a.ID.String(), a.Event, cell(names.name(a.AppID), 40), cell(a.Type, 40), orAll(a.Group, "-"),
							string(a.Status), strconv.Itoa(a.Attempts), fmtTime(a.CreatedAt), fmtTimePtr(a.NextAttemptAt),
							fmtTimePtr(a.FinishedAt), cell(orAll(a.LastError, "-"), 80))
					}
				})
			})
		}),
	}
	cmd.Flags().StringVar(&app, "app", "", "only this app (id or name)")
	cmd.Flags().StringVar(&status, "status", "", "only alerts of this status: pending, delivered or failed")
	pages.add(cmd)
	return cmd
}
