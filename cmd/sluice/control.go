package main

import (
	"context"
	"io"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

// jobChange is one of the operator's changes to a job: cancel, retry now, delete.
type jobChange struct {
	use, short, long, example string
	// do makes the change and returns the job after it (for a deletion, as it was).
	do func(ctx context.Context, cl *sluice.Client, id uuid.UUID) (sluice.Job, error)
	// notice, when set, says something about the changed job on stderr.
	notice func(j sluice.Job) string
}

// jobChangeCommand is the command of one job change: it takes the job's ID and prints the
// job, as jobs show does.
func (c *cli) jobChangeCommand(ch jobChange) *cobra.Command {
	return &cobra.Command{
		Use:     ch.use,
		Short:   ch.short,
		Long:    ch.long,
		Example: ch.example,
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				job, err := ch.do(withActor(cmd.Context()), cl, id)
				if err != nil {
					return notFound(err, "no job has the id %s (a job that failed for good is in the DLQ: sluice dlq list)", id)
				}
				if ch.notice != nil {
					if n := ch.notice(job); n != "" {
						c.notice("%s", n)
					}
				}
				job = redactJob(cl, job)
				if c.json {
					return c.printJSON(job)
				}
				return c.printJobWithApp(cmd.Context(), cl, job)
			})
		}),
	}
}

func (c *cli) jobsCancelCommand() *cobra.Command {
	return c.jobChangeCommand(jobChange{
		use:   "cancel ID",
		short: "Cancel a job: a pending one at once, a running one by asking its worker to stop",
		long: `Cancel the job ID. A pending job (due, scheduled or waiting for a retry) ends cancelled at
once. A running job is marked (cancelRequestedAt) and its worker told: the handler's context
is cancelled, and the job ends cancelled unless the handler finishes its work anyway (then it
completes: the work was done). A cancelled job is never retried, dead-lettered or run again.
A job that has already ended is refused. The job is printed after the change.`,
		example: "  sluice jobs cancel 01938c5e-7a8b-7cde-8f01-23456789abcd",
		do: func(ctx context.Context, cl *sluice.Client, id uuid.UUID) (sluice.Job, error) {
			return cl.CancelJob(ctx, id)
		},
		notice: func(j sluice.Job) string {
			if j.Status == sluice.StatusRunning {
				return "The job is running: its worker was asked to stop it, and it ends cancelled unless the attempt succeeds."
			}
			return ""
		},
	})
}

func (c *cli) jobsRetryCommand() *cobra.Command {
	return c.jobChangeCommand(jobChange{
		use:   "retry ID",
		short: "Make a pending job due now (a retry waiting out its backoff, a scheduled or snoozed job)",
		long: `Make the pending job ID due now, keeping its attempts and error history: a retry waiting
out its backoff, a job scheduled for later, a snoozed job. A job that is not pending is
refused (a dead-lettered job is replayed from the DLQ instead: sluice dlq replay ID).`,
		example: "  sluice jobs retry 01938c5e-7a8b-7cde-8f01-23456789abcd",
		do: func(ctx context.Context, cl *sluice.Client, id uuid.UUID) (sluice.Job, error) {
			return cl.RetryJob(ctx, id)
		},
	})
}

func (c *cli) jobsDeleteCommand() *cobra.Command {
	return c.jobChangeCommand(jobChange{
		use:   "delete ID",
		short: "Delete a job that is not running, printing what it was",
		long: `Delete the job ID, pending, completed or cancelled, and print it as it was. A running job
is refused: cancel it first (sluice jobs cancel ID).`,
		example: "  sluice jobs delete 01938c5e-7a8b-7cde-8f01-23456789abcd",
		do: func(ctx context.Context, cl *sluice.Client, id uuid.UUID) (sluice.Job, error) {
			return cl.DeleteJob(ctx, id)
		},
		notice: func(j sluice.Job) string { return "Deleted job " + j.ID.String() + "; it was:" },
	})
}

// scopeFlags are the flags that name what pause and resume act on.
type scopeFlags struct {
	scope sluice.Scope
}

// add defines the scope flags on cmd.
func (s *scopeFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.scope.App, "app", "", "the app (id or name)")
	f.StringVar(&s.scope.Queue, "queue", "", "the queue")
	f.StringVar(&s.scope.Type, "type", "", "the job type")
}

