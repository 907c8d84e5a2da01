package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/signature"
	"github.com/sluicehq/sluice/internal/validate"
)

func (c *cli) dlqCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "dlq",
		Short: "Triage the dead-letter queue: list, show, replay and purge failed jobs",
		Long: `Every job that failed for good (it used up its attempts, or failed permanently) lands in
the dead-letter queue with its full error history. Find entries with a filter, replay them
(each at most once: a new job with a fresh id and attempts 0), and purge what is dealt with.

The filter is the same on list, replay and purge:
  --app APP              the app, by id or name
  --type TYPE            the job type
  --failed-after T       failed at or after T (RFC 3339, or relative like -2h, -1d)
  --failed-before T      failed before T
  --error-contains TEXT  an error in the entry's history contains TEXT (case-sensitive)
  --group SIGNATURE      the entry is in this failure group (see 'sluice dlq groups')

Failure groups gather the entries of an app and type whose last errors are the same once what
varies is masked (numbers, ids, addresses, quoted values): 'sluice dlq groups' lists them with
their counts, and --group lists, replays or purges one of them.`,
	}, c.dlqListCommand(), c.dlqShowCommand(), c.dlqGroupsCommand(), c.dlqStatsCommand(), c.dlqReplayCommand(), c.dlqOpsCommand(), c.dlqPurgeCommand())
}

func (c *cli) dlqGroupsCommand() *cobra.Command {
	var (
		filter filterFlags
		page   pageFlags
		order  string
	)
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "List failure groups: un-replayed entries that failed the same way, most first or all in key order",
		Long: `List the failure groups of the un-replayed dead-letter entries a filter matches: per app and
job type, the entries whose last errors have the same signature once what varies between
occurrences of one failure is masked (numbers, UUIDs and hex ids, IP addresses and ports,
e-mail addresses, URLs' queries, quoted values). "timeout after 30s connecting to
10.0.0.1:5432" and "timeout after 45s connecting to 10.0.0.7:5432" are one group:
"timeout after <n>s connecting to <addr>".

Each group shows how many entries it holds, when the first and the last of them failed, its
signature and a sample: the newest entry's last error. Entries written by a Sluice older than
migration 0005 form the group "unknown" of their app and type.

--order count (the default) ranks the groups: the most entries first, then the latest
failure; --limit bounds how many are shown, and there is no next page. --order key walks every
group instead, a page of --limit at a time in key order (app id, type, signature); when there
are more, stderr says which --cursor gets the next page (in JSON, "nextCursor"). Walking every
page shows each group that has un-replayed entries matching the filter for the whole walk
exactly once, its counts as of its page. A cursor only works with --order key and the same
filter.

Pass a group's signature as --group to dlq list, dlq replay or dlq purge.`,
		Example: `  sluice dlq groups
  sluice dlq groups --app billing --failed-after -1d --json
  sluice dlq groups --order key --limit 200 --cursor eyJ2IjoyLC...
  sluice dlq replay --group 3f2a9c0d41b7e865 --dry-run`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			f, err := filter.filter(time.Now())
			if err != nil {
				return err
			}
			opts, err := page.options()
			if err != nil {
				return err
			}
			switch order {
			case "count":
				if opts.Cursor != "" {
					return flagError("cursor", "only pages --order key; the ranking by count has no next page")
				}
			case "key":
			default:
				return flagError("order", "must be count or key, got %q", order)
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				var groups sluice.Page[sluice.FailureGroup]
				if order == "key" {
					groups, err = cl.DLQ().ListGroups(ctx, f, opts)
				} else {
					groups.Items, err = cl.DLQ().Groups(ctx, f, sluice.GroupOptions{Limit: opts.Limit})
				}
				if err != nil {
					return err
				}
				var names appNames
				if !c.json && len(groups.Items) > 0 {
					if names, err = loadAppNames(ctx, cl); err != nil {
						return err
					}
				}
				resume := append(filter.resolved(f), "--order", "key")
				err = printPage(c, groups, "failure groups", resume, func(w io.Writer, items []sluice.FailureGroup) {
					row(w, "ENTRIES", "APP", "TYPE", "GROUP", "FIRST FAILED", "LAST FAILED", "SAMPLE ERROR")
					for _, g := range items {
						row(w, strconv.FormatInt(g.Count, 10), cell(names.name(g.AppID), 32), g.Type, g.Signature,
							fmtTime(g.FirstFailedAt), fmtTime(g.LastFailedAt), cell(g.SampleError, 60))
					}
				})
				if err == nil && !c.json && len(groups.Items) > 0 {
					c.notice("List a group's entries with: sluice dlq list --group SIGNATURE")
				}
				return err
			})
		}),
	}
	filter.add(cmd)
	cmd.Flags().StringVar(&order, "order", "count", "count: the largest groups first; key: every group, page by page (with --cursor)")
	cmd.Flags().IntVar(&page.limit, "limit", sluice.DefaultPageSize, fmt.Sprintf("show at most this many groups (a page with --order key), 1..%d", sluice.MaxPageSize))
	cmd.Flags().StringVar(&page.cursor, "cursor", "", "with --order key: resume after the previous page (its nextCursor)")
	return cmd
}

