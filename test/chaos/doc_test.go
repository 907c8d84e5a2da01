// Package chaos is Sluice's fault-injection suite: worker processes built from the project
// (test/chaos/worker) are started as separate OS processes, killed, paused, stopped and
// restarted under load, their database connections terminated, their clocks skewed, their
// database restarted, crashed, exhausted and made to refuse writes; a checker
// (checker_test.go) asserts the invariants of shared/RELIABILITY.md over what their handlers
// recorded and what the tables hold.
//
// # Faults, by file
//
//	crash_test.go      kill -9 mid-load, SIGSTOP past the lease, a job that crashes its process
//	stop_test.go       SIGTERM with jobs longer than the grace; handlers that ignore their context
//	lease_test.go      a long healthy job heartbeating across many leases
//	terminate_test.go  pg_terminate_backend storms; the LISTEN connection lost
//	restart_test.go    PostgreSQL fast restart and crash of a throwaway cluster
//	api_test.go        pool exhaustion under the HTTP API
//	dlq_test.go        dead-letter and replay inserts refused by triggers
//	migrate_test.go    four concurrent `sluice migrate up` processes
//	clock_test.go      worker clocks skewed ±10 minutes; far-apart time zones
//	sqlite_test.go     kill -9 of SQLite writers mid-write, PRAGMA integrity_check
//
// Each test runs on both stores where the fault exists on both, each on a database of its own
// (a fresh PostgreSQL schema of the shared test server, a fresh SQLite file, or for restarts a
// throwaway cluster made with initdb: the shared server is never restarted or crashed).
//
// # Sizes
//
// The default counts are CI-sized: the whole package runs in a few minutes under -race on a
// two-core machine. Bigger runs on demand:
//
//	CHAOS_SQLITE_ROUNDS  kill -9 rounds of TestSQLiteKill9MidWrite (default 20)
//	CHAOS_STORM_ROUNDS   200 ms rounds of pg_terminate_backend in
//	                     TestTerminateBackendsRepeatedly (default 15: three seconds)
//	CHAOS_SCALE          multiplies the job counts of the load tests (default 1)
//
// Every wait polls a condition under a deadline; sleeps appear only as a fault's cadence.
package chaos
