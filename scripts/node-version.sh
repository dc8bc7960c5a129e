#!/usr/bin/env bash
# Prints the path of the pinned official Node binary of one major (22, 24 or 26), installing it
# from the npm registry into .cache/node-<major> on first use. Put its folder first on PATH to
# run anything on that major:  PATH="$(dirname "$(scripts/node-version.sh 24)"):$PATH" pnpm exec vitest run
exec "$(dirname "$0")/runtime.sh" node "$@"
