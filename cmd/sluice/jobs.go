package main

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

func (c *cli) jobsCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "jobs",
		Short: "Enqueue, list, show, cancel, retry and delete jobs",
	}, c.jobsEnqueueCommand(), c.jobsListCommand(), c.jobsShowCommand(),
		c.jobsCancelCommand(), c.jobsRetryCommand(), c.jobsDeleteCommand())
}

// enqueueOutput is the JSON of jobs enqueue.
type enqueueOutput struct {
	// Job is the enqueued job.
	Job sluice.Job `json:"job"`
	// Duplicate says a live job of the app already held the unique key: Job is that job, and
	// nothing was inserted.
	Duplicate bool `json:"duplicate"`
}

func (c *cli) jobsEnqueueCommand() *cobra.Command {
	var (
		app, jobType, payload, queue, runAt, uniqueKey string
		priority, maxAttempts                          int
		tags                                           []string
	)
	cmd := &cobra.Command{
		Use:   "enqueue",
		Short: "Enqueue one job",
		Long: `Enqueue one job. The payload is a JSON object or array of at most 1 MiB, given inline,
as @FILE, or as - for stdin. With --unique-key, while a pending or running job of the app holds
the key, that job is returned and nothing is inserted (a notice on stderr says so).`,
		Example: `  sluice jobs enqueue --app billing --type email.send --payload '{"to":"a@example.com"}' --tag customer:acme
  sluice jobs enqueue --app billing --type report.build --payload @args.json --run-at +10m
  echo '[1,2,3]' | sluice jobs enqueue --app billing --type sum --payload - --json`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			job := sluice.NewJob{App: app, Type: jobType, Queue: queue, Priority: priority,
				MaxAttempts: maxAttempts, UniqueKey: uniqueKey, Tags: splitTags(tags)}
			if cmd.Flags().Changed("max-attempts") && maxAttempts == 0 {
				// The Go API reads 0 as "the default"; on the command line it is a mistake.
				return validate.MaxAttempts("maxAttempts", maxAttempts)
			}
			if cmd.Flags().Changed("run-at") {
				t, err := parseTime("run-at", runAt, time.Now())
				if err != nil {
					return err
				}
				job.RunAt = t
			}
			raw, err := c.readPayload("payload", payload)
			if err != nil {
				return err
			}
			job.Payload = raw
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				res, err := cl.Enqueue(cmd.Context(), job)
				if err != nil {
					return err
				}
				if res.Duplicate {
					c.notice("A live job of the app already holds unique key %q: it is shown, and nothing was enqueued.", uniqueKey)
				}
				res.Job = redactJob(cl, res.Job)
				if c.json {
					return c.printJSON(enqueueOutput{Job: res.Job, Duplicate: res.Duplicate})
				}
				return c.printJobWithApp(cmd.Context(), cl, res.Job)
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&app, "app", "", "the job's app, by id or name (required)")
	f.StringVar(&jobType, "type", "", "the job type, which picks its handler (required)")
	f.StringVar(&payload, "payload", "", "the job's JSON payload, @FILE, or - for stdin (required)")
	f.StringVar(&queue, "queue", "", "the queue (default: the type's, or \"default\")")
	f.IntVar(&priority, "priority", 0, "priority, -100..100, lower runs first")
	f.IntVar(&maxAttempts, "max-attempts", 0, "attempt budget, 1..1000 (default: the type's, or 25)")
	f.StringVar(&runAt, "run-at", "", "when the job becomes due: RFC 3339 or relative like +10m (default now)")
	f.StringVar(&uniqueKey, "unique-key", "", "de-duplicate per app while a job with this key is pending or running")
	f.StringArrayVar(&tags, "tag", nil, "a tag to find the job by (repeat, or separate with commas; at most 16)")
	for _, name := range []string{"app", "type", "payload"} {
		_ = cmd.MarkFlagRequired(name) // the flags exist: no error is possible
	}
	return cmd
}

// splitTags reads the values of --tag, each one tag or several separated by commas, as they
// are: an empty value is an empty tag, and quotes and line breaks are part of a tag, for the
// Go API to refuse or keep (a CSV reading, as pflag's string slices do, would drop an empty
// tag silently, cut a value at a line break, and take quotes for quoting).
func splitTags(values []string) []string {
	var tags []string
	for _, v := range values {
		tags = append(tags, strings.Split(v, ",")...)
	}
	return tags
}

