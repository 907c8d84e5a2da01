package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice"
)

// A job fails for good, lands in the dead-letter queue with its error history, and is
// replayed once the cause is fixed. It runs on a temporary SQLite file; a postgres:// URL
// works the same.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sluice-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	client, err := sluice.Open(ctx, "sqlite:"+filepath.Join(dir, "jobs.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)
	if _, err := client.Store().MigrateUp(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := client.CreateApp(ctx, "billing"); err != nil {
		log.Fatal(err)
	}

	type Charge struct {
		Invoice string `json:"invoice"`
	}
	var cardFixed atomic.Bool
	charged := make(chan string)
	sluice.Handle(client, "invoice.charge", func(ctx context.Context, job *sluice.Job, c Charge) error {
		if !cardFixed.Load() {
			return fmt.Errorf("card declined for %s", c.Invoice)
		}
		charged <- c.Invoice
		return nil
	}, &sluice.TypeOptions{MaxAttempts: 2, Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}

	_, err = client.Enqueue(ctx, sluice.NewJob{App: "billing", Type: "invoice.charge", Payload: Charge{Invoice: "INV-7"}})
	if err != nil {
		log.Fatal(err)
	}

	// Wait until both attempts have failed and the job is dead-lettered.
	var page sluice.Page[sluice.DeadJob]
	for len(page.Items) == 0 {
		time.Sleep(10 * time.Millisecond)
		if page, err = client.DLQ().List(ctx, sluice.Filter{App: "billing", Type: "invoice.charge"}, sluice.ListOptions{}); err != nil {
			log.Fatal(err)
		}
	}
	entry := page.Items[0]
	fmt.Println("dead after", entry.Attempts, "attempts:")
	for i, e := range entry.ErrorHistory {
		fmt.Printf("  attempt %d: %s\n", i+1, e.Error)
	}

	cardFixed.Store(true)
	if _, err := client.DLQ().Replay(ctx, entry.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("replayed and charged", <-charged)
	_, err = client.DLQ().Replay(ctx, entry.ID)
	fmt.Println("second replay refused:", errors.Is(err, sluice.ErrAlreadyReplayed))

	if err := client.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// dead after 2 attempts:
	//   attempt 1: card declined for INV-7
	//   attempt 2: card declined for INV-7
	// replayed and charged INV-7
	// second replay refused: true
}

// Bad input is refused with an error naming the field, and nothing is stored.
func ExampleFieldError() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sluice-example-")
	defer os.RemoveAll(dir)
	client, err := sluice.Open(ctx, filepath.Join(dir, "jobs.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)
	client.Store().MigrateUp(ctx)
	client.CreateApp(ctx, "billing")

	_, err = client.Enqueue(ctx, sluice.NewJob{App: "billing", Type: "report.build", Payload: []int{1}, MaxAttempts: 5000})
	var fe *sluice.FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field, "-", fe.Message)
	}
	_, err = client.Enqueue(ctx, sluice.NewJob{App: "payroll", Type: "report.build", Payload: []int{1}})
	fmt.Println(err, "/ not found:", errors.Is(err, sluice.ErrNotFound))
	// Output:
	// maxAttempts - must be between 1 and 1000, got 5000
	// app: no app has the id or name "payroll" / not found: true
}
