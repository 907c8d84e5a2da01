// Package storecopy copies a whole Sluice store into another, empty one — a SQLite file into
// PostgreSQL, or PostgreSQL into a SQLite file — and verifies the copy row by row. It is what
// `sluice migrate copy` runs.
//
// The copy follows the schema rather than a list of tables: it reads the tables, columns,
// primary keys and foreign keys of the migrated schema from each database's catalogue, so a
// migration that adds a table or a column needs nothing here. A column type it does not know
// how to carry between the stores is an error naming table.column, never a silent skip.
//
// # How a copy runs
//
//  1. Both stores are migrated up to this binary's newest version (as `sluice migrate up`
//     would). A store at a version this binary does not know is refused.
//  2. The source is read in one snapshot (a REPEATABLE READ, read-only transaction on
//     PostgreSQL; a WAL read transaction on SQLite), so writers may go on, but what they
//     write after the copy began is not copied: stop workers and producers first.
//  3. The whole copy runs in ONE transaction on the target. The target's tables are locked
//     and must all be empty; a table holding any row is refused by name. Tables are copied
//     in foreign-key order, each row converted by the type of its column (times, JSON, UUIDs,
//     booleans and bytes are stored differently by the two stores), in batches of
//     Options.BatchSize rows.
//  4. Before that transaction commits, every row of every table is read back from the
//     target and compared with the source's, after normalisation (JSON by value, times to
//     the microsecond). Any difference rolls the copy back and is returned as a *DiffError.
//
// An interrupted copy (killed, disconnected, a difference found) therefore leaves the target
// exactly as it was before — migrated and empty — and is simply run again.
package storecopy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/store"
)

// DefaultBatchSize is how many rows go to the target per round trip unless Options say.
const DefaultBatchSize = 500

// Options tune a copy. A nil *Options means the defaults.
type Options struct {
	// BatchSize is how many rows are sent to the target per round trip (1..10000).
	// Defaults to DefaultBatchSize.
	BatchSize int
	// Progress, if set, is called after each table is copied, with its row count.
	Progress func(TableCount)
}

// TableCount is how many rows one table holds in the source (and, after a verified copy,
// in the target).
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// Report is what a copy or a verification found: the schema version both stores are at and
// the rows of every table, in the order they were copied.
type Report struct {
	Version int          `json:"version"`
	Tables  []TableCount `json:"tables"`
	Rows    int64        `json:"rows"`
}

// ErrTargetNotEmpty is wrapped by the *store.FieldError (field "to") a copy returns when the
// target holds any row.
var ErrTargetNotEmpty = errors.New("the target is not empty")

// Difference is one row that differs between the source and the target.
type Difference struct {
	// Table and Key (the row's primary key, as column=value pairs) name the row.
	Table string
	Key   string
	// Column is the column that differs; empty when the row is missing on one side.
	Column string
	// Source and Target are the values as read (after normalisation); "(missing)" for a
	// row one side does not have.
	Source, Target string
}

func (d Difference) String() string {
	if d.Column == "" {
		return fmt.Sprintf("%s %s: source %s, target %s", d.Table, d.Key, d.Source, d.Target)
	}
	return fmt.Sprintf("%s %s: column %s: source %s, target %s", d.Table, d.Key, d.Column, d.Source, d.Target)
}

// maxDifferences is how many differences a DiffError lists.
const maxDifferences = 20

// DiffError says the target does not hold exactly the source's rows.
type DiffError struct {
	// Differences lists the first differences found (at most 20).
	Differences []Difference
	// Total counts every difference found.
	Total int
}

func (e *DiffError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "storecopy: the target differs from the source in %d places:", e.Total)
	for _, d := range e.Differences {
		b.WriteString("\n  ")
		b.WriteString(d.String())
	}
	if e.Total > len(e.Differences) {
		fmt.Fprintf(&b, "\n  … and %d more", e.Total-len(e.Differences))
	}
	return b.String()
}

