#!/usr/bin/env bash
# The test command: sets up (idempotently), then runs every tap test:
# unit and core tests, then mount tests against a real local S3 server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tap "$@"
