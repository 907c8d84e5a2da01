package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

func (c *cli) dlqOpsCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "ops",
		Short: "Replay operations: list, show, pause, resume and cancel durable bulk replays",
		Long: `A bulk replay ('sluice dlq replay FILTER') is a durable operation recorded in the database,
with its filter, options and progress: how many entries it matched, replayed, left
un-replayed (failed) and skipped (replay loops). Every worker process and 'sluice serve' takes
up running operations, one process at a time each, under a lease: an operation whose process
dies is resumed by another, and no entry is ever replayed twice.

Pause and cancel take effect between two batches; resume hands a paused operation back to the
workers.`,
	}, c.dlqOpsListCommand(), c.dlqOpsShowCommand(),
		c.dlqOpsStatusCommand("pause", "Pause a running replay operation (it stops after its current batch)",
			func(d *sluice.DLQ, ctx context.Context, id uuid.UUID) (sluice.ReplayOperation, error) {
				return d.PauseReplay(ctx, id)
			}),
		c.dlqOpsStatusCommand("resume", "Resume a paused replay operation: the workers take it up again",
			func(d *sluice.DLQ, ctx context.Context, id uuid.UUID) (sluice.ReplayOperation, error) {
				return d.ResumeReplay(ctx, id)
			}),
		c.dlqOpsStatusCommand("cancel", "Cancel a replay operation for good; what it replayed stays replayed",
			func(d *sluice.DLQ, ctx context.Context, id uuid.UUID) (sluice.ReplayOperation, error) {
				return d.CancelReplay(ctx, id)
			}),
	)
}

func (c *cli) dlqOpsListCommand() *cobra.Command {
	var (
		app    string
		limit  int
		cursor string
	)
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List replay operations, newest first",
		Example: "  sluice dlq ops list\n  sluice dlq ops list --app billing --json",
		Args:    exactArgs(0),
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				page, err := cl.DLQ().Operations(cmd.Context(), sluice.OperationFilter{App: app}, sluice.ListOptions{Limit: limit, Cursor: cursor})
				if err != nil {
					return err
				}
				var resume []string
				if app != "" {
					resume = append(resume, "--app", app)
				}
				return printPage(c, page, "replay operations", append([]string{"sluice dlq ops list"}, resume...), func(w io.Writer, ops []sluice.ReplayOperation) {
					row(w, "ID", "STATUS", "MATCHED", "REPLAYED", "FAILED", "SKIPPED", "CREATED", "BY")
					for _, o := range ops {
						row(w, o.ID.String(), string(o.Status), strconv.FormatInt(o.Matched, 10), strconv.FormatInt(o.Replayed, 10),
							strconv.FormatInt(o.Failed, 10), strconv.FormatInt(o.Skipped, 10), fmtTime(o.CreatedAt), cell(o.CreatedBy, 40))
					}
				})
			})
		}),
	}
	cmd.Flags().StringVar(&app, "app", "", "only operations whose filter names this app (id or name)")
	cmd.Flags().IntVar(&limit, "limit", sluice.DefaultPageSize, "page size, 1-1000")
	cmd.Flags().StringVar(&cursor, "cursor", "", "resume after the previous page (its nextCursor)")
	return cmd
}

func (c *cli) dlqOpsShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show a replay operation: its filter, options and progress",
		Example: "  sluice dlq ops show 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				op, err := cl.DLQ().Operation(cmd.Context(), id)
				if err != nil {
					return notFound(err, "no replay operation has the id %s", id)
				}
				return c.printOperation(op)
			})
		}),
	}
}

func (c *cli) dlqOpsStatusCommand(verb, short string, do func(*sluice.DLQ, context.Context, uuid.UUID) (sluice.ReplayOperation, error)) *cobra.Command {
	return &cobra.Command{
		Use:     verb + " ID",
		Short:   short,
		Example: "  sluice dlq ops " + verb + " 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				op, err := do(cl.DLQ(), withActor(cmd.Context()), id)
				if err != nil {
					return notFound(err, "no replay operation has the id %s", id)
				}
				return c.printOperation(op)
			})
		}),
	}
}

// printOperation prints an operation's detail view, or its JSON.
func (c *cli) printOperation(o sluice.ReplayOperation) error {
	if c.json {
		return c.printJSON(o)
	}
	var filter []string
	if o.AppID != nil {
		filter = append(filter, "app "+o.AppID.String())
	}
	if o.Type != "" {
		filter = append(filter, "type "+o.Type)
	}
	if o.FailedAfter != nil {
		filter = append(filter, "failed at or after "+fmtTime(*o.FailedAfter))
	}
	if o.FailedBefore != nil {
		filter = append(filter, "failed before "+fmtTime(*o.FailedBefore))
	}
	if o.ErrorContains != "" {
		filter = append(filter, "error contains "+strconv.Quote(o.ErrorContains))
	}
	if o.Group != "" {
		filter = append(filter, "group "+o.Group)
	}
	attempts := "a fresh budget"
	if o.Attempts > 0 {
		attempts = strconv.Itoa(o.Attempts)
	}
	rate := "no limit"
	if o.Rate > 0 {
		rate = strconv.FormatFloat(o.Rate, 'g', -1, 64) + " per second"
	}
	patch := "none"
	if len(o.PayloadPatch) > 0 {
		patch = prettyJSON(o.PayloadPatch)
	}
	fields := []field{
		{"id", o.ID.String()},
		{"status", string(o.Status)},
		{"filter", strings.Join(filter, ", ")},
		{"through entry", o.Through.String()},
		{"attempts", attempts},
		{"rate", rate},
		{"include loops", fmt.Sprint(o.IncludeLoops)},
		{"matched", strconv.FormatInt(o.Matched, 10)},
		{"replayed", strconv.FormatInt(o.Replayed, 10)},
		{"failed", strconv.FormatInt(o.Failed, 10)},
		{"skipped", strconv.FormatInt(o.Skipped, 10)},
		{"created", fmtTime(o.CreatedAt) + " by " + cell(o.CreatedBy, 128)},
		{"updated", fmtTime(o.UpdatedAt)},
	}
	if o.FinishedAt != nil {
		fields = append(fields, field{"finished", fmtTime(*o.FinishedAt)})
	}
	if o.LeaseExpiresAt != nil {
		fields = append(fields, field{"lease until", fmtTime(*o.LeaseExpiresAt)})
	}
	if o.LastError != "" {
		fields = append(fields, field{"last error", printable(o.LastError)})
	}
	return c.printDetails(append(fields, field{"payload patch", patch}))
}
