package main

import (
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/storecopy"
)

func (c *cli) migrateCopyCommand() *cobra.Command {
	var from, to string
	var batch int
	cmd := &cobra.Command{
		Use:   "copy --from URL --to URL",
		Short: "Copy a whole store into another, empty one, and verify it row by row",
		Long: `Copies every row of the store at --from into the store at --to: a SQLite file into
PostgreSQL (sqlite:sluice.db to postgres://…), or PostgreSQL into a SQLite file. It ignores
--database-url.

Both stores are migrated up to this sluice's newest schema version first; a store at a newer
version is refused. The target must hold no rows (a new database or schema, migrated or not):
a table with rows is refused by name. The copy runs in one transaction on the target, in
batches of --batch-size rows, and before it commits every row of every table is read back and
compared with the source's; any difference rolls it back and exits 1, naming the rows.

The source is read in one consistent snapshot: stop its workers and producers first, or what
they write after the copy began is not copied. An interrupted copy leaves the target as it
was, migrated and empty: run it again.`,
		Example: `  sluice migrate copy --from sqlite:sluice.db --to postgres://sluice@db.internal/sluice
  sluice migrate copy --from postgres://localhost/sluice --to sqlite:/backup/sluice.db --json`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return flagError("from", "is required: the URL of the store to copy")
			}
			if to == "" {
				return flagError("to", "is required: the URL of the empty store to copy into")
			}
			if batch < 1 || batch > 10000 {
				return flagError("batch-size", "must be between 1 and 10000, got %d", batch)
			}
			c.secretURLs = append(c.secretURLs, from, to)
			ctx := cmd.Context()
			src, err := sluice.OpenStore(ctx, from)
			if err != nil {
				return copyOpenError("from", from, err)
			}
			defer src.Close()
			dst, err := sluice.OpenStore(ctx, to)
			if err != nil {
				return copyOpenError("to", to, err)
			}
			defer dst.Close()
			// Progress goes to stderr: stdout gets the result only once the copy is verified.
			fmt.Fprintf(c.stderr, "copying %s (%s) into %s (%s)\n", maskURL(from), src.Backend(), maskURL(to), dst.Backend())
			report, err := storecopy.Copy(ctx, src, dst, &storecopy.Options{BatchSize: batch, Progress: func(tc storecopy.TableCount) {
				fmt.Fprintf(c.stderr, "copied %-20s %d rows\n", tc.Table, tc.Rows)
			}})
			var diff *storecopy.DiffError
			if errors.As(err, &diff) {
				return fmt.Errorf("%w\nNothing was committed: the target is as it was", err)
			}
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(report)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			row(w, "TABLE", "ROWS")
			for _, tc := range report.Tables {
				row(w, tc.Table, strconv.FormatInt(tc.Rows, 10))
			}
			w.Flush()
			fmt.Fprintf(c.stdout, "Copied %d rows in %d tables and verified every row; both stores are at schema version %d.\n",
				report.Rows, len(report.Tables), report.Version)
			return nil
		}),
	}
	cmd.Flags().StringVar(&from, "from", "", "URL of the store to copy (sqlite:PATH or postgres://…)")
	cmd.Flags().StringVar(&to, "to", "", "URL of the empty store to copy into")
	cmd.Flags().IntVar(&batch, "batch-size", storecopy.DefaultBatchSize, "rows sent to the target per round trip (1..10000)")
	return cmd
}

// copyOpenError explains a store of migrate copy that cannot be opened, naming its flag.
func copyOpenError(flag, url string, err error) error {
	var fe *store.FieldError
	if errors.As(err, &fe) && fe.Field == "database-url" {
		return &store.FieldError{Field: flag, Message: fe.Message, Err: fe.Err}
	}
	return fmt.Errorf("cannot open the --%s store at %s: %w", flag, maskURL(url), err)
}
