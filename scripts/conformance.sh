#!/usr/bin/env bash
# npm run conformance -- --suites DIR [--only s3fs|pjdfstest] [--pjdfstest-dirs "chmod symlink ..."] [--mount-flags "..."]
#
# Runs other people's POSIX suites against an s3cachefs mount and prints issue 11's table:
#   - s3fs-fuse's integration suite (test/integration-test-main.sh), split into generic tests and
#     tests that change the bucket out of band (their body writes objects with s3_cp);
#   - pjdfstest, twice: without kernel permission checks (--allow-other --no-default-permissions)
#     and with them (--allow-other, which implies default_permissions).
# The suites are fetched into DIR at pinned commits and built there, never into this repository
# (their licences and code are theirs). Needs root (pjdfstest chowns, FUSE mounts), git, a C/C++
# compiler, prove, curl, and Debian's autoconf/automake (installed here if missing).
# The mount runs against the local S3 server (s3rver with our fixes) on 127.0.0.1, short TTLs,
# --posix-metadata head (the suites change objects out of band and expect s3fs's headers read).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

S3FS_REPO=https://github.com/s3fs-fuse/s3fs-fuse
S3FS_COMMIT=46017f2d  # "Set the SSE headers in the meta of newly created objects (#2953)"
PJD_REPO=https://github.com/pjd/pjdfstest
PJD_COMMIT=85a8aea    # "utimensat/09.t: skip Y2038 assertions on 32-bit time_t filesystems (#86)"

SUITES='' ONLY='' PJD_DIRS='' MOUNT_FLAGS=''
while [ $# -gt 0 ]; do
  case "$1" in
    --suites) SUITES=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --pjdfstest-dirs) PJD_DIRS=$2; shift 2 ;;
    --mount-flags) MOUNT_FLAGS=$2; shift 2 ;;  # added to every mount, e.g. "--negative-ttl 0" 
    *) echo "conformance: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$SUITES" ] || { echo 'usage: npm run conformance -- --suites DIR [--only s3fs|pjdfstest] [--pjdfstest-dirs "chmod ..."]' >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo 'conformance: run as root (pjdfstest changes owners; FUSE mounts)' >&2; exit 2; }
