#!/usr/bin/env bash
# npm run conformance -- --suites DIR [--systems s3cachefs,s3fs] [--only s3fs|pjdfstest]
#                        [--pjdfstest-modes perms,plain] [--pjdfstest-dirs "chmod symlink ..."] [--mount-flags "..."]
#
# Runs other people's POSIX suites against an s3cachefs mount and, in the same run and on the same
# local S3 server, against Debian's s3fs-fuse (`s3fs`), and prints issue 11's table side by side:
#   - s3fs-fuse's integration suite (test/integration-test-main.sh), split into generic tests and
#     tests that change the bucket out of band (their body writes objects with s3_cp);
#   - pjdfstest, twice: without kernel permission checks (--allow-other --no-default-permissions)
#     and with them (--allow-other, which implies default_permissions); s3fs-fuse with
#     -o allow_other, and -o default_permissions for the second mode.
# For each pjdfstest mode run on both systems, DIR/run/pjdfstest-worse-MODE.txt lists the files where
# s3cachefs has more `not ok` than s3fs-fuse.
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

SUITES='' ONLY='' PJD_DIRS='' MOUNT_FLAGS='' SYSTEMS='s3cachefs,s3fs' PJD_MODES='perms,plain'
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "conformance: $1 needs a value" >&2; exit 2; }
  case "$1" in
    --suites) SUITES=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --systems) SYSTEMS=$2; shift 2 ;;          # comma-separated: s3cachefs, s3fs
    --pjdfstest-modes) PJD_MODES=$2; shift 2 ;;  # comma-separated, in this order: perms, plain
    --pjdfstest-dirs) PJD_DIRS=$2; shift 2 ;;
    --mount-flags) MOUNT_FLAGS=$2; shift 2 ;;  # added to every mount, e.g. "--negative-ttl 0" 
    *) echo "conformance: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$SUITES" ] || { echo 'usage: npm run conformance -- --suites DIR [--systems s3cachefs,s3fs] [--only s3fs|pjdfstest] [--pjdfstest-modes perms,plain] [--pjdfstest-dirs "chmod ..."]' >&2; exit 2; }
SYSTEMS=${SYSTEMS//,/ } PJD_MODES=${PJD_MODES//,/ }
for s in $SYSTEMS; do case "$s" in s3cachefs|s3fs) ;; *) echo "conformance: --systems: unknown system $s (s3cachefs, s3fs)" >&2; exit 2 ;; esac; done
for m in $PJD_MODES; do case "$m" in perms|plain) ;; *) echo "conformance: --pjdfstest-modes: unknown mode $m (perms, plain)" >&2; exit 2 ;; esac; done
case "$ONLY" in ''|s3fs|pjdfstest) ;; *) echo "conformance: --only: s3fs or pjdfstest, not $ONLY" >&2; exit 2 ;; esac
case " $SYSTEMS " in *' s3fs '*) command -v s3fs >/dev/null || { echo 'conformance: s3fs-fuse is not installed (apt-get install s3fs, or --systems s3cachefs)' >&2; exit 1; } ;; esac
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
# attr: setfattr/getfattr, which the s3fs suite's extended-attribute tests call (both systems get them).
if ! command -v autoreconf >/dev/null || ! command -v automake >/dev/null || ! command -v setfattr >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q autoconf automake attr >/dev/null
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

# ---- the local S3 server and the mounts ----
STARTED="$(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' + uncommitted changes in src/')"
SERVER_LOG="$RUN/server.log"; MNT="$RUN/mnt"; mkdir -p "$MNT"
rm -rf "$RUN/s3"
# One bucket per mount of a run (at most 3 per system), created by the server at start.
coproc SERVER { exec node --openssl-legacy-provider tools/dist/tools/local-s3/local-s3-server-main.js --port 0 --directory "$RUN/s3" --silent \
  --bucket conf1 --bucket conf2 --bucket conf3 --bucket conf4 --bucket conf5 --bucket conf6 --exit-on-stdin-close 2>"$SERVER_LOG"; }