// statsRow is one line of dlq stats: an app and type's un-replayed entries.
type statsRow struct {
	AppID   uuid.UUID `json:"appId"`
	AppName string    `json:"appName"`
	Type    string    `json:"type"`
	// Entries counts the un-replayed entries, in Groups failure groups.
	Entries int64 `json:"entries"`
	Groups  int64 `json:"groups"`
	// OldestFailedAt is when the oldest of them failed, and OldestAgeSeconds how long ago
	// that was when the command ran.
	OldestFailedAt   *time.Time `json:"oldestFailedAt"`
	OldestAgeSeconds float64    `json:"oldestAgeSeconds"`
}

func (c *cli) dlqStatsCommand() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count un-replayed entries per app and type, with the age of the oldest",
		Long: `Print, per app and job type that has any, how many dead-letter entries are not replayed yet,
in how many failure groups (see 'sluice dlq groups'), when the oldest of them failed and how
long ago that was. --app limits it to one app.`,
		Example: `  sluice dlq stats
  sluice dlq stats --app billing --json`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				var only *sluice.App
				if app != "" {
					a, err := cl.GetApp(ctx, app)
					if errors.Is(err, sluice.ErrNotFound) {
						return &sluice.FieldError{Field: "app", Message: "no app has the id or name " + validate.Quote(app), Err: err}
					}
					if err != nil {
						return err
					}
					only = &a
				}
				stats, err := cl.Stats(ctx)
				if err != nil {
					return err
				}
				names, err := loadAppNames(ctx, cl)
				if err != nil {
					return err
				}
				now := time.Now()
				rows := []statsRow{}
				for _, st := range stats {
					if st.Dead == 0 || only != nil && st.AppID != only.ID {
						continue
					}
					r := statsRow{AppID: st.AppID, AppName: names.name(st.AppID), Type: st.Type, Entries: st.Dead,
						Groups: st.DeadGroups, OldestFailedAt: st.OldestDeadAt}
					if st.OldestDeadAt != nil {
						r.OldestAgeSeconds = max(0, now.Sub(*st.OldestDeadAt).Seconds())
					}
					rows = append(rows, r)
				}
				return printPage(c, sluice.Page[statsRow]{Items: rows}, "dead-letter entries", nil, func(w io.Writer, items []statsRow) {
					row(w, "APP", "TYPE", "ENTRIES", "GROUPS", "OLDEST FAILED", "AGE")
					for _, r := range items {
						row(w, cell(r.AppName, 32), r.Type, strconv.FormatInt(r.Entries, 10), strconv.FormatInt(r.Groups, 10),
							fmtTimePtr(r.OldestFailedAt), fmtAge(time.Duration(r.OldestAgeSeconds*float64(time.Second))))
					}
				})
			})
		}),
	}
	cmd.Flags().StringVar(&app, "app", "", "only this app (id or name)")
	return cmd
}

// fmtAge writes an age for human output, to the second: 45s, 12m3s, 3h12m, 2d4h.
func fmtAge(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Hour:
		return d.String()
	case d < 24*time.Hour:
		return strings.TrimSuffix(d.Truncate(time.Minute).String(), "0s")
	}
	days := int(d / (24 * time.Hour))
	return fmt.Sprintf("%dd%dh", days, int((d%(24*time.Hour))/time.Hour))
}

