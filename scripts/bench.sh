#!/usr/bin/env bash
# `npm run bench`: the reference benchmark (see docs/BENCHMARK.md).
# Makes sure the machine has what the benchmark needs, quietly and only when
# something is missing: the baseline s3fs-fuse, the peer rclone, the FUSE runtime, and
# libfuse3-dev, gcc and pkg-config for the FUSE ceiling (libfuse3's passthrough_ll example) (apt),
# Debian's python3-torch and python3-torchvision for the PyTorch DataLoader loader, redis-server for
# the two-node workload's coordinator (apt),
# the npm packages and a fresh build (via scripts/setup.sh, which rebuilds
# when any source is newer than dist). Then runs the harness with all flags.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "bench: run as root: mounting with allow_other and dropping the page cache need it" >&2
  exit 1
fi
# s3fs is the baseline, rclone a peer; fuse3 serves s3cachefs (our build of fuse-native) and fusermount;
# libfuse3-dev ships passthrough_ll.c, which the harness builds with gcc and pkg-config.
# setup.sh installs only the packages dpkg does not have yet.
bash scripts/setup.sh s3fs rclone fuse3 libfuse3-dev gcc pkg-config python3-torch python3-torchvision redis-server
[ -f tools/dist/tools/bench/main.js ] || npx tsc -p tools/tsconfig.json
exec node tools/dist/tools/bench/main.js "$@"
