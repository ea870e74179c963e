#!/usr/bin/env bash
# The test command: sets up (idempotently), then runs every tap test:
# unit and core tests, then mount tests against a real local S3 server.
set -euo pipefail
cd "$(dirname "$0")/.."
# rsync: the write tests copy trees with it, as users do; python3: the random writer and the Python package tests;
# redis-server: the coordinator tests start their own on a free loopback port.
bash scripts/setup.sh rsync python3 redis-server
# A run of chosen files (`npm test -- test/unit/x.test.ts`) only reports its coverage.
if [ $# -gt 0 ]; then exec npx tap "$@"; fi
# The whole suite (no arguments: `npm test`, CI) must meet the coverage thresholds of package.json's `tap` section.
# Its TAP stream is long and a CI log may keep only its end, so a failing run repeats every failure, with the
# lines of diagnosis after it, once the run is over.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
npx tap --no-allow-incomplete-coverage 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo
  echo "=== the failures of this run (each 'not ok' with the 40 lines after it) ==="
  grep -n -A40 'not ok' "$log" | head -n 600 || true # head may close the pipe first: tap's status is the run's
fi
exit "$rc"