func (c *cli) dlqListCommand() *cobra.Command {
	var (
		filter filterFlags
		page   pageFlags
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead-letter entries, newest failure first, one page at a time",
		Long: `List dead-letter entries, newest failure first: un-replayed ones only, unless --all. A
page holds --limit entries; when there are more, stderr says which --cursor gets the next page
(in JSON, "nextCursor"). A cursor only works with the same filter and --all; a relative time
is resolved when the command runs, so the next page needs the resolved time, which the hint
on stderr repeats.`,
		Example: `  sluice dlq list --app billing --failed-after -2h
  sluice dlq list --type email.send --error-contains timeout --json
  sluice dlq list --all --limit 200 --cursor eyJ2IjoxLC...`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			f, err := filter.filter(time.Now())
			if err != nil {
				return err
			}
			opts, err := page.options()
			if err != nil {
				return err
			}
			opts.All = all
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				entries, err := cl.DLQ().List(ctx, f, opts)
				if err != nil {
					return err
				}
				for i := range entries.Items {
					entries.Items[i] = redactDead(cl, entries.Items[i])
				}
				var names appNames
				if !c.json && len(entries.Items) > 0 {
					if names, err = loadAppNames(ctx, cl); err != nil {
						return err
					}
				}
				return printPage(c, entries, "dead-letter entries", filter.resolved(f), func(w io.Writer, items []sluice.DeadJob) {
					header := []string{"ID", "APP", "TYPE", "ATTEMPTS", "FAILED AT"}
					if all {
						header = append(header, "REPLAYED AT")
					}
					row(w, append(header, "LAST ERROR")...)
					for _, e := range items {
						cells := []string{e.ID.String(), cell(names.name(e.AppID), 32), e.Type, strconv.Itoa(e.Attempts), fmtTime(e.FailedAt)}
						if all {
							cells = append(cells, fmtTimePtr(e.ReplayedAt))
						}
						row(w, append(cells, cell(e.LastError(), 60))...)
					}
				})
			})
		}),
	}
	filter.add(cmd)
	page.add(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "include entries that have been replayed")
	return cmd
}

func (c *cli) dlqShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one dead-letter entry, with its payload and full error history",
		Example: "  sluice dlq show 01938c5e-7a8b-7cde-8f01-23456789abcd",
		Args:    exactArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0])
			if err != nil {
				return err
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := cmd.Context()
				e, err := cl.DLQ().Get(ctx, id)
				if err != nil {
					return notFound(err, "no dead-letter entry has the id %s", id)
				}
				e = redactDead(cl, e)
				if c.json {
					return c.printJSON(e)
				}
				app, err := cl.GetApp(ctx, e.AppID.String())
				if err != nil {
					return err
				}
				return c.printDetails(deadJobFields(e, app.Name))
			})
		}),
	}
}

// deadJobFields is an entry's detail view; appName is shown beside its app id.
func deadJobFields(e sluice.DeadJob, appName string) []field {
	replayed := "no"
	if e.ReplayedAt != nil {
		replayed = fmtTime(*e.ReplayedAt)
		if e.ReplayJobID != nil {
			replayed += " as job " + e.ReplayJobID.String()
		}
	}
	orDefault := func(s string) string {
		if s == "" {
			return "(the type's default)"
		}
		return s
	}
	maxAttempts := "(the type's default)"
	if e.MaxAttempts > 0 {
		maxAttempts = strconv.Itoa(e.MaxAttempts)
	}
	fields := []field{
		{"id", e.ID.String()},
		{"original job", e.OriginalJobID.String()},
		{"app", e.AppID.String() + " (" + cell(appName, 128) + ")"},
		{"type", e.Type},
		{"queue", orDefault(e.Queue)},
		{"priority", strconv.Itoa(e.Priority)},
		{"attempts", strconv.Itoa(e.Attempts)},
		{"max attempts", maxAttempts},
		{"failed at", fmtTime(e.FailedAt)},
		{"replayed", replayed},
		{"failure group", cmp.Or(e.ErrorSignature, signature.Unknown)},
	}
	if e.UniqueKey != "" {
		fields = append(fields, field{"unique key", printable(e.UniqueKey)})
	}
	if e.ReplayOf != nil {
		fields = append(fields, field{"replay of", e.ReplayOf.String() + " (its job was a replay that failed again: bulk replays skip it unless --include-loops)"})
	}
	fields = append(fields, metaFields(e.Tags, e.Trace)...)
	return append(fields,
		field{"payload", prettyJSON(e.Payload)},
		field{"error history", errorHistory(e.ErrorHistory)})
}

