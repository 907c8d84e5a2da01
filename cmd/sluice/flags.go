package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

// pageFlags are the paging flags of a listing: --limit and --cursor.
type pageFlags struct {
	limit  int
	cursor string
}

// add defines the paging flags on cmd.
func (p *pageFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVar(&p.limit, "limit", sluice.DefaultPageSize, fmt.Sprintf("page size, 1..%d", sluice.MaxPageSize))
	cmd.Flags().StringVar(&p.cursor, "cursor", "", "resume after the previous page (its nextCursor)")
}

// options returns the listing options the flags ask for.
func (p *pageFlags) options() (sluice.ListOptions, error) {
	if p.limit == 0 {
		// The Go API reads 0 as "the default"; on the command line it is a mistake.
		return sluice.ListOptions{}, flagError("limit", "must be between 1 and %d, got 0", sluice.MaxPageSize)
	}
	return sluice.ListOptions{Limit: p.limit, Cursor: p.cursor}, nil
}

// filterFlags are the dead-letter filter's flags, spelled the same on every command that
// takes one: --app --type --failed-after --failed-before --error-contains --group.
type filterFlags struct {
	app, jobType, failedAfter, failedBefore, errorContains, group, tag string
}

// filterFlagNames lists the filter's flags, for messages that need one of them.
const filterFlagNames = "--app, --type, --failed-after, --failed-before, --error-contains, --group, --tag"

// add defines the filter flags on cmd.
func (f *filterFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.app, "app", "", "only entries of this app (id or name)")
	fl.StringVar(&f.jobType, "type", "", "only entries of this job type")
	fl.StringVar(&f.failedAfter, "failed-after", "", "only entries that failed at or after this time (RFC 3339 or like -2h)")
	fl.StringVar(&f.failedBefore, "failed-before", "", "only entries that failed before this time (RFC 3339 or like -2h)")
	fl.StringVar(&f.errorContains, "error-contains", "", "only entries with an error containing this text (case-sensitive)")
	fl.StringVar(&f.group, "group", "", "only entries of this failure group (a signature from 'sluice dlq groups')")
	fl.StringVar(&f.tag, "tag", "", "only entries whose job had this tag")
}

// filter returns the filter the flags spell; relative times count back from now.
func (f *filterFlags) filter(now time.Time) (sluice.Filter, error) {
	out := sluice.Filter{App: f.app, Type: f.jobType, ErrorContains: f.errorContains, Group: f.group, Tag: f.tag}
	var err error
	if f.failedAfter != "" {
		if out.FailedAfter, err = parseTime("failed-after", f.failedAfter, now); err != nil {
			return out, err
		}
	}
	if f.failedBefore != "" {
		if out.FailedBefore, err = parseTime("failed-before", f.failedBefore, now); err != nil {
			return out, err
		}
	}
	return out, nil
}

// resolved returns the time flags that were given relative to now, with the times f resolved
// them to, in the form that resolves to exactly the same times again.
func (f *filterFlags) resolved(filter sluice.Filter) []string {
	var out []string
	if isRelative(f.failedAfter) {
		out = append(out, "--failed-after", filter.FailedAfter.Format(time.RFC3339Nano))
	}
	if isRelative(f.failedBefore) {
		out = append(out, "--failed-before", filter.FailedBefore.Format(time.RFC3339Nano))
	}
	return out
}
