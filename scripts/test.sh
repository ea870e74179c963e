#!/usr/bin/env bash
# The test command: sets up (idempotently), then runs every tap test:
# unit and core tests, then mount tests against a real local S3 server.
set -euo pipefail
cd "$(dirname "$0")/.."
# rsync: the write tests copy trees with it, as users do; python3: the random writer and the Python package tests;
# redis-server: the coordinator tests start their own on a free loopback port.
bash scripts/setup.sh rsync python3 redis-server
# The whole suite (no arguments: `npm test`, CI) must meet the coverage thresholds of package.json's
# `tap` section; a run of chosen files (`npm test -- test/unit/x.test.ts`) only reports its coverage.
if [ $# -eq 0 ]; then exec npx tap --no-allow-incomplete-coverage; fi
exec npx tap "$@"