func (c *cli) jobsListCommand() *cobra.Command {
	var (
		filter sluice.JobFilter
		status string
		page   pageFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first, one page at a time",
		Long: `List jobs newest first. Jobs that failed for good are not here but in the dead-letter
queue (sluice dlq list). A page holds --limit jobs; when there are more, stderr says which
--cursor gets the next page (in JSON, "nextCursor"). A cursor only works with the same filter.`,
		Example: `  sluice jobs list --app billing --status pending
  sluice jobs list --type email.send --limit 100 --json`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			opts, err := page.options()
			if err != nil {
				return err
			}
			filter.Status = sluice.JobStatus(status)
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				jobs, err := cl.ListJobs(ctx, filter, opts)
				if err != nil {
					return err
				}
				for i := range jobs.Items {
					jobs.Items[i] = redactJob(cl, jobs.Items[i])
				}
				var names appNames
				if !c.json && len(jobs.Items) > 0 {
					if names, err = loadAppNames(ctx, cl); err != nil {
						return err
					}
				}
				return printPage(c, jobs, "jobs", nil, func(w io.Writer, items []sluice.Job) {
					row(w, "ID", "APP", "TYPE", "QUEUE", "STATUS", "ATTEMPTS", "RUN AT", "LAST ERROR")
					for _, j := range items {
						row(w, j.ID.String(), cell(names.name(j.AppID), 32), j.Type, j.Queue, string(j.Status),
							strconv.Itoa(j.Attempts)+"/"+strconv.Itoa(j.MaxAttempts), fmtTime(j.RunAt), cell(j.LastError, 60))
					}
				})
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&filter.App, "app", "", "only jobs of this app (id or name)")
	f.StringVar(&filter.Type, "type", "", "only jobs of this type")
	f.StringVar(&status, "status", "", "only jobs in this status: pending, running, completed or cancelled")
	f.StringVar(&filter.Tag, "tag", "", "only jobs with this tag")
	page.add(cmd)
	return cmd
}

func (c *cli) jobsShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one job, with its payload and error history",
		Example: "  sluice jobs show 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				job, err := cl.GetJob(cmd.Context(), id)
				if err != nil {
					return notFound(err, "no job has the id %s (a job that failed for good is in the DLQ: sluice dlq list)", id)
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

// printJobWithApp writes a job's detail view, showing its app's name beside the id.
func (c *cli) printJobWithApp(ctx context.Context, cl *sluice.Client, j sluice.Job) error {
	app, err := cl.GetApp(ctx, j.AppID.String())
	if err != nil {
		return err
	}
	fields := []field{
		{"id", j.ID.String()},
		{"app", j.AppID.String() + " (" + cell(app.Name, 128) + ")"},
		{"type", j.Type},
		{"queue", j.Queue},
		{"priority", strconv.Itoa(j.Priority)},
		{"status", string(j.Status)},
		{"attempts", strconv.Itoa(j.Attempts) + " of " + strconv.Itoa(j.MaxAttempts)},
		{"run at", fmtTime(j.RunAt)},
		{"created at", fmtTime(j.CreatedAt)},
		{"started at", fmtTimePtr(j.StartedAt)},
		{"completed at", fmtTimePtr(j.CompletedAt)},
	}
	if j.CancelRequestedAt != nil {
		fields = append(fields, field{"cancel requested", fmtTime(*j.CancelRequestedAt)})
	}
	if j.UniqueKey != "" {
		fields = append(fields, field{"unique key", printable(j.UniqueKey)})
	}
	if j.ReplayedFrom != nil {
		fields = append(fields, field{"replayed from", j.ReplayedFrom.String()})
	}
	fields = append(fields, metaFields(j.Tags, j.Trace)...)
	fields = append(fields,
		field{"payload", prettyJSON(j.Payload)},
		field{"error history", errorHistory(j.ErrorHistory)})
	return c.printDetails(fields)
}

// redactJob returns the job with its payload as --redact says to show it.
func redactJob(cl *sluice.Client, j sluice.Job) sluice.Job {
	j.Payload = cl.RedactPayload(j.Type, j.Payload)
	return j
}

// redactDead returns the entry with its payload as --redact says to show it.
func redactDead(cl *sluice.Client, e sluice.DeadJob) sluice.DeadJob {
	e.Payload = cl.RedactPayload(e.Type, e.Payload)
	return e
}

// metaFields are the detail view's lines for tags and trace context, when there are any.
func metaFields(tags []string, trace *store.TraceContext) []field {
	var out []field
	if len(tags) > 0 {
		out = append(out, field{"tags", strings.Join(tags, ", ")})
	}
	if trace != nil {
		id := trace.TraceID()
		if id == "" {
			id = "(not a valid traceparent)"
		}
		out = append(out, field{"trace id", id}, field{"traceparent", printable(trace.TraceParent)})
		if trace.TraceState != "" {
			out = append(out, field{"tracestate", printable(trace.TraceState)})
		}
	}
	return out
}
