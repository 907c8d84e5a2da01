package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

// databaseURLEnv is the environment variable read when --database-url is not given.
const databaseURLEnv = "SLUICE_DATABASE_URL"

// defaultDatabaseFile is the embedded SQLite database used when no URL is given.
const defaultDatabaseFile = "sluice.db"

const rootLong = `Sluice is durable, multi-tenant background-job processing with a dead-letter queue.
This command migrates the schema, manages apps, enqueues, inspects and controls jobs
(cancel, retry, pause and resume), triages the dead-letter queue (DLQ), manages API tokens,
and serves the HTTP API and web UI.

Database:
  --database-url, else the ` + databaseURLEnv + ` environment variable, else the embedded
  SQLite file ./` + defaultDatabaseFile + `, created and migrated when it does not exist yet.
  PostgreSQL: postgres://user:password@host:5432/db?sslmode=disable (the password is never
  printed). SQLite: sqlite:PATH or a plain file path.

Output:
  Payload fields named by --redact (or $SLUICE_REDACT, comma-separated) are shown as
  "[redacted]": card.number, items[*].ssn, secrets.*, or TYPE:PATH for one job type.
  Human-readable tables and details on stdout. With --json, stdout is exactly one JSON
  document (a listing is {"items": [...], "nextCursor": "..."}); notices and the next-page
  hint go to stderr. Times are RFC 3339 UTC.

Input:
  --app takes an app's id or its name. Times (--run-at, --failed-after, --failed-before) are
  RFC 3339 (2026-01-02T15:04:05Z) or relative to now: -2h, -30m, -1d, -1d12h, +10m.
  Flags may come before or after the arguments.

Exit status:
  0  success
  1  runtime error: the database failed or is unreachable, an id was not found, a dead-letter
     entry was already replayed, a conflict (an app name taken, a unique key held, a job in a
     state the change rules out, an app disabled)
  2  usage error or rejected input: unknown command or flag, wrong arguments, a bad flag value
     (the error names the flag, e.g. "--max-attempts: must be between 1 and 1000, got 0"),
     an --app that names no app, no database configured`

// cli is one run of the command: its streams, its global flags and what it has done so far.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	databaseURL string   // --database-url
	json        bool     // --json
	redact      []string // --redact

	// ran is set when a command's own code starts; an error before that came from parsing
	// the command line and is a usage error.
	ran bool
	// secretURLs are the database URLs in use, kept to scrub their passwords from any error
	// text.
	secretURLs []string
	// newDefault is set when the command uses the embedded default database and it does not
	// exist yet: it is migrated as soon as it is opened.
	newDefault bool
}

// execute runs the command line args and returns the process's exit status.
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	return c.reportError(cmd, err)
}

// rootCommand builds the whole command tree.
func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Operate Sluice: migrations, apps, jobs, the dead-letter queue, tokens and the server",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Only the commands DESIGN.md names: no generated completion command.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.PersistentFlags().StringVar(&c.databaseURL, "database-url", "", "database URL (default $"+databaseURLEnv+")")
	root.PersistentFlags().BoolVar(&c.json, "json", false, "print exactly one JSON document on stdout")
	root.PersistentFlags().StringSliceVar(&c.redact, "redact", nil, "mask this payload field in output, like card.number or items[*].ssn (repeat, or separate with commas; default $"+redactEnv+")")
	root.AddCommand(c.migrateCommand(), c.appsCommand(), c.jobsCommand(),
		c.pauseCommand(), c.resumeCommand(), c.pausesCommand(), c.dlqCommand(), c.tokensCommand(),
		c.retentionCommand(), c.alertsCommand(), c.schedulesCommand(), c.serveCommand(), c.demoCommand())
	return root
}

// runE adapts a command's code to cobra, marking that parsing is over.
func (c *cli) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c.ran = true
		return fn(cmd, args)
	}
}

// resolveDatabaseURL decides which database the command works on: --database-url, else
// $SLUICE_DATABASE_URL, else the embedded SQLite file ./sluice.db. This is the one place that
// decision is made.
func (c *cli) resolveDatabaseURL() (string, error) {
	url := c.databaseURL
	if url == "" {
		url = c.getenv(databaseURLEnv)
	}
	if url == "" {
		url = "sqlite:" + defaultDatabaseFile
		_, err := os.Stat(defaultDatabaseFile)
		c.newDefault = errors.Is(err, fs.ErrNotExist)
	}
	c.secretURLs = append(c.secretURLs, url)
	return url, nil
}

