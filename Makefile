# Benchmarks live in bench/, a Go module of their own, so that the library never depends on
# its peers (River, Asynq). They need PostgreSQL on 127.0.0.1:5432 (database test) and Redis
# on 127.0.0.1:6379; see bench/README.md.

BENCH_FLAGS ?= -runs 3 -out results.md

.PHONY: bench bench-quick

# The full suite at issue 5's sizes (about 45 minutes on two cores). Pick workloads, peers
# or sizes with BENCH_FLAGS, e.g. make bench BENCH_FLAGS='-workloads drain,latency -runs 5'.
bench:
	cd bench && go run . $(BENCH_FLAGS)

# Every workload for every system on small sizes: a smoke test of the suite (a few minutes).
bench-quick:
	cd bench && go run . -quick -out results-quick.md