// replayOutput is the JSON of a bulk replay: {"matched", "replayed", "conflicts", "dryRun"}.
type replayOutput struct {
	sluice.ReplayResult
	// DryRun says nothing was replayed: Matched counts what would have been.
	DryRun bool `json:"dryRun"`
}

// purgeOutput is the JSON of a purge: {"matched", "purged", "dryRun"}.
type purgeOutput struct {
	sluice.PurgeResult
	// DryRun says nothing was purged: Matched counts what would have been.
	DryRun bool `json:"dryRun"`
}

func (c *cli) dlqReplayCommand() *cobra.Command {
	var (
		filter       filterFlags
		rate         float64
		attempts     int
		patch        string
		includeLoops bool
		dryRun       bool
		detach       bool
	)
	cmd := &cobra.Command{
		Use:   "replay ID | FILTER",
		Short: "Replay one dead-letter entry, or every un-replayed entry a filter matches",
		Long: `Replay puts dead-letter entries back to work: each becomes one new job (fresh id,
attempts 0, same app, type, payload and queue), atomically and at most once. Replaying an
entry that was already replayed is an error (exit 1).

With ID, replay that entry and print the new job. With a FILTER (at least one of
` + filterFlagNames + `), start a replay operation: a durable
bulk replay, recorded in the database, of every un-replayed matching entry (those that fail
later are not part of it), newest first, at most --rate per second. The command follows it
until it is done, showing its progress on stderr, then prints how many entries it matched,
replayed, left un-replayed (failed: a live job holds their unique key, or the patched payload
is too large) and skipped (replay loops). With --detach it prints the operation and leaves it
to the workers and 'sluice serve', which take up running operations by themselves.

The operation outlives this command: Ctrl-C (or a crash) leaves it to a worker or a later
'sluice dlq ops ...', and it resumes where it stopped, never replaying an entry twice. See
'sluice dlq ops' to list, show, pause, resume and cancel operations.

Options: --attempts N gives every new job N attempts (default: a fresh budget, the job's
own); --patch JSON applies a JSON merge patch (RFC 7386) to each payload, kept in the
operation's record; entries whose job was itself a replay and failed again are skipped as
replay loops unless --include-loops. --dry-run only counts.`,
		Example: `  sluice dlq replay 01938c5e-7a8b-7cde-8f01-23456789abcd
  sluice dlq replay --app billing --type email.send --failed-after -2h --dry-run
  sluice dlq replay --error-contains "connection refused" --rate 50
  sluice dlq replay --type email.send --patch '{"retry": true, "debug": null}' --attempts 3 --detach`,
		Args: maxArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			f, err := filter.filter(time.Now())
			if err != nil {
				return err
			}
			if len(args) == 1 {
				for _, name := range []string{"rate", "attempts", "patch", "include-loops", "dry-run", "detach"} {
					if cmd.Flags().Changed(name) {
						return usagef("replay takes an ID or a filter: the filter flags, --rate and --dry-run do not go with an ID")
					}
				}
				if !f.IsEmpty() {
					return usagef("replay takes an ID or a filter: the filter flags, --rate and --dry-run do not go with an ID")
				}
				id, err := parseID("ID", args[0])
				if err != nil {
					return err
				}
				return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
					return c.replayOne(withActor(cmd.Context()), cl, id)
				})
			}
			if f.IsEmpty() {
				return usagef("replay needs an ID or a filter: at least one of %s", filterFlagNames)
			}
			opts := sluice.ReplayOptions{DryRun: dryRun, Rate: rate, Attempts: attempts, IncludeLoops: includeLoops}
			if cmd.Flags().Changed("patch") {
				opts.PayloadPatch = json.RawMessage(patch)
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := withActor(cmd.Context())
				op, err := cl.DLQ().StartReplay(ctx, f, opts)
				if err != nil {
					return err
				}
				if dryRun {
					return c.printReplayResult(sluice.ReplayResult{Matched: int(op.Matched)}, true)
				}
				if detach {
					if c.json {
						return c.printJSON(op)
					}
					fmt.Fprintf(c.stdout, "Started replay operation %s; the workers and 'sluice serve' run it. Follow it with 'sluice dlq ops show %s'.\n", op.ID, op.ID)
					return nil
				}
				return c.followReplay(ctx, cl, op)
			})
		}),
	}
	filter.add(cmd)
	cmd.Flags().Float64Var(&rate, "rate", 0, "replay at most this many entries per second (default: no limit)")
	cmd.Flags().IntVar(&attempts, "attempts", 0, "give every replayed job this many attempts, 1-1000 (default: a fresh budget, the job's own)")
	cmd.Flags().StringVar(&patch, "patch", "", "a JSON merge patch (RFC 7386) applied to every replayed job's payload")
	cmd.Flags().BoolVar(&includeLoops, "include-loops", false, "replay entries whose job was itself a replay too (skipped by default)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count the entries that would be replayed, and change nothing")
	cmd.Flags().BoolVar(&detach, "detach", false, "start the operation and return; the workers and 'sluice serve' run it")
	return cmd
}

