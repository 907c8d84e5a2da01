package main

import (
	"fmt"
	"math"
	"strings"
)

// Section is one workload's part of the report: what it measured and how, its tables, and
// the targets it checks.
type Section struct {
	Title   string
	About   []string // paragraphs: the workload and its method
	Tables  []*Table
	Notes   []string // observations below the tables
	Extra   string   // preformatted text (query plans)
	Targets []TargetResult
	Err     error // the workload failed; what it measured before is still shown
}

// Table is a Markdown table of systems (rows) by metrics (columns).
type Table struct {
	Caption string // a line above the table
	Columns []Column
	Rows    []*Row
}

// Column is one metric's column, or the ratio of one metric between a row and its base.
type Column struct {
	Header string
	Metric string
	Format func(float64) string
	// Ratio makes the column show base/row of Metric per run (Sluice/peer measured in the
	// same run), not the metric itself.
	Ratio bool
}

// Row is one system's measurements: per metric, one value per run (NaN for a run that
// produced none).
type Row struct {
	Label  string
	Values map[string][]float64
	// Base is the row ratio columns compare against (Sluice's); nil shows none.
	Base *Row
}

// TargetResult is one of the targets checked against the measurements.
type TargetResult struct {
	Target   string
	Measured string
	Pass     bool
	Missing  bool // the figures it needs were not measured (workload or peer skipped)
}

// newRow builds a row from a system's per-run values.
func newRow(label string, values map[string][]float64, base *Row) *Row {
	return &Row{Label: label, Values: values, Base: base}
}

// summaryOf returns the row's figure for a metric.
func (r *Row) summaryOf(metric string) summary { return summarize(r.Values[metric]) }

// ratioOf returns base/row for a metric per run, summarized.
func (r *Row) ratioOf(metric string) summary {
	if r.Base == nil {
		return summarize(nil)
	}
	return summarize(ratios(r.Base.Values[metric], r.Values[metric]))
}

// markdown renders the table.
func (t *Table) markdown() string {
	var b strings.Builder
	if t.Caption != "" {
		b.WriteString(t.Caption + "\n\n")
	}
	b.WriteString("| system |")
	for _, c := range t.Columns {
		b.WriteString(" " + c.Header + " |")
	}
	b.WriteString("\n|---|")
	for range t.Columns {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + r.Label + " |")
		for _, c := range t.Columns {
			var cell string
			switch {
			case c.Ratio && (r.Base == nil || r.Base == r):
				cell = "—"
			case c.Ratio:
				cell = formatSummary(r.ratioOf(c.Metric), fmtRatio)
			default:
				cell = formatSummary(r.summaryOf(c.Metric), c.Format)
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// formatSummary shows the median, and the min–max range when runs differ.
func formatSummary(s summary, format func(float64) string) string {
	if s.N == 0 {
		return "n/a"
	}
	if s.N == 1 || s.Min == s.Max {
		return format(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", format(s.Median), format(s.Min), format(s.Max))
}

// Number formats.
func fmtInt(x float64) string { return groupThousands(int64(math.Round(x))) }
func fmtMs(x float64) string  { return fmt.Sprintf("%.2f ms", x) }
func fmtMB(x float64) string  { return fmt.Sprintf("%.0f MiB", x) }
func fmtSec(x float64) string { return fmt.Sprintf("%.2f s", x) }
func fmtRatio(x float64) string {
	switch {
	case x >= 10:
		return fmt.Sprintf("%.0f×", x)
	case x < 0.1:
		return fmt.Sprintf("%.3f×", x)
	}
	return fmt.Sprintf("%.2f×", x)
}
func fmtCPU(x float64) string { return fmt.Sprintf("%.0f ms", x) }

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// markdown renders the section.
func (s *Section) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", s.Title)
	for _, p := range s.About {
		b.WriteString(p + "\n\n")
	}
	for _, t := range s.Tables {
		b.WriteString(t.markdown() + "\n")
	}
	for _, n := range s.Notes {
		b.WriteString("- " + n + "\n")
	}
	if len(s.Notes) > 0 {
		b.WriteString("\n")
	}
	if s.Err != nil {
		fmt.Fprintf(&b, "**This workload failed:** `%v`\n\n", s.Err)
	}
	if s.Extra != "" {
		b.WriteString(s.Extra + "\n")
	}
	return b.String()
}

// targetsMarkdown renders the targets of every section as one table.
func targetsMarkdown(sections []*Section) string {
	var b strings.Builder
	b.WriteString("## Targets (issue 5)\n\n| target | measured (median of per-run ratios) | result |\n|---|---|---|\n")
	for _, s := range sections {
		for _, t := range s.Targets {
			result := "MISS"
			switch {
			case t.Missing:
				result = "not measured"
			case t.Pass:
				result = "PASS"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Target, t.Measured, result)
		}
	}
	return b.String()
}

// ratioTarget checks "Sluice/peer ≥ want" (or ≤ want when atMost) on a ratio summary.
func ratioTarget(target string, r summary, want float64, atMost bool, what string) TargetResult {
	if r.N == 0 {
		return TargetResult{Target: target, Missing: true, Measured: "n/a"}
	}
	pass := r.Median >= want
	if atMost {
		pass = r.Median <= want
	}
	return TargetResult{Target: target, Pass: pass,
		Measured: fmt.Sprintf("%s %s (runs %s–%s)", fmtRatio(r.Median), what, fmtRatio(r.Min), fmtRatio(r.Max))}
}
