// Package sluice is durable, multi-tenant background-job processing whose dead-letter queue
// operators can work with.
//
// Every job belongs to an app (a tenant). A job that fails for good — its attempts exhausted,
// or failed with Permanent — leaves the jobs table and enters the dead-letter queue (DLQ) with
// its full error history, in one transaction. There it can be found by app and by type, and
// replayed: one entry at a time or in bulk by filter, each at most once.
//
// # Stores
//
// PostgreSQL is the production store. Open picks the store from the URL:
//
//	client, err := sluice.Open(ctx, "postgres://localhost/app", nil)
//
// Apply the schema once per database (it is safe to run from many processes at once):
//
//	_, err = client.Store().MigrateUp(ctx)
//
// # Handlers and workers
//
// Register a typed handler per job type, then Start. A client claims only the types it has
// handlers for, from the queues in Config.Queues, each with its own concurrency:
//
//	type Email struct{ To string }
//	sluice.Handle(client, "email.send", func(ctx context.Context, job *sluice.Job, e Email) error {
//		return send(ctx, e.To)
//	}, &sluice.TypeOptions{MaxAttempts: 5})
//	err = client.Start(ctx)
//	defer client.Stop(ctx)
//
// A handler's error fails the attempt: it is recorded in the job's error history and the job
// retried after an exponential backoff with jitter, until its attempts run out. Wrap the error
// with Permanent to dead-letter at once, with Cancel to end the job cancelled; return Snooze to
// run again later without spending an attempt. A panic is a failed attempt whose error carries
// the stack. Error text is bounded and cleaned so that no error can break the failure path.
//
// # Enqueueing
//
//	res, err := client.Enqueue(ctx, sluice.NewJob{App: "billing", Type: "email.send", Payload: Email{To: "a@example.com"}})
//
// EnqueueMany inserts many jobs in one round trip; EnqueueTx inserts inside the caller's own
// pgx transaction, so jobs exist only if it commits. A UniqueKey makes enqueue idempotent per
// app while a job with that key is pending or running. Bad input is a *FieldError naming the
// field.
//
// # Guarantees
//
// A job runs at least once. A running job is held under a lease that its worker renews by
// heartbeat; if the worker dies the lease expires, the job is rescued (a failed attempt that
// says so) and runs again. Every change to a running job is fenced by its lease token, so a
// worker that lost its lease — paused, partitioned, slow — changes nothing when it comes
// back. Every decision about time uses the database clock.
//
// # Dead-letter queue
//
// client.DLQ() lists entries newest first with opaque keyset cursors (ByApp, ByType, List),
// fetches one with its history (Get), replays (Replay, ReplayMany) and deletes (Delete,
// Purge). Replay is atomic and at most once: ErrAlreadyReplayed tells the loser of a race.
// StartReplay records a bulk replay as a durable operation that the upkeep of every started
// client advances under a lease, batch by batch, resuming after a crash without replaying an
// entry twice; Operation(s), PauseReplay, ResumeReplay and CancelReplay manage it.
// Groups gathers the un-replayed entries into failure groups — per app and type, those whose
// last errors match once numbers, ids, addresses and quoted values are masked — ranked, the
// largest first; ListGroups walks every group in key order with a cursor; and Filter.Group
// lists, replays or purges one group (docs/triage.md).
//
// # Retention
//
// Completed and cancelled jobs and replayed and un-replayed entries stay until a retention
// policy removes them (SetRetention, ListRetention, DeleteRetention; defaults in
// Config.Retention: completed and cancelled jobs 7 days, replayed entries 30 days, un-replayed
// entries only by a stored policy). Every started client runs retention in bounded batches
// that several processes may run at once (RunRetention runs a pass now). An un-replayed
// entry is never deleted silently: each batch is logged, counted, recorded as a trim report in
// the deleting transaction (TrimReports, DismissTrimReport) and, with
// Config.Retention.ExportDir, appended to a JSON Lines file before the delete commits.
//
// # Alerts
//
// With Config.Alerts, a started client also calls a Go callback and/or posts a signed
// webhook when a job is dead-lettered or a failure group reaches a threshold (package
// alert). The alerts are queued in the database with the entries and leased by whichever
// process runs alerts, so they are delivered at least once and never skipped, however many
// processes run them.
//
// # Logs and metrics
//
// The client logs with log/slog (Config.Logger): start and stop, failures of its own work,
// and per job only what needs attention (a panic, a dead-letter, a lost lease), each line
// with job_id, app_id, type, queue and attempt. Config.Observer receives every enqueue,
// attempt, rescue and replay as it happens; package metrics turns them, with the queue's
// state and the database's health, into Prometheus metrics.
package sluice
