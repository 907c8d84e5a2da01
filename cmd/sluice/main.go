// Command sluice is the operator's command line for Sluice: it migrates the schema, manages
// apps, enqueues and inspects jobs, triages the dead-letter queue, manages API tokens, and
// serves the HTTP API and web UI (`sluice serve`). Run `sluice --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
