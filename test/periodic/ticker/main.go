// Command ticker is a Sluice worker process for test/periodic: it registers one periodic
// schedule, works its jobs (each completes at once, so a tick's unique key is free again and
// only the schedule's last tick keeps a tick from being enqueued twice), and ticks by a fake
// clock that the test moves over stdin.
//
// Configuration is by environment: PERIODIC_DATABASE_URL (the store), PERIODIC_APP (the app),
// PERIODIC_START (the fake clock's first reading, RFC 3339).
//
// Protocol: once started and done with its first pass it prints "ready". Each stdin line
// "at TIME" (RFC 3339) moves the clock there; once this process's scheduler has dealt with
// that time it prints "ok TIME". "quit" stops it (gracefully) and it exits 0. Logs go to
// stderr.
package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/clock"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ticker:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	start, err := time.Parse(time.RFC3339, os.Getenv("PERIODIC_START"))
	if err != nil {
		return fmt.Errorf("PERIODIC_START: %w", err)
	}
	fake := clock.NewFake(start)
	clock.UseForTicks(fake)
	client, err := sluice.Open(ctx, os.Getenv("PERIODIC_DATABASE_URL"), &sluice.Config{
		PollInterval: 20 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return err
	}
	defer client.Close(ctx)
	sluice.Handle(client, "periodic.tick", func(context.Context, *sluice.Job, map[string]any) error { return nil }, nil)
	err = client.Periodic(sluice.Schedule{Name: "every-minute", App: os.Getenv("PERIODIC_APP"), Type: "periodic.tick",
		Every: time.Minute, Payload: map[string]string{"from": "ticker"}})
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return err
	}
	idle := func() error {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return fake.BlockUntilIdle(wctx, 1)
	}
	if err := idle(); err != nil {
		return fmt.Errorf("first pass: %w", err)
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "quit" {
			break
		}
		at, ok := strings.CutPrefix(line, "at ")
		if !ok {
			return fmt.Errorf("unknown command %q", line)
		}
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return err
		}
		fake.Set(t)
		if err := idle(); err != nil {
			return fmt.Errorf("pass at %s: %w", at, err)
		}
		fmt.Println("ok " + at)
	}
	return client.Stop(ctx)
}