// Copy migrates both stores to this binary's newest schema version, copies every row of from
// into to (which must hold none) in one transaction, verifies it row by row and commits.
// Errors: a *store.FieldError on "from" or "to" for a store this binary cannot copy (a newer
// schema version) and on "to" wrapping ErrTargetNotEmpty for a target that holds rows; a
// *DiffError when the verification finds a difference (nothing is committed then).
func Copy(ctx context.Context, from, to store.Store, opts *Options) (Report, error) {
	batch := DefaultBatchSize
	var progress func(TableCount)
	if opts != nil {
		if opts.BatchSize != 0 {
			batch = opts.BatchSize
		}
		progress = opts.Progress
	}
	if batch < 1 || batch > 10000 {
		return Report{}, store.Fieldf("batch-size", "must be between 1 and 10000, got %d", batch)
	}
	version, err := migrateBoth(ctx, from, to)
	if err != nil {
		return Report{}, err
	}
	src, dst, tables, err := prepare(ctx, from, to)
	if err != nil {
		return Report{}, err
	}
	rd, err := src.snapshot(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("storecopy: read the source: %w", err)
	}
	defer rd.rollback()
	wr, err := dst.begin(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("storecopy: begin on the target: %w", err)
	}
	defer wr.rollback()
	if err := wr.lock(ctx, tables); err != nil {
		return Report{}, fmt.Errorf("storecopy: lock the target's tables: %w", err)
	}
	for _, t := range tables {
		has, err := wr.hasRows(ctx, t)
		if err != nil {
			return Report{}, fmt.Errorf("storecopy: read the target's %s: %w", t.name, err)
		}
		if has {
			return Report{}, &store.FieldError{Field: "to", Err: ErrTargetNotEmpty,
				Message: fmt.Sprintf("holds rows in table %s: copy only into an empty store (a new database or schema, migrated or not)", t.name)}
		}
	}
	for _, t := range tables {
		// The target was empty when the copy began and no one else can write it now: rows a
		// table holds already were made by a trigger on a table copied before it (job_dlq's
		// insert queues its alert in alert_outbox). The source's rows replace them.
		if err := wr.clear(ctx, t); err != nil {
			return Report{}, fmt.Errorf("storecopy: clear %s: %w", t.name, err)
		}
		n, err := copyTable(ctx, t, rd, wr, batch)
		if err != nil {
			return Report{}, err
		}
		if progress != nil {
			progress(TableCount{Table: t.name, Rows: n})
		}
	}
	report, err := compare(ctx, tables, rd, wr)
	report.Version = version
	if err != nil {
		return report, err
	}
	if err := wr.commit(ctx); err != nil {
		return report, fmt.Errorf("storecopy: commit on the target: %w", err)
	}
	return report, nil
}

// Verify compares every row of every table of two stores at the same schema version,
// returning the row counts, or a *DiffError naming the rows that differ.
func Verify(ctx context.Context, from, to store.Store) (Report, error) {
	fv, err := schemaVersion(ctx, "from", from)
	if err != nil {
		return Report{}, err
	}
	tv, err := schemaVersion(ctx, "to", to)
	if err != nil {
		return Report{}, err
	}
	if fv != tv {
		return Report{}, store.Fieldf("to", "is at schema version %d, the source at %d: migrate both up first", tv, fv)
	}
	src, dst, tables, err := prepare(ctx, from, to)
	if err != nil {
		return Report{}, err
	}
	rd, err := src.snapshot(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("storecopy: read the source: %w", err)
	}
	defer rd.rollback()
	rt, err := dst.snapshot(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("storecopy: read the target: %w", err)
	}
	defer rt.rollback()
	report, err := compare(ctx, tables, rd, rt)
	report.Version = fv
	return report, err
}

// migrateBoth migrates both stores up and returns the version they are then at. A store at
// a version this binary does not know is refused before either is touched.
func migrateBoth(ctx context.Context, from, to store.Store) (int, error) {
	stores := []struct {
		field, name string
		st          store.Store
	}{{"from", "source", from}, {"to", "target", to}}
	for _, s := range stores {
		if _, err := schemaVersion(ctx, s.field, s.st); err != nil {
			return 0, err
		}
	}
	var versions [2]int
	for i, s := range stores {
		if _, err := s.st.MigrateUp(ctx); err != nil {
			return 0, fmt.Errorf("storecopy: migrate the %s up: %w", s.name, err)
		}
		v, err := schemaVersion(ctx, s.field, s.st)
		if err != nil {
			return 0, err
		}
		versions[i] = v
	}
	if versions[0] != versions[1] {
		return 0, fmt.Errorf("storecopy: after migrating, the source is at version %d and the target at %d", versions[0], versions[1])
	}
	return versions[0], nil
}

// schemaVersion returns the newest applied migration of st, refusing a store that has a
// version applied this binary does not know.
func schemaVersion(ctx context.Context, field string, st store.Store) (int, error) {
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		return 0, fmt.Errorf("storecopy: read the schema version: %w", err)
	}
	newest, known := 0, 0
	for _, m := range status {
		if m.Name != "" {
			known = max(known, m.Version)
		}
	}
	for _, m := range status {
		if m.AppliedAt == nil {
			continue
		}
		if m.Name == "" {
			return 0, store.Fieldf(field, "is at schema version %d, newer than this sluice knows (%d): copy with the newer sluice", m.Version, known)
		}
		newest = max(newest, m.Version)
	}
	return newest, nil
}

// copyTable streams t's rows from the source into the target in batches and returns how
// many it copied.
func copyTable(ctx context.Context, t *table, rd, wr session, batch int) (int64, error) {
	it, err := rd.scan(ctx, t)
	if err != nil {
		return 0, fmt.Errorf("storecopy: read %s: %w", t.name, err)
	}
	defer it.close()
	var n int64
	rows := make([][]any, 0, batch)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		if err := wr.insert(ctx, t, rows); err != nil {
			return fmt.Errorf("storecopy: write %s: %w", t.name, err)
		}
		n += int64(len(rows))
		rows = rows[:0]
		return nil
	}
	for {
		row, ok := it.next()
		if !ok {
			break
		}
		rows = append(rows, row)
		if len(rows) == batch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := it.err(); err != nil {
		return n, fmt.Errorf("storecopy: read %s: %w", t.name, err)
	}
	return n, flush()
}