mkdir -p "$SUITES"; SUITES=$(cd "$SUITES" && pwd)
case "$SUITES/" in "$REPO"/*) echo 'conformance: --suites must be outside the repository' >&2; exit 2 ;; esac

# ---- fetch and build the suites (idempotent) ----
checkout() { # DIR URL COMMIT
  if [ ! -d "$1/.git" ]; then git clone -q "$2" "$1"; fi
  git -C "$1" checkout -q "$3" || { echo "conformance: $1 has no commit $3 (fetch it there)" >&2; exit 1; }
}
checkout "$SUITES/s3fs-fuse" "$S3FS_REPO" "$S3FS_COMMIT"
checkout "$SUITES/pjdfstest" "$PJD_REPO" "$PJD_COMMIT"
# Not scripts/setup.sh: it reinstalls npm packages when package.json is newer than its stamp.
[ -f dist/cli.js ] || { echo 'conformance: build first (npm run setup, or npx tsc -p tsconfig.json)' >&2; exit 1; }
if ! command -v autoreconf >/dev/null || ! command -v automake >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q autoconf automake >/dev/null
fi
if [ ! -x "$SUITES/pjdfstest/pjdfstest" ]; then
  (cd "$SUITES/pjdfstest" && autoreconf -ifs >/dev/null 2>&1 && ./configure -q && make -s pjdfstest) >&2
fi
# The s3fs tests run in MOUNT/testrun-N and call their helpers as ../../NAME: they live next to the mount point.
RUN="$SUITES/run"; mkdir -p "$RUN"
for src in "$SUITES"/s3fs-fuse/test/*.cc; do
  bin="$RUN/$(basename "$src" .cc)"
  [ -x "$bin" ] || g++ -O1 -std=c++17 -o "$bin" "$src"
done
ln -sfn "$SUITES/pjdfstest" "$RUN/pjdfstest"
# The suite writes objects out of band with `curl --aws-sigv4`; Debian 12's curl (7.88) signs without
# the x-amz-content-sha256 header S3 requires on SigV4 requests (s3rver refuses them too): add it.
mkdir -p "$RUN/bin"
cat >"$RUN/bin/curl" <<'WRAP'
#!/bin/bash
for a in "$@"; do [ "$a" = --aws-sigv4 ] && exec /usr/bin/curl -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"; done
exec /usr/bin/curl "$@"
WRAP
chmod +x "$RUN/bin/curl"

# ---- the local S3 server and the mount ----
SERVER_LOG="$RUN/server.log"; MNT="$RUN/mnt"; mkdir -p "$MNT"
rm -rf "$RUN/s3"
coproc SERVER { exec node --openssl-legacy-provider tools/dist/tools/local-s3/local-s3-server-main.js --port 0 --directory "$RUN/s3" --silent \
  --bucket conf1 --bucket conf2 --bucket conf3 --exit-on-stdin-close 2>"$SERVER_LOG"; }
read -r READY <&"${SERVER[0]}"
ENDPOINT=$(node -e 'console.log(JSON.parse(process.argv[1]).endpoint)' "$READY")
eval "$(node --input-type=module -e "import { LOCAL_S3_CREDENTIALS as c, LOCAL_S3_REGION as r } from '$REPO/tools/dist/tools/local-s3/local-s3-server.js'; console.log('export AWS_ACCESS_KEY_ID=' + c.accessKeyId + ' AWS_SECRET_ACCESS_KEY=' + c.secretAccessKey + ' AWS_REGION=' + r)")"
cleanup() {
  node dist/cli.js unmount "$MNT" --force >/dev/null 2>&1 || true
  grep -q " $MNT " /proc/mounts && fusermount -uz "$MNT" || true
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' INT TERM  # so that the EXIT trap unmounts on Ctrl-C and kill too

BUCKET_N=0
mount_fresh() { # extra flags...; each run gets a new bucket and cache
  node dist/cli.js unmount "$MNT" >/dev/null 2>&1 || true
  BUCKET_N=$((BUCKET_N + 1)); BUCKET="conf${BUCKET_N}"  # created by the server at start
  rm -rf "$RUN/cache"
  node dist/cli.js mount "s3://$BUCKET" "$MNT" --endpoint-url "$ENDPOINT" --cache-dir "$RUN/cache" \
    --metadata-ttl 1s --negative-ttl 0 --posix-metadata head "$@" $MOUNT_FLAGS
  DAEMON_PID=$(pgrep -n -f "cli.js mount s3://$BUCKET " || true)
}

# ---- s3fs-fuse's integration suite ----
# Run one test at a time (its own run_suite), so that a daemon that dies in one test is
# counted there and remounted (same bucket) for the next, instead of failing all the rest.
S3FS_GEN='' S3FS_OOB=''
s3fs_env() {
  env PATH="$RUN/bin:$PATH" TEST_BUCKET_MOUNT_POINT_1="$MNT" TEST_BUCKET_1="$BUCKET" S3_URL="$ENDPOINT" S3_ENDPOINT="$AWS_REGION" \
    S3PROXY_CACERT_FILE=/dev/null S3FS_PID="$DAEMON_PID" CACHE_DIR="$RUN/cache" TMPDIR="$RUN" "$@"
}
ensure_mounted() { # remounts the same bucket if the daemon died (counted against the test it died in)
  ls "$MNT" >/dev/null 2>&1 && return 0
  echo "(the mount was dead before $1: remounting)" >>"$RUN/s3fs-suite.log"
  fusermount -uz "$MNT" 2>/dev/null || true
  node dist/cli.js unmount "$MNT" --force >/dev/null 2>&1 || true
  node dist/cli.js mount "s3://$BUCKET" "$MNT" --endpoint-url "$ENDPOINT" --cache-dir "$RUN/cache" \
    --metadata-ttl 1s --negative-ttl 0 --posix-metadata head --allow-other $MOUNT_FLAGS
  DAEMON_PID=$(pgrep -n -f "cli.js mount s3://$BUCKET " || true)
}
run_s3fs() {
  mount_fresh --allow-other
  local main="$SUITES/s3fs-fuse/test/integration-test-main.sh" log="$RUN/s3fs-suite.log" driver="$SUITES/s3fs-fuse/test/.one-test.sh"
  # The suite's file without its last three calls (init_suite, add_all_tests, run_suite).
  sed -e 's/^init_suite$/:/' -e 's/^add_all_tests$/:/' -e 's/^run_suite$/:/' "$main" >"$driver"
  local tests; tests=$(cd "$SUITES/s3fs-fuse/test" && s3fs_env bash -c "source $driver; init_suite; add_all_tests; printf '%s\\n' \"\${TEST_LIST[@]}\"")
  : >"$log"
  local t gen_pass=0 gen_all=0 oob_pass=0 oob_all=0 passed
  for t in $tests; do
    ensure_mounted "$t"
    (cd "$SUITES/s3fs-fuse/test" && s3fs_env bash -c "source $driver; init_suite; add_tests $t; run_suite") >>"$log" 2>&1 || true
    if ! grep -qE "^(PASS|FAIL): $t\$" "$log"; then  # it could not even start: the daemon died in the test before
      ensure_mounted "$t"
      (cd "$SUITES/s3fs-fuse/test" && s3fs_env bash -c "source $driver; init_suite; add_tests $t; run_suite") >>"$log" 2>&1 || true
    fi
    passed=0; grep -q "^PASS: $t\$" "$log" && passed=1
    # Out of band: the test's own body writes objects behind the mount's back (s3_cp).
    if awk "/^function ${t}[ (]/,/^}/" "$main" | grep -q 's3_cp'; then
      oob_all=$((oob_all + 1)); oob_pass=$((oob_pass + passed))
    else
      gen_all=$((gen_all + 1)); gen_pass=$((gen_pass + passed))
    fi
  done
  S3FS_GEN="$gen_pass / $gen_all"; S3FS_OOB="$oob_pass / $oob_all"
  grep '^FAIL: ' "$log" | sed 's/^/  s3fs suite /' >&2 || true
}

# ---- pjdfstest ----
PJD_PLAIN='' PJD_PERMS=''
run_pjdfstest() { # label, mount flags...
  local label=$1; shift
  mount_fresh "$@"
  local dirs=() d log="$RUN/pjdfstest-$label.log"
  for d in ${PJD_DIRS:-$(ls "$SUITES/pjdfstest/tests" | grep -v -e conf -e misc.sh)}; do dirs+=("$SUITES/pjdfstest/tests/$d"); done
  mkdir -p "$MNT/pjd"
  (cd "$MNT/pjd" && prove -rv "${dirs[@]}") >"$log" 2>&1 || true
  local files ok notok
  files=$(find "${dirs[@]}" -name '*.t' | wc -l)
  ok=$(grep -cE '^ok [0-9]' "$log" || true)
  notok=$(grep -cE '^not ok [0-9]' "$log" || true)
  printf -v "$(if [ "$label" = plain ]; then echo PJD_PLAIN; else echo PJD_PERMS; fi)" '%s ok / %s not ok (%s files)' "$ok" "$notok" "$files"
}

[ "$ONLY" = pjdfstest ] || run_s3fs
if [ "$ONLY" != s3fs ]; then
  run_pjdfstest plain --allow-other --no-default-permissions
  run_pjdfstest perms --allow-other
fi

cat <<EOF

| | s3fs-fuse 1.97 (issue 11) | s3cachefs |
|---|---|---|
| s3fs suite, generic tests | 63 / 63 | ${S3FS_GEN:-not run} |
| s3fs suite, tests with out-of-band changes in the bucket | 10 / 10 | ${S3FS_OOB:-not run} |
| pjdfstest | 7,565 ok / 670 not ok | ${PJD_PLAIN:-not run} |
| pjdfstest with \`default_permissions\` | 8,124 ok / 110 not ok | ${PJD_PERMS:-not run} |

logs: $RUN/*.log
EOF
