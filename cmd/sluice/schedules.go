package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

func (c *cli) schedulesCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "schedules",
		Short: "Periodic schedules: list them with their last and next ticks, delete stale ones",
		Long: `A periodic schedule enqueues a job of one type into one app at every tick of a cron
expression or a fixed interval. Schedules are registered in Go (client.Periodic) by the
processes that run them; every started client registers its own again each minute, and each
tick enqueues exactly one job however many processes tick it. A schedule no process has
registered for 5 minutes is stale: nothing ticks it. Delete it when it is gone for good (a
process that still has it registers it again, starting afresh from its next tick).
See docs/periodic.md.`,
	}, c.schedulesListCommand(), c.schedulesShowCommand(), c.schedulesDeleteCommand())
}

// scheduleWhen is a schedule's cron expression and time zone, or its interval.
func scheduleWhen(s sluice.ScheduleInfo) string {
	if s.Cron == "" {
		return "every " + s.Every.String()
	}
	return s.Cron + " (" + s.TimeZone + ")"
}

// scheduleState is "stale" or "active".
func scheduleState(s sluice.ScheduleInfo) string {
	if s.Stale {
		return "stale"
	}
	return "active"
}

func (c *cli) schedulesListCommand() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the periodic schedules, by app then name",
		Example: "  sluice schedules list\n  sluice schedules list --app billing --json",
		Args:    exactArgs(0),
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				list, err := cl.Schedules(cmd.Context(), app)
				if err != nil {
					return err
				}
				var names appNames
				if !c.json && len(list) > 0 {
					if names, err = loadAppNames(cmd.Context(), cl); err != nil {
						return err
					}
				}
				return printPage(c, sluice.Page[sluice.ScheduleInfo]{Items: list}, "periodic schedules", nil,
					func(w io.Writer, items []sluice.ScheduleInfo) {
						row(w, "ID", "APP", "NAME", "TYPE", "WHEN", "LAST TICK", "NEXT TICK", "STATE")
						for _, s := range items {
							row(w, s.ID.String(), cell(names.name(s.AppID), 32), cell(s.Name, 40), cell(s.Type, 40),
								cell(scheduleWhen(s), 48), fmtTimePtr(s.LastTickAt), fmtTimePtr(s.NextTickAt), scheduleState(s))
						}
					})
			})
		}),
	}
	cmd.Flags().StringVar(&app, "app", "", "only this app's schedules (id or name)")
	return cmd
}

func (c *cli) schedulesShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one periodic schedule",
		Example: "  sluice schedules show 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				s, err := cl.GetSchedule(cmd.Context(), id)
				if err != nil {
					return notFound(err, "no periodic schedule has the id %s", id)
				}
				if c.json {
					return c.printJSON(s)
				}
				names, err := loadAppNames(cmd.Context(), cl)
				if err != nil {
					return err
				}
				lastJob := "-"
				if s.LastJobID != nil {
					lastJob = s.LastJobID.String()
				}
				return c.printDetails([]field{
					{"ID", s.ID.String()},
					{"App", names.name(s.AppID)},
					{"Name", s.Name},
					{"Type", s.Type},
					{"When", scheduleWhen(s)},
					{"Catch-up", s.CatchUp},
					{"Queue", s.Queue},
					{"Priority", strconv.Itoa(s.Priority)},
					{"Max attempts", strconv.Itoa(s.MaxAttempts)},
					{"Payload", string(s.Payload)},
					{"Last tick", fmtTimePtr(s.LastTickAt)},
					{"Last job", lastJob},
					{"Last enqueued", fmtTimePtr(s.LastEnqueuedAt)},
					{"Next tick", fmtTimePtr(s.NextTickAt)},
					{"Ticks", fmt.Sprintf("%d enqueued, %d skipped", s.TicksEnqueued, s.TicksSkipped)},
					{"Last seen", fmtTime(s.SeenAt)},
					{"State", scheduleState(s)},
				})
			})
		}),
	}
}

func (c *cli) schedulesDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID",
		Short:   "Delete a periodic schedule (meant for stale ones: a process that has it registers it again)",
		Example: "  sluice schedules delete 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				if err := cl.DeleteSchedule(cmd.Context(), id); err != nil {
					return notFound(err, "no periodic schedule has the id %s", id)
				}
				if c.json {
					return c.printJSON(map[string]string{"deleted": id.String()})
				}
				fmt.Fprintf(c.stdout, "Deleted periodic schedule %s\n", id)
				return nil
			})
		}),
	}
}
