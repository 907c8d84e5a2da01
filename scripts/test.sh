#!/usr/bin/env bash
# Runs every Sluice test. It makes sure PostgreSQL is there first: starts the local cluster
# when it is down, installs it (apt) when it is missing, and fails loudly — it never skips —
# when it still cannot reach it. Set SLUICE_TEST_DATABASE_URL to use another server.
# The web UI's tests drive a headless Chromium, the PgBouncer test Debian's pgbouncer: each is
# installed (apt) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

url=${SLUICE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

reachable() { psql "$url" -Atqc 'SELECT 1' >/dev/null 2>&1; }

ensure_postgres() {
  if reachable; then return; fi
  if [ -n "${SLUICE_TEST_DATABASE_URL:-}" ]; then
    echo "test.sh: cannot reach SLUICE_TEST_DATABASE_URL" >&2; exit 1
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "test.sh: PostgreSQL is not installed; installing it" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q postgresql postgresql-client
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  # A fresh cluster asks for passwords on TCP; the tests, like the machines they run on,
  # use trust on loopback.
  local hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  echo "test.sh: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 60); do
    if su postgres -c "psql -Atqc 'SELECT 1'" >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  su postgres -c "psql -Atqc \"SELECT pg_reload_conf()\"" >/dev/null
  su postgres -c "psql -Atqc \"SELECT 1 FROM pg_database WHERE datname = 'test'\"" | grep -q 1 ||
    su postgres -c "createdb test"
  for _ in $(seq 1 60); do
    if reachable; then return; fi
    sleep 0.5
  done
  echo "test.sh: PostgreSQL is still unreachable at $url" >&2
  exit 1
}

# The web UI's browser tests need Debian's chromium at /usr/bin/chromium; they fail without it.
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  echo "test.sh: Chromium is not installed; installing it" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q chromium
}

# The PgBouncer test (store/pgstore) starts Debian's pgbouncer itself; it fails without it.
ensure_pgbouncer() {
  if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then return; fi
  echo "test.sh: PgBouncer is not installed; installing it" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q pgbouncer
}

# Every test package creates and drops its own schemas. On a server that runs without
# autovacuum (as the development machines do) the dead rows they leave in the system catalogs
# pile up run after run and slow every later run's DDL; vacuum them first. Best effort: a role
# that may not vacuum the catalogs only skips this.
vacuum_catalogs() {
  psql "$url" -Atqc 'VACUUM pg_catalog.pg_attribute, pg_catalog.pg_depend, pg_catalog.pg_class,
    pg_catalog.pg_type, pg_catalog.pg_index, pg_catalog.pg_constraint, pg_catalog.pg_attrdef,
    pg_catalog.pg_namespace, pg_catalog.pg_trigger, pg_catalog.pg_proc' >/dev/null 2>&1 || true
}

ensure_postgres
vacuum_catalogs
ensure_chromium
ensure_pgbouncer
go vet ./...

# The bad-input corpus (test/badinput) runs without the race detector, beside the rest: it is
# thousands of serial round trips, each waiting on a commit, and its megabyte payloads are what
# the detector is slowest at (4× its time for no race it could find: every code path it drives
# runs under -race in the other packages' tests). Its output follows the rest's.
corpus_log=$(mktemp)
trap 'rm -f "$corpus_log"' EXIT
go test -count=1 -timeout 30m ./test/badinput "$@" >"$corpus_log" 2>&1 &
corpus=$!
status=0
go test -race -count=1 -timeout 30m $(go list ./... | grep -v '/test/badinput$') "$@" || status=$?
wait "$corpus" || status=$?
cat "$corpus_log"
exit "$status"
