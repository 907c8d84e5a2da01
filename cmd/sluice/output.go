package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// timeLayout is how human output shows times: RFC 3339, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// fmtTime formats t for human output.
func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// fmtTimePtr formats an optional time for human output: "-" when it is not set.
func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return fmtTime(*t)
}

// printJSON writes v as the one JSON document of the command's stdout.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// notice writes a line for the operator on stderr, where it never mixes with results.
func (c *cli) notice(format string, args ...any) {
	fmt.Fprintf(c.stderr, format+"\n", args...)
}

// printPage writes one page of a listing: with --json the page itself, else the table that
// writeTable draws (or a line saying there is nothing, naming the items as noun) and, when
// there is a next page, the hint to get it on stderr. The hint repeats the resume flags
// with the cursor: the flags whose values were resolved at this run (relative times), which
// the cursor only matches in their resolved form.
func printPage[T any](c *cli, page sluice.Page[T], noun string, resume []string, writeTable func(w io.Writer, items []T)) error {
	if page.Items == nil {
		page.Items = []T{}
	}
	if c.json {
		if err := c.printJSON(page); err != nil {
			return err
		}
	} else if len(page.Items) == 0 {
		fmt.Fprintf(c.stdout, "No %s.\n", noun)
	} else {
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		writeTable(tw, page.Items)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if page.NextCursor != "" {
		c.notice("More %s: repeat with %s", noun, strings.Join(append(resume, "--cursor", page.NextCursor), " "))
	}
	return nil
}

// row writes one tab-separated table row.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// field is one line of a detail view.
type field struct{ name, value string }

// printDetails writes a detail view: one "name: value" line per field, values aligned. A
// multi-line value continues indented under its first line.
func (c *cli) printDetails(fields []field) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 1, ' ', 0)
	for _, f := range fields {
		lines := strings.Split(f.value, "\n")
		fmt.Fprintf(tw, "%s:\t%s\n", f.name, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(tw, "\t%s\n", l)
		}
	}
	return tw.Flush()
}

// cell makes text fit a table cell: one line of at most max characters, with control
// characters (which could drive the terminal) shown escaped.
func cell(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = printable(s)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

// printable escapes the control characters of s other than newline and tab, so text from
// handlers (error messages) cannot drive the operator's terminal.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// prettyJSON indents a JSON payload for a detail view.
func prettyJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return printable(string(raw))
	}
	return b.String()
}

// errorHistory formats an error history for a detail view, oldest first, one attempt per
// block.
func errorHistory(h []sluice.ErrorRecord) string {
	if len(h) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, r := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "#%d %s  %s", i+1, fmtTime(r.Time()), strings.ReplaceAll(printable(r.Error), "\t", "    "))
	}
	return b.String()
}

// appNames maps app ids to names, for tables that show which app a row belongs to.
type appNames map[uuid.UUID]string

// loadAppNames reads every app's name.
func loadAppNames(ctx context.Context, cl *sluice.Client) (appNames, error) {
	apps, err := cl.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	names := make(appNames, len(apps))
	for _, a := range apps {
		names[a.ID] = a.Name
	}
	return names, nil
}

// name returns the app's name, or its id when it is not known.
func (a appNames) name(id uuid.UUID) string {
	if n, ok := a[id]; ok {
		return n
	}
	return id.String()
}