read -r READY <&"${SERVER[0]}"
ENDPOINT=$(node -e 'console.log(JSON.parse(process.argv[1]).endpoint)' "$READY")
eval "$(node --input-type=module -e "import { LOCAL_S3_CREDENTIALS as c, LOCAL_S3_REGION as r } from '$REPO/tools/dist/tools/local-s3/local-s3-server.js'; console.log('export AWS_ACCESS_KEY_ID=' + c.accessKeyId + ' AWS_SECRET_ACCESS_KEY=' + c.secretAccessKey + ' AWS_REGION=' + r)")"
S3FS_PASSWD="$RUN/s3fs-passwd"
(umask 077 && printf '%s:%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$S3FS_PASSWD")
SYSTEM='' BUCKET='' MODE='' DAEMON_PID=''

unmount_any() { # whatever serves $MNT: our own unmount, then fusermount; waits for the daemon to exit
  if grep -q " $MNT fuse" /proc/mounts; then
    node dist/cli.js unmount "$MNT" >/dev/null 2>&1 || fusermount -u "$MNT" 2>/dev/null || fusermount -uz "$MNT" 2>/dev/null || true
  fi
  local i
  for i in $(seq 100); do [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
  [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=''
}
cleanup() {
  node dist/cli.js unmount "$MNT" --force >/dev/null 2>&1 || true
  grep -q " $MNT " /proc/mounts && fusermount -uz "$MNT" || true
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null || true
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' INT TERM  # so that the EXIT trap unmounts on Ctrl-C and kill too

# mount_system: mounts $BUCKET for $SYSTEM in $MODE (suite: as each suite expects; plain: no kernel
# permission checks; perms: the kernel's default_permissions).
mount_system() {
  if [ "$SYSTEM" = s3fs ]; then
    # The options of s3fs-fuse's own test suite (integration-test-common.sh start_s3fs, the default
    # sigv4 flag), in 1.90's spelling (endpoint=, not region=; 1.90 has no enable_unsigned_payload).
    local opts="use_path_request_style,url=$ENDPOINT,endpoint=$AWS_REGION,passwd_file=$S3FS_PASSWD,use_xattr=1"
    opts+=",stat_cache_expire=1,stat_cache_interval_expire=1,retries=3,sigv4,allow_other"
    [ "$MODE" = perms ] && opts+=",default_permissions"
    s3fs "$BUCKET" "$MNT" -o "$opts" 2>>"$RUN/s3fs-daemon.log" || { echo "conformance: s3fs could not mount $BUCKET (see $RUN/s3fs-daemon.log)" >&2; exit 1; }
    local i; for i in $(seq 100); do grep -q " $MNT fuse" /proc/mounts && break; sleep 0.1; done
    grep -q " $MNT fuse" /proc/mounts || { echo "conformance: s3fs did not mount $BUCKET within 10 s" >&2; exit 1; }
    DAEMON_PID=$(pgrep -n -x -f "s3fs $BUCKET $MNT .*" || true)
  else
    # --xattr: s3fs's use_xattr, which its suite mounts s3fs-fuse with.
    local flags=(--allow-other --xattr); [ "$MODE" = plain ] && flags+=(--no-default-permissions)
    node dist/cli.js mount "s3://$BUCKET" "$MNT" --endpoint-url "$ENDPOINT" --cache-dir "$RUN/cache" \
      --metadata-ttl 1s --negative-ttl 0 --posix-metadata head "${flags[@]}" $MOUNT_FLAGS
    DAEMON_PID=$(pgrep -n -f "cli.js mount s3://$BUCKET " || true)
  fi
}
BUCKET_N=0
mount_fresh() { # SYSTEM MODE; each run gets a new bucket and cache
  unmount_any
  SYSTEM=$1 MODE=$2
  BUCKET_N=$((BUCKET_N + 1)); BUCKET="conf${BUCKET_N}"
  rm -rf "$RUN/cache"
  mount_system
}

# ---- s3fs-fuse's integration suite ----
# Run one test at a time (its own run_suite), so that a daemon that dies in one test is
# counted there and remounted (same bucket) for the next, instead of failing all the rest.
declare -A RESULT=()  # RESULT[system,row]
s3fs_env() {
  env PATH="$RUN/bin:$PATH" TEST_BUCKET_MOUNT_POINT_1="$MNT" TEST_BUCKET_1="$BUCKET" S3_URL="$ENDPOINT" S3_ENDPOINT="$AWS_REGION" \
    S3PROXY_CACERT_FILE=/dev/null S3FS_PID="$DAEMON_PID" CACHE_DIR="$RUN/cache" TMPDIR="$RUN" "$@"
}
ensure_mounted() { # LOG TEST: remounts the same bucket if the daemon died (counted against the test it died in)
  ls "$MNT" >/dev/null 2>&1 && return 0
  echo "(the mount was dead before $2: remounting)" >>"$1"
  fusermount -uz "$MNT" 2>/dev/null || true
  node dist/cli.js unmount "$MNT" --force >/dev/null 2>&1 || true
  [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null || true
  mount_system
}
run_s3fs() { # SYSTEM
  mount_fresh "$1" suite
  local main="$SUITES/s3fs-fuse/test/integration-test-main.sh" log="$RUN/s3fs-suite-$1.log" driver="$SUITES/s3fs-fuse/test/.one-test.sh"
  # The suite's file without its last three calls (init_suite, add_all_tests, run_suite).
  sed -e 's/^init_suite$/:/' -e 's/^add_all_tests$/:/' -e 's/^run_suite$/:/' "$main" >"$driver"
  local tests; tests=$(cd "$SUITES/s3fs-fuse/test" && s3fs_env bash -c "source $driver; init_suite; add_all_tests; printf '%s\\n' \"\${TEST_LIST[@]}\"")
  : >"$log"
  local t gen_pass=0 gen_all=0 oob_pass=0 oob_all=0 passed
  for t in $tests; do
    ensure_mounted "$log" "$t"
    (cd "$SUITES/s3fs-fuse/test" && s3fs_env bash -c "source $driver; init_suite; add_tests $t; run_suite") >>"$log" 2>&1 || true
    if ! grep -qE "^(PASS|FAIL): $t\$" "$log"; then  # it could not even start: the daemon died in the test before
      ensure_mounted "$log" "$t"
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
  RESULT[$1,gen]="$gen_pass / $gen_all"; RESULT[$1,oob]="$oob_pass / $oob_all"
  grep '^FAIL: ' "$log" | sed "s/^/  $1: s3fs suite /" >&2 || true
}

# ---- pjdfstest ----
run_pjdfstest() { # SYSTEM MODE
  mount_fresh "$1" "$2"
  local dirs=() d log="$RUN/pjdfstest-$1-$2.log"
  for d in ${PJD_DIRS:-$(ls "$SUITES/pjdfstest/tests" | grep -v -e conf -e misc.sh)}; do dirs+=("$SUITES/pjdfstest/tests/$d"); done
  mkdir -p "$MNT/pjd"
  (cd "$MNT/pjd" && prove -rv "${dirs[@]}") >"$log" 2>&1 || true
  local files ok notok planned
  files=$(find "${dirs[@]}" -name '*.t' | wc -l)
  ok=$(grep -cE '^ok [0-9]' "$log" || true)
  notok=$(grep -cE '^not ok [0-9]' "$log" || true)
  # Tests a file planned but never reported (it died midway) count in neither column: say how many.
  planned=$(per_file "$log" | awk '{ p += $4 } END { print p + 0 }')
  local unrun=''; [ "$planned" -le $((ok + notok)) ] || unrun=", $((planned - ok - notok)) planned tests not run"
  RESULT[$1,$2]="$ok ok / $notok not ok ($files files$unrun)"
}
# per_file LOG: "tests/DIR/NN.t NOT_OK OK PLANNED" for every file: its `not ok` and `ok` lines, and its plan (1..N).
per_file() {
  awk -v root="$SUITES/pjdfstest/" '
    /^\/.*\.t \.+ *$/ { f = $1; sub(root, "", f); n[f] += 0; k[f] += 0; p[f] += 0; next }
    /^not ok [0-9]/ && f != "" { n[f]++ }
    /^ok [0-9]/ && f != "" { k[f]++ }
    /^1\.\.[0-9]+$/ && f != "" { p[f] = substr($0, 4) }
    END { for (f in n) print f, n[f], k[f], p[f] }' "$1" | sort
}
# compare_pjdfstest MODE: the files where s3cachefs has more `not ok` than s3fs-fuse, and s3cachefs's
# figures on the files both really ran: pjdfstest's conf skips whole files by filesystem name (`link`
# is "not supported" on FUSE.S3FS and FUSE.GCSFUSE: one `ok` for s3fs-fuse, every test for us).
compare_pjdfstest() {
  local out="$RUN/pjdfstest-worse-$1.txt" joined
  joined=$(join <(per_file "$RUN/pjdfstest-s3cachefs-$1.log") <(per_file "$RUN/pjdfstest-s3fs-$1.log"))
  # joined: file, s3cachefs not ok, ok, planned, s3fs-fuse not ok, ok, planned
  awk 'BEGIN { print "# file, not ok s3cachefs, not ok s3fs-fuse" } $2 > $5 { print $1, $2, $5; extra += $2 - $5; files++ }
       END { printf "# %d files, %d more not ok\n", files, extra }' <<<"$joined" >"$out"
  RESULT[worse,$1]="$(tail -1 "$out" | sed 's/^# //') than s3fs-fuse: $out"
  RESULT[both,$1]=$(awk '$7 == 1 && $4 > 1 { skipped = skipped " " $1; next } { ok += $3; nok += $2; files++ }
    END { printf "%d ok / %d not ok on the %d files pjdfstest runs for both (it skips for s3fs-fuse:%s)", ok, nok, files, skipped }' <<<"$joined")
}

if [ "$ONLY" != pjdfstest ]; then
  for s in $SYSTEMS; do run_s3fs "$s"; done
fi
if [ "$ONLY" != s3fs ]; then
  for m in $PJD_MODES; do
    for s in $SYSTEMS; do run_pjdfstest "$s" "$m"; done
    if [[ " $SYSTEMS " == *' s3cachefs '* && " $SYSTEMS " == *' s3fs '* ]]; then compare_pjdfstest "$m"; fi
  done
fi
unmount_any

cat <<EOF

| | s3cachefs | s3fs-fuse $(s3fs --version 2>/dev/null | grep -oE 'V[0-9.]+' | tr -d V) (Debian), this run | s3fs-fuse 1.97 (issue 11, other selections) |
|---|---|---|---|
| s3fs suite, generic tests | ${RESULT[s3cachefs,gen]:-not run} | ${RESULT[s3fs,gen]:-not run} | 63 / 63 (73 tests in all) |
| s3fs suite, tests with out-of-band changes in the bucket | ${RESULT[s3cachefs,oob]:-not run} | ${RESULT[s3fs,oob]:-not run} | 10 / 10 |
| pjdfstest, no kernel permission checks | ${RESULT[s3cachefs,plain]:-not run} | ${RESULT[s3fs,plain]:-not run} | 7,565 ok / 670 not ok (132 files) |
| pjdfstest with \`default_permissions\` | ${RESULT[s3cachefs,perms]:-not run} | ${RESULT[s3fs,perms]:-not run} | 8,124 ok / 110 not ok (132 files) |

EOF
for m in $PJD_MODES; do
  [ -n "${RESULT[worse,$m]:-}" ] && echo "pjdfstest $m: s3cachefs worse in ${RESULT[worse,$m]}; s3cachefs ${RESULT[both,$m]}"
done
echo "started $STARTED; ended $(date -u '+%H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "logs: $RUN/*.log"