// followReplay advances the operation in this process (or follows whichever process holds it)
// until it ends or is paused, with its progress on stderr, then prints its counts.
func (c *cli) followReplay(ctx context.Context, cl *sluice.Client, op sluice.ReplayOperation) error {
	last := op
	op, err := cl.DLQ().RunReplay(ctx, op.ID, func(o sluice.ReplayOperation) {
		// Progress while it runs; the end is the result on stdout.
		if o.Status == sluice.ReplayRunning && o.Matched != last.Matched {
			c.notice("Replay operation %s: matched %d, replayed %d, failed %d, skipped %d so far.", o.ID, o.Matched, o.Replayed, o.Failed, o.Skipped)
		}
		last = o
	})
	if err != nil {
		c.notice("Stopped following replay operation %s; it goes on in the workers or 'sluice serve' (see 'sluice dlq ops show %s').", op.ID, op.ID)
		return err
	}
	if op.Failed > 0 {
		c.notice("Left un-replayed: %d (%s).", op.Failed, op.LastError)
	}
	if op.Skipped > 0 {
		c.notice("Skipped: %d replay loops (entries whose job was itself a replay; --include-loops replays them).", op.Skipped)
	}
	if c.json {
		return c.printJSON(op)
	}
	fmt.Fprintf(c.stdout, "Matched %d, replayed %d, failed %d, skipped %d (operation %s, %s).\n",
		op.Matched, op.Replayed, op.Failed, op.Skipped, op.ID, op.Status)
	return nil
}

// replayOne replays one entry and prints its new job.
func (c *cli) replayOne(ctx context.Context, cl *sluice.Client, id uuid.UUID) error {
	job, err := cl.DLQ().Replay(ctx, id)
	switch {
	case errors.Is(err, sluice.ErrAlreadyReplayed):
		e, gerr := cl.DLQ().Get(ctx, id)
		if gerr != nil || e.ReplayedAt == nil {
			return fmt.Errorf("dead-letter entry %s was already replayed; an entry is replayed at most once", id)
		}
		as := ""
		if e.ReplayJobID != nil {
			as = " as job " + e.ReplayJobID.String()
		}
		return fmt.Errorf("dead-letter entry %s was already replayed at %s%s; an entry is replayed at most once",
			id, fmtTime(*e.ReplayedAt), as)
	case err != nil:
		return notFound(err, "no dead-letter entry has the id %s", id)
	}
	if c.json {
		return c.printJSON(redactJob(cl, job))
	}
	fmt.Fprintf(c.stdout, "Replayed dead-letter entry %s as job %s (queue %s).\n", id, job.ID, job.Queue)
	return nil
}

