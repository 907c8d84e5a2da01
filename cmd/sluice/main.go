// Command sluice is the operator's command line for Sluice: it migrates the schema, manages
// apps, enqueues and inspects jobs, and triages the dead-letter queue. Run `sluice --help`.
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