func (c *cli) pauseCommand() *cobra.Command {
	var s scopeFlags
	cmd := &cobra.Command{
		Use:   "pause",
		Short: "Stop workers claiming the jobs of an app, a queue, a job type, or a combination",
		Long: `Pause a scope: an app, a queue, a job type, or a combination of them (one app's queue, say);
at least one flag is needed. From when the command returns, no worker claims a job of the
scope until 'sluice resume' with the same flags; attempts already running finish as usual
(their retries wait for the resume). Enqueueing is not affected. Pausing a paused scope prints
the existing pause. Scopes nest: a job is held while any pause covers it (see sluice pauses).`,
		Example: "  sluice pause --queue emails\n  sluice pause --app billing --type invoice.charge --json",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				p, err := cl.Pause(withActor(cmd.Context()), s.scope)
				if err != nil {
					return err
				}
				return c.printPause(cmd.Context(), cl, p)
			})
		}),
	}
	s.add(cmd)
	return cmd
}

func (c *cli) resumeCommand() *cobra.Command {
	var s scopeFlags
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "Lift the pause of exactly this scope; its due jobs are claimed again at once",
		Long: `Lift the pause of exactly the scope the flags name, as it was paused: resuming a queue does
not lift a pause of one type of it, nor a pause of one app's queue. The lifted pause is
printed. A scope that is not paused is an error; 'sluice pauses' lists the paused ones.`,
		Example: "  sluice resume --queue emails\n  sluice resume --app billing --type invoice.charge",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				p, err := cl.Resume(withActor(cmd.Context()), s.scope)
				if _, bad := asFieldError(err); bad {
					return err
				}
				if err != nil {
					return notFound(err, "this scope is not paused (a pause is lifted by exactly its own scope: see sluice pauses)")
				}
				return c.printPause(cmd.Context(), cl, p)
			})
		}),
	}
	s.add(cmd)
	return cmd
}

func (c *cli) pausesCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "pauses",
		Short:   "List the paused scopes, oldest first",
		Example: "  sluice pauses\n  sluice pauses --json",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				list, err := cl.ListPauses(cmd.Context())
				if err != nil {
					return err
				}
				var names appNames
				if !c.json && len(list) > 0 {
					if names, err = loadAppNames(cmd.Context(), cl); err != nil {
						return err
					}
				}
				return printPage(c, sluice.Page[sluice.Pause]{Items: list}, "pauses", nil, func(w io.Writer, items []sluice.Pause) {
					row(w, "ID", "APP", "QUEUE", "TYPE", "PAUSED AT", "PAUSED BY")
					for _, p := range items {
						app := scopeAll
						if p.AppID != nil {
							app = cell(names.name(*p.AppID), 32)
						}
						row(w, p.ID.String(), app, scopeCell(p.Queue), scopeCell(p.Type), fmtTime(p.PausedAt), cell(p.PausedBy, 40))
					}
				})
			})
		}),
	}
}

// scopeAll is how a table shows a scope field that matches everything.
const scopeAll = "(all)"

// scopeCell shows a scope's queue or type in a table.
func scopeCell(s string) string {
	if s == "" {
		return scopeAll
	}
	return cell(s, 40)
}

// printPause prints a pause: its JSON, or its details with the app's name.
func (c *cli) printPause(ctx context.Context, cl *sluice.Client, p sluice.Pause) error {
	if c.json {
		return c.printJSON(p)
	}
	app := "every app"
	if p.AppID != nil {
		a, err := cl.GetApp(ctx, p.AppID.String())
		if err != nil {
			return err
		}
		app = p.AppID.String() + " (" + cell(a.Name, 128) + ")"
	}
	queue, typ := p.Queue, p.Type
	if queue == "" {
		queue = "every queue"
	}
	if typ == "" {
		typ = "every type"
	}
	return c.printDetails([]field{
		{"id", p.ID.String()},
		{"app", app},
		{"queue", queue},
		{"type", typ},
		{"paused at", fmtTime(p.PausedAt)},
		{"paused by", printable(p.PausedBy)},
	})
}
