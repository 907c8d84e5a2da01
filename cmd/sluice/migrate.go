package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

func (c *cli) migrateCommand() *cobra.Command {
	return group(&cobra.Command{
		Use:   "migrate",
		Short: "Apply, undo and inspect the schema migrations",
		Long: `The schema's migrations are versioned and embedded in this binary. They run under a
lock, so two processes migrating at once are safe.`,
	}, c.migrateUpCommand(), c.migrateDownCommand(), c.migrateStatusCommand(), c.migrateCopyCommand())
}

// migrationResult is the JSON of migrate up and down: what was done and the version after.
type migrationResult struct {
	// Applied lists what migrate up applied, oldest first.
	Applied []store.Migration `json:"applied,omitempty"`
	// Undone lists what migrate down undid, newest first.
	Undone []store.Migration `json:"undone,omitempty"`
	// Version is the newest applied version afterwards; 0 when none is.
	Version int `json:"version"`
}

func (c *cli) migrateUpCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "up",
		Short:   "Apply every migration not yet applied",
		Example: "  sluice migrate up",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withStore(cmd.Context(), func(st store.Store) error {
				done, err := st.MigrateUp(cmd.Context())
				for _, m := range done {
					c.progress("applied %s", migrationName(m))
				}
				if err != nil {
					return err
				}
				return c.printMigrationResult(cmd.Context(), st, migrationResult{Applied: done})
			})
		}),
	}
}

func (c *cli) migrateDownCommand() *cobra.Command {
	var to int
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Undo the newest applied migration, or every one above --to N",
		Example: `  sluice migrate down          # undo one version
  sluice migrate down --to 1   # back to version 1
  sluice migrate down --to 0   # undo everything`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("to") && to < 0 {
				return flagError("to", "must be 0 or more, got %d", to)
			}
			return c.withStore(cmd.Context(), func(st store.Store) error {
				ctx := cmd.Context()
				if !cmd.Flags().Changed("to") {
					status, err := st.MigrationStatus(ctx)
					if err != nil {
						return err
					}
					newest, ok := newestApplied(status)
					if ok && newest.Name == "" {
						return fmt.Errorf("version %04d was applied by a newer sluice, which must undo it", newest.Version)
					}
					to = max(newest.Version-1, 0)
				}
				done, err := st.MigrateDown(ctx, to)
				for _, m := range done {
					c.progress("undid %s", migrationName(m))
				}
				if err != nil {
					return err
				}
				return c.printMigrationResult(ctx, st, migrationResult{Undone: done})
			})
		}),
	}
	cmd.Flags().IntVar(&to, "to", 0, "undo every applied migration above version N (0 undoes all)")
	return cmd
}

func (c *cli) migrateStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "status",
		Short:   "List every migration and whether it is applied",
		Example: "  sluice migrate status\n  sluice migrate status --json",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			return c.withStore(cmd.Context(), func(st store.Store) error {
				status, err := st.MigrationStatus(cmd.Context())
				if err != nil {
					return err
				}
				return printPage(c, sluice.Page[store.Migration]{Items: status}, "migrations", nil, func(w io.Writer, items []store.Migration) {
					row(w, "VERSION", "NAME", "APPLIED AT")
					for _, m := range items {
						applied := "pending"
						if m.AppliedAt != nil {
							applied = fmtTime(*m.AppliedAt)
						}
						row(w, fmt.Sprintf("%04d", m.Version), cell(m.Name, 64), applied)
					}
				})
			})
		}),
	}
}

// withStore runs fn on the configured database's store and closes it after.
func (c *cli) withStore(ctx context.Context, fn func(st store.Store) error) error {
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// progress reports a step of a longer operation on stderr (so it never mixes with --json),
// or on stdout for people when there is no --json.
func (c *cli) progress(format string, args ...any) {
	w := c.stdout
	if c.json {
		w = c.stderr
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// printMigrationResult finishes migrate up or down: the version the schema is now at.
func (c *cli) printMigrationResult(ctx context.Context, st store.Store, res migrationResult) error {
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	newest, _ := newestApplied(status)
	res.Version = newest.Version
	if c.json {
		return c.printJSON(res)
	}
	pending := countPending(status)
	if len(res.Applied)+len(res.Undone) == 0 {
		fmt.Fprint(c.stdout, "Nothing to do. ")
	}
	fmt.Fprintf(c.stdout, "Schema at version %d, %d pending.\n", res.Version, pending)
	return nil
}

// newestApplied returns the applied migration with the highest version, if any.
func newestApplied(status []store.Migration) (store.Migration, bool) {
	var newest store.Migration
	found := false
	for _, m := range status {
		if m.AppliedAt != nil && m.Version > newest.Version {
			newest, found = m, true
		}
	}
	return newest, found
}

// migrationName spells a migration as its files are named: 0002_job_dlq.
func migrationName(m store.Migration) string {
	return fmt.Sprintf("%04d_%s", m.Version, m.Name)
}
