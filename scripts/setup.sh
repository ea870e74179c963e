#!/usr/bin/env bash
# Installs everything s3cachefs needs, idempotently, on a Debian machine:
# the FUSE runtime (fuse3: libfuse 3 and fusermount3), a C toolchain, libfuse3-dev, pkg-config
# and ISA-L (libisal-dev: its CRC-32) for our build of the FUSE binding (vendor/fuse-native, against libfuse 3), the npm packages
# and the TypeScript builds (the daemon into dist/, the tools into tools/dist/); then puts `s3cachefs` on the PATH.
# Quiet when there is nothing to do. Extra apt packages may be passed as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

need=("$@")
for p in g++ make python3 libisal-dev fuse3 libfuse3-dev pkg-config; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  missing=()
  for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then say "please install as root: apt-get install -y ${missing[*]}"; exit 1; fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
if [ ! -e /dev/fuse ]; then
  say "/dev/fuse is missing: this machine (or container) does not offer FUSE; run with --device /dev/fuse --cap-add SYS_ADMIN"
  exit 1
fi

stamp=node_modules/.s3cachefs-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$stamp"
fi

# The FUSE binding is built from vendor/fuse-native (fuse-native 2.2.6 on libfuse 3, with direct reads):
# again whenever its sources are newer than the build, whatever npm did with install scripts.
native=vendor/fuse-native
if [ ! -f "$native/build/Release/fuse.node" ] ||
   [ -n "$(find "$native" -maxdepth 1 \( -name '*.c' -o -name '*.h' -o -name binding.gyp \) -newer "$native/build/Release/fuse.node" -print -quit)" ]; then
  say "building the FUSE binding"
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  nodedir="$(npm config get nodedir 2>/dev/null || true)"
  args=(rebuild --loglevel=error)
  # Node's own headers, never a download: npm's nodedir, else Debian's /usr/include/node.
  if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then nodedir=""; fi
  if [ -z "$nodedir" ] && [ -f /usr/include/node/node_api.h ]; then nodedir=/usr; fi
  if [ -n "$nodedir" ]; then args+=("--nodedir=$nodedir"); fi
  (cd "$native" && node "$gyp" "${args[@]}" >/dev/null)
fi

if [ ! -f dist/cli.js ] || [ -n "$(find src tsconfig.json package.json -newer dist/cli.js -print -quit)" ]; then
  say "building"
  npx tsc -p tsconfig.json
  touch dist/cli.js
fi
chmod +x dist/cli.js
# The tools (benchmark, local S3 server, demo: tools/) are their own TypeScript project, built into tools/dist/.
tools_stamp=tools/dist/tools/demo/run-demo.js
if [ ! -f "$tools_stamp" ] || [ -n "$(find tools src tsconfig.json package.json -path tools/dist -prune -o -newer "$tools_stamp" -print -quit)" ]; then
  say "building the tools"
  npx tsc -p tools/tsconfig.json
  touch "$tools_stamp"
fi

if [ -w /usr/local/bin ] && [ "$(readlink -f /usr/local/bin/s3cachefs 2>/dev/null)" != "$PWD/dist/cli.js" ]; then
  ln -sf "$PWD/dist/cli.js" /usr/local/bin/s3cachefs
fi
# `mount -t s3cachefs` and /etc/fstab lines run /sbin/mount.s3cachefs (see deploy/).
if [ -w /sbin ] && [ "$(readlink -f /sbin/mount.s3cachefs 2>/dev/null)" != "$PWD/deploy/mount.s3cachefs" ]; then
  ln -sf "$PWD/deploy/mount.s3cachefs" /sbin/mount.s3cachefs
fi