// migrateNewDefault migrates the embedded default database when this command created it, so
// that a newcomer's first command works without `sluice migrate up`.
func (c *cli) migrateNewDefault(ctx context.Context, st store.Store) error {
	if !c.newDefault {
		return nil
	}
	c.newDefault = false
	applied, err := st.MigrateUp(ctx)
	if err != nil {
		return fmt.Errorf("migrating the new ./%s: %w", defaultDatabaseFile, err)
	}
	c.notice("Created ./%s (SQLite) and applied %d migrations.", defaultDatabaseFile, len(applied))
	return nil
}

// openStore opens the configured database's store, for commands that need no client.
func (c *cli) openStore(ctx context.Context) (store.Store, error) {
	url, err := c.resolveDatabaseURL()
	if err != nil {
		return nil, err
	}
	st, err := sluice.OpenStore(ctx, url)
	if err != nil {
		return nil, c.openError(url, err)
	}
	return st, nil
}

// openError explains a failure to open the database, naming it by its masked URL.
func (c *cli) openError(url string, err error) error {
	if _, ok := asFieldError(err); ok {
		return err
	}
	return fmt.Errorf("cannot open the database at %s: %w", maskURL(url), err)
}

// withClient runs fn with a client on the configured database and closes it after.
func (c *cli) withClient(ctx context.Context, fn func(cl *sluice.Client) error) error {
	return c.withClientConfig(ctx, nil, fn)
}

// withClientConfig is withClient with a client configured by cfg.
func (c *cli) withClientConfig(ctx context.Context, cfg *sluice.Config, fn func(cl *sluice.Client) error) error {
	url, err := c.resolveDatabaseURL()
	if err != nil {
		return err
	}
	var conf sluice.Config
	if cfg != nil {
		conf = *cfg
	}
	conf.Redact = c.redactRules()
	cl, err := sluice.Open(ctx, url, &conf)
	if err != nil {
		return c.openError(url, err)
	}
	// The client is never started, so closing it only releases its connections.
	defer cl.Close(context.WithoutCancel(ctx))
	if err := c.migrateNewDefault(ctx, cl.Store()); err != nil {
		return err
	}
	err = fn(cl)
	if unexpected(err) && ctx.Err() == nil {
		if pending := pendingMigrations(ctx, cl.Store()); pending > 0 {
			return fmt.Errorf("%w\nThe database schema has %d pending migrations: run 'sluice migrate up'", err, pending)
		}
	}
	return err
}

// redactEnv names the environment variable read when --redact is not given: rules separated
// by commas.
const redactEnv = "SLUICE_REDACT"

// redactRules are the payload redaction rules: --redact, else $SLUICE_REDACT.
func (c *cli) redactRules() []string {
	if len(c.redact) > 0 {
		return c.redact
	}
	var rules []string
	for _, r := range strings.Split(c.getenv(redactEnv), ",") {
		if r = strings.TrimSpace(r); r != "" {
			rules = append(rules, r)
		}
	}
	return rules
}

// unexpected reports whether err is a failure of the database or of Sluice rather than an
// answer about the data (bad input, not found, already replayed, a conflict).
func unexpected(err error) bool {
	if _, ok := asFieldError(err); ok {
		return false
	}
	return err != nil && !errors.Is(err, sluice.ErrNotFound) && !errors.Is(err, sluice.ErrAlreadyReplayed) &&
		!errors.Is(err, sluice.ErrConflict) && !errors.As(err, new(usageError))
}

// pendingMigrations counts the migrations not applied yet; 0 when that cannot be told.
func pendingMigrations(ctx context.Context, st store.Store) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		return 0
	}
	return countPending(status)
}

// countPending counts the migrations of a status listing that are not applied.
func countPending(status []store.Migration) int {
	n := 0
	for _, m := range status {
		if m.AppliedAt == nil {
			n++
		}
	}
	return n
}

// group makes cmd the parent of subs. Run with no subcommand it shows its help; with an
// unknown one it is a usage error (cobra would show the help and exit 0).
func group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
		}
		return cmd.Help()
	}
	cmd.AddCommand(subs...)
	return cmd
}

// exactArgs accepts exactly n arguments, else says which the usage line wants.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			_, want, _ := strings.Cut(cmd.Use, " ")
			return usagef("%s takes %s, got %d arguments", cmd.CommandPath(), want, len(args))
		}
		return nil
	}
}

// maxArgs accepts at most n arguments, else says which the usage line wants.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("%s takes at most %d argument, got %d: %q", cmd.CommandPath(), n, len(args), args)
		}
		return nil
	}
}
