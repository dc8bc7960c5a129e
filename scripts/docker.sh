#!/usr/bin/env bash
# A private Docker engine for the container tests (examples/deploy/test/docker.test.ts).
#
#   scripts/docker.sh start   install docker.io when missing (apt, as root), start dockerd, wait for it, write the env file
#   scripts/docker.sh env     print the env file (LASTCALL_DOCKER_HOST, or LASTCALL_SKIP_DOCKER with the reason)
#   scripts/docker.sh image   import the base image (IMAGE, default lastcall-node:local) when the engine lacks it
#   scripts/docker.sh rootfs F write that image's root filesystem to the tarball F (podman import F)
#   scripts/docker.sh stop    stop the dockerd this script started, by pid, and unmount what it left behind
#
# The engine touches nothing outside its state folder: no docker0 bridge, no
# iptables rules, no IP forwarding (containers run with --network host), its
# own --data-root, --exec-root and unix socket. `start` never fails because
# dockerd could not start: it writes LASTCALL_SKIP_DOCKER with the reason, and
# the tests are reported as skipped.
#
# No registry is reachable here, so there is no node:22-slim: `image` builds a
# base image with `docker import` from a tarball of this machine's node
# binary, the libraries `ldd` lists, /bin/sh (for the Dockerfile's RUN), npm
# (for its `npm ci`), and an /etc/passwd with root and node (uid 1000). About
# 1 s. The recipe's Dockerfile builds FROM it through its NODE_IMAGE argument.
#
# Overrides: LASTCALL_DOCKER_DIR (state folder), LASTCALL_DOCKER_ENV (env file),
# IMAGE (base image name), NODE_BIN (the node binary to put in it).
set -uo pipefail

STATE_DIR="${LASTCALL_DOCKER_DIR:-/tmp/lastcall-docker}"
ENV_FILE="${LASTCALL_DOCKER_ENV:-$STATE_DIR/env}"
SOCKET="$STATE_DIR/docker.sock"
PID_FILE="$STATE_DIR/dockerd.pid"
# Bound on waiting for the engine to answer, in tenths of a second.
WAIT=300

log() { printf '[docker] %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }

skip() {
  log "$1"
  printf "LASTCALL_SKIP_DOCKER='%s'\n" "${1//\'/}" >"$ENV_FILE"
}

install_missing() {
  command -v dockerd >/dev/null && return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then return 0; fi
  local t0; t0=$(now_ms)
  log "installing docker.io"
  # Debian starts freshly installed services unless policy-rc.d says no; this script runs its own engine.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io; } >"$STATE_DIR/apt.log" 2>&1 \
    || log "apt-get failed (see $STATE_DIR/apt.log)"
  [[ $created_policy -eq 1 ]] && rm -f "$policy"
  log "install took $(( $(now_ms) - t0 )) ms"
}

running() { [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

start() {
  mkdir -p "$STATE_DIR"
  if running; then log "dockerd already running (pid $(cat "$PID_FILE"))"; return 0; fi
  install_missing
  if ! command -v dockerd >/dev/null; then skip 'dockerd is not installed (Debian package docker.io)'; return 0; fi
  if [[ $(id -u) -ne 0 ]]; then skip 'dockerd needs root here'; return 0; fi
  local t0; t0=$(now_ms)
  dockerd --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --data-root "$STATE_DIR/data" --exec-root "$STATE_DIR/exec" --pidfile "$STATE_DIR/dockerd.own.pid" \
    -H "unix://$SOCKET" >"$STATE_DIR/dockerd.log" 2>&1 &
  echo $! >"$PID_FILE"
  for ((i = 0; i < WAIT; i++)); do
    if DOCKER_HOST="unix://$SOCKET" docker version >/dev/null 2>&1; then
      log "dockerd up (pid $(cat "$PID_FILE")) in $(( $(now_ms) - t0 )) ms"
      printf "LASTCALL_DOCKER_HOST='unix://%s'\n" "$SOCKET" >"$ENV_FILE"
      return 0
    fi
    running || break
    sleep 0.1
  done
  skip "dockerd did not start: $(tail -n 1 "$STATE_DIR/dockerd.log" 2>/dev/null | tr -d "'")"
  stop
}

stop() {
  if running; then
    local pid; pid=$(cat "$PID_FILE")
    kill "$pid"
    # dockerd stops its containers (10 s each at most) and its containerd; bounded wait, then SIGKILL.
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    log "dockerd (pid $pid) stopped"
  fi
  rm -f "$PID_FILE"
  # A custom --exec-root leaves its network namespace mounted.
  if mountpoint -q "$STATE_DIR/exec/netns/default" 2>/dev/null; then umount "$STATE_DIR/exec/netns/default"; fi
  for m in $(awk -v d="$STATE_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
}

# rootfs <file>: the base image's root filesystem as a tarball (for `podman import` too).
rootfs() {
  local out="$1"
  local node; node=$(readlink -f "${NODE_BIN:-$(command -v node)}")
  local npm; npm=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  # A staging folder of its own: the Docker and Podman tests may build one at the same time.
  local root; root=$(mktemp -d "$STATE_DIR/rootfs.XXXXXX") || return 1
  chmod 755 "$root"
  mkdir -p "$root"/{bin,etc,tmp,root,app,usr/local/bin,usr/local/lib/node_modules}
  chmod 1777 "$root/tmp"
  cp "$node" "$root/usr/local/bin/node"
  cp /bin/sh "$root/bin/sh"
  cp -r "$npm" "$root/usr/local/lib/node_modules/npm"
  # npm-cli.js starts with `#!/usr/bin/env node`, and there is no env here.
  printf '#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"\n' >"$root/usr/local/bin/npm"
  chmod +x "$root/usr/local/bin/npm"
  # Every library node and sh load, at the path the loader looks for it.
  for lib in $( { ldd "$node"; ldd /bin/sh; } | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
  done
  printf 'root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/app:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
  tar -C "$root" -cf "$out" . || return 1
  rm -rf "$root"
}

image() {
  local name="${IMAGE:-lastcall-node:local}"
  export DOCKER_HOST="unix://$SOCKET"
  if docker image inspect "$name" >/dev/null 2>&1; then return 0; fi
  local t0; t0=$(now_ms)
  local tarball; tarball=$(mktemp "$STATE_DIR/rootfs.XXXXXX.tar") || return 1
  rootfs "$tarball" || { rm -f "$tarball"; return 1; }
  docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "$tarball" "$name" >/dev/null || { rm -f "$tarball"; return 1; }
  rm -f "$tarball"
  log "imported $name in $(( $(now_ms) - t0 )) ms"
}

case "${1:-}" in
  start) start ;;
  image) image ;;
  rootfs) mkdir -p "$STATE_DIR" && rootfs "${2:?usage: $0 rootfs <file.tar>}" ;;
  stop) stop ;;
  env) cat "$ENV_FILE" 2>/dev/null ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