// printReplayResult prints what a bulk replay matched and did.
func (c *cli) printReplayResult(res sluice.ReplayResult, dryRun bool) error {
	if res.Conflicts > 0 {
		c.notice("Left un-replayed: %d (a pending or running job of their app holds their unique key).", res.Conflicts)
	}
	if c.json {
		return c.printJSON(replayOutput{res, dryRun})
	}
	if dryRun {
		fmt.Fprintf(c.stdout, "Dry run: %d entries match and would be replayed. Nothing was changed.\n", res.Matched)
		return nil
	}
	fmt.Fprintf(c.stdout, "Matched %d, replayed %d, conflicts %d.\n", res.Matched, res.Replayed, res.Conflicts)
	return nil
}

func (c *cli) dlqPurgeCommand() *cobra.Command {
	var (
		filter                    filterFlags
		replayedOnly, dryRun, all bool
	)
	cmd := &cobra.Command{
		Use:   "purge ID | FILTER | --all",
		Short: "Delete dead-letter entries for good: one, those a filter matches, or all",
		Long: `Purge deletes dead-letter entries, replayed or not, for good: the entry with ID; every entry
a FILTER matches (at least one of ` + filterFlagNames + `);
or, with --all, every entry. --replayed-only keeps the entries not yet replayed (use
--all --replayed-only for every replayed entry). --dry-run only counts. Entries that fail while
a purge runs are left alone.`,
		Example: `  sluice dlq purge 01938c5e-7a8b-7cde-8f01-23456789abcd
  sluice dlq purge --app billing --failed-before -30d --replayed-only
  sluice dlq purge --all --dry-run`,
		Args: maxArgs(1),
		RunE: c.runE(func(cmd *cobra.Command, args []string) error {
			f, err := filter.filter(time.Now())
			if err != nil {
				return err
			}
			switch {
			case len(args) == 1 && (!f.IsEmpty() || all || replayedOnly):
				return usagef("purge takes an ID, a filter or --all: the filter flags, --all and --replayed-only do not go with an ID")
			case all && !f.IsEmpty():
				return usagef("--all purges every entry and takes no filter flags")
			case len(args) == 0 && f.IsEmpty() && !all:
				return usagef("purge needs an ID, a filter (at least one of %s), or --all", filterFlagNames)
			}
			var id uuid.UUID
			if len(args) == 1 {
				if id, err = parseID("ID", args[0]); err != nil {
					return err
				}
			}
			return c.withClient(cmd.Context(), func(cl *sluice.Client) error {
				ctx := withActor(cmd.Context())
				var res sluice.PurgeResult
				if len(args) == 1 {
					if res, err = purgeOne(ctx, cl, id, dryRun); err != nil {
						return notFound(err, "no dead-letter entry has the id %s", id)
					}
				} else {
					res, err = cl.DLQ().Purge(ctx, f, sluice.PurgeOptions{ReplayedOnly: replayedOnly, DryRun: dryRun, All: all})
					if err != nil && res == (sluice.PurgeResult{}) {
						return err
					}
				}
				if c.json {
					if perr := c.printJSON(purgeOutput{res, dryRun}); perr != nil {
						return perr
					}
				} else if dryRun {
					fmt.Fprintf(c.stdout, "Dry run: %d entries match and would be purged. Nothing was changed.\n", res.Matched)
				} else {
					fmt.Fprintf(c.stdout, "Matched %d, purged %d.\n", res.Matched, res.Purged)
				}
				return err
			})
		}),
	}
	filter.add(cmd)
	cmd.Flags().BoolVar(&replayedOnly, "replayed-only", false, "purge only entries that have been replayed")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count the entries that would be purged, and change nothing")
	cmd.Flags().BoolVar(&all, "all", false, "purge every entry (no filter)")
	return cmd
}

// purgeOne deletes one entry (or, in a dry run, checks that it exists).
func purgeOne(ctx context.Context, cl *sluice.Client, id uuid.UUID, dryRun bool) (sluice.PurgeResult, error) {
	if dryRun {
		_, err := cl.DLQ().Get(ctx, id)
		return sluice.PurgeResult{Matched: 1}, err
	}
	err := cl.DLQ().Delete(ctx, id)
	return sluice.PurgeResult{Matched: 1, Purged: 1}, err
}
