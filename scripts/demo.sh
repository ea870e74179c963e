#!/usr/bin/env bash
# The README's demo: set up (idempotently), then mount a local S3 server's sample
# dataset, read it cold and warm, print the numbers, unmount.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node tools/dist/tools/demo/run-demo.js "$@"
