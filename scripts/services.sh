#!/usr/bin/env bash
# Real PostgreSQL, Redis, RabbitMQ, memcached and etcd on loopback for the @lastcall/resources tests,
# plus two emulators where no real server can run here: librdkafka's mock Kafka cluster (a small C
# program, scripts/kafka-mock.c, built on the spot) and moto_server for SQS (Python moto, when installed).
#
#   scripts/services.sh start   install what is missing (apt, as root), start each server, write the env file
#   scripts/services.sh env     print the env file (LASTCALL_PG_URL, LASTCALL_REDIS_URL, LASTCALL_AMQP_URL,
#                               LASTCALL_MEMCACHED_URL, LASTCALL_ETCD_URL, LASTCALL_KAFKA_BROKERS, LASTCALL_SQS_URL)
#   scripts/services.sh stop    stop every server this script started, by pid
#
# Each server gets a temporary data directory and an uncommon port on 127.0.0.1,
# so it never meets a system service. A server that cannot start is left out of
# the env file with the reason in LASTCALL_SKIP_<NAME>; the tests that need it
# are then skipped with that reason. `start` never fails because one server did.
#
# Overrides: LASTCALL_SERVICES_DIR (state dir), LASTCALL_SERVICES_ENV (env file),
# LASTCALL_PG_PORT, LASTCALL_REDIS_PORT, LASTCALL_AMQP_PORT, LASTCALL_MEMCACHED_PORT, LASTCALL_ETCD_PORT,
# LASTCALL_SQS_PORT, LASTCALL_SERVICES (e.g. "pg redis"; all: "pg redis amqp memcached etcd kafka sqs").
set -uo pipefail

STATE_DIR="${LASTCALL_SERVICES_DIR:-/tmp/lastcall-services}"
# Ports below Linux's ephemeral range (32768-60999), where an outgoing connection cannot be holding one when a
# server binds it (RabbitMQ once failed to start with dist_port_already_used on 55772). PostgreSQL, Redis and
# RabbitMQ keep their older ports, which examples/ name.
ENV_FILE="${LASTCALL_SERVICES_ENV:-/tmp/lastcall-services.env}"
PG_PORT="${LASTCALL_PG_PORT:-55432}"
REDIS_PORT="${LASTCALL_REDIS_PORT:-56379}"
AMQP_PORT="${LASTCALL_AMQP_PORT:-55672}"
AMQP_DIST_PORT="${LASTCALL_AMQP_DIST_PORT:-31772}"
EPMD_PORT="${LASTCALL_EPMD_PORT:-31369}"
MEMCACHED_PORT="${LASTCALL_MEMCACHED_PORT:-31211}"
ETCD_PORT="${LASTCALL_ETCD_PORT:-31379}"
ETCD_PEER_PORT="${LASTCALL_ETCD_PEER_PORT:-31380}"
SQS_PORT="${LASTCALL_SQS_PORT:-31566}"
WANTED="${LASTCALL_SERVICES:-pg redis amqp memcached etcd kafka sqs}"
# Bounds on waiting for a server to accept connections, in tenths of a second.
PG_WAIT=300
REDIS_WAIT=100
AMQP_WAIT=900

log() { printf '[services] %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }
wants() { [[ " $WANTED " == *" $1 "* ]]; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$dir" && -x "$dir/pg_ctl" ]] && printf '%s' "$dir"
}

install_missing() {
  local pkgs=()
  if wants pg && [[ -z "$(pg_bin)" ]]; then pkgs+=(postgresql); fi
  if wants redis && ! command -v redis-server >/dev/null; then pkgs+=(redis-server); fi
  if wants amqp && [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then pkgs+=(rabbitmq-server); fi
  if wants memcached && ! command -v memcached >/dev/null; then pkgs+=(memcached); fi
  if wants etcd && ! command -v etcd >/dev/null; then pkgs+=(etcd-server); fi
  if wants kafka && [[ ! -f /usr/include/librdkafka/rdkafka_mock.h ]]; then pkgs+=(librdkafka-dev); fi
  if wants kafka && ! command -v gcc >/dev/null; then pkgs+=(gcc libc6-dev); fi
  if wants kafka && ! command -v pkg-config >/dev/null; then pkgs+=(pkg-config); fi
  [[ ${#pkgs[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    log "missing ${pkgs[*]} and not root: cannot install"
    return 0
  fi
  local t0; t0=$(now_ms)
  log "installing ${pkgs[*]}"
  # Debian starts freshly installed services unless policy-rc.d says no; these get their own instances below.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1; fi
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } >"$STATE_DIR/apt.log" 2>&1; then
    log "apt-get failed (see $STATE_DIR/apt.log)"
  fi
  [[ $created_policy -eq 1 ]] && rm -f "$policy"
  log "install took $(( $(now_ms) - t0 )) ms"
}

# wait_until <tenths> <command...>: runs the command every 100 ms until it succeeds, at most <tenths> times.
wait_until() {
  local tries=$1; shift
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

record() { printf '%s\n' "$1" >>"$ENV_FILE"; }

start_pg() {
  local bin; bin=$(pg_bin)
  if [[ -z "$bin" ]]; then record "LASTCALL_SKIP_PG='postgresql is not installed'"; return; fi
  local t0; t0=$(now_ms)
  local data="$STATE_DIR/pg"
  mkdir -p "$data"
  local user=postgres
  if [[ $(id -u) -ne 0 ]]; then user=$(id -un); fi
  if ! id "$user" >/dev/null 2>&1; then record "LASTCALL_SKIP_PG='no postgres user to run the server as'"; return; fi
  chown "$user" "$data" 2>/dev/null
  chmod 700 "$data"
  run_as() { if [[ $(id -u) -eq 0 ]]; then runuser -u "$user" -- "$@"; else "$@"; fi; }
  if ! run_as "$bin/initdb" -D "$data/db" -U lastcall --auth=trust --no-sync -E UTF8 >"$STATE_DIR/pg-initdb.log" 2>&1; then
    record "LASTCALL_SKIP_PG='initdb failed: $(tail -n 1 "$STATE_DIR/pg-initdb.log" | tr -d "'")'"; return
  fi
  # fsync off: throwaway data, faster tests. Unix socket in the data dir, TCP on loopback only.
  if ! run_as "$bin/pg_ctl" -D "$data/db" -l "$data/pg.log" -w -t 30 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >"$STATE_DIR/pg-ctl.log" 2>&1; then
    record "LASTCALL_SKIP_PG='pg_ctl start failed: $(tail -n 1 "$data/pg.log" 2>/dev/null | tr -d "'")'"; return
  fi
  head -n 1 "$data/db/postmaster.pid" >"$STATE_DIR/pg.pid"
  if ! wait_until "$PG_WAIT" "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    record "LASTCALL_SKIP_PG='postgres did not accept connections on port $PG_PORT'"; return
  fi
  record "LASTCALL_PG_URL=postgres://lastcall@127.0.0.1:$PG_PORT/postgres"
  log "postgresql on 127.0.0.1:$PG_PORT in $(( $(now_ms) - t0 )) ms"
}

start_redis() {
  if ! command -v redis-server >/dev/null; then record "LASTCALL_SKIP_REDIS='redis-server is not installed'"; return; fi
  local t0; t0=$(now_ms)
  local data="$STATE_DIR/redis"
  mkdir -p "$data"
  # DEBUG is enabled for local connections: the tests pause the server with it.
  if ! redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --pidfile "$data/redis.pid" --dir "$data" \
    --logfile "$STATE_DIR/redis.log" --save '' --appendonly no --enable-debug-command local >/dev/null 2>&1; then
    record "LASTCALL_SKIP_REDIS='redis-server failed to start (see $STATE_DIR/redis.log)'"; return
  fi
  if ! wait_until "$REDIS_WAIT" redis_ping; then
    record "LASTCALL_SKIP_REDIS='redis did not answer PING on port $REDIS_PORT'"; return
  fi
  cp "$data/redis.pid" "$STATE_DIR/redis.pid"
  record "LASTCALL_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  log "redis on 127.0.0.1:$REDIS_PORT in $(( $(now_ms) - t0 )) ms"
}

redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_amqp() {
  local server=/usr/lib/rabbitmq/bin/rabbitmq-server
  if [[ ! -x $server ]]; then record "LASTCALL_SKIP_AMQP='rabbitmq-server is not installed'"; return; fi
  local t0; t0=$(now_ms)
  local data="$STATE_DIR/rabbitmq"
  mkdir -p "$data/home" "$data/mnesia" "$data/log"
  printf '[].\n' >"$data/enabled_plugins"
  # Everything in the temp dir: no system config, no plugins, its own epmd port and cookie.
  (
    export HOME="$data/home" RABBITMQ_NODENAME="lastcall@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
      RABBITMQ_NODE_PORT="$AMQP_PORT" RABBITMQ_DIST_PORT="$AMQP_DIST_PORT" ERL_EPMD_PORT="$EPMD_PORT" \
      RABBITMQ_MNESIA_BASE="$data/mnesia" RABBITMQ_LOG_BASE="$data/log" RABBITMQ_PID_FILE="$data/rabbitmq.pid" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$data/enabled_plugins" RABBITMQ_CONFIG_FILE="$data/none" \
      RABBITMQ_ADVANCED_CONFIG_FILE="$data/none-advanced.config" RABBITMQ_CONF_ENV_FILE="$data/none-env"
    cd "$data" && "$server" -detached >"$STATE_DIR/rabbitmq-start.log" 2>&1
  ) || { record "LASTCALL_SKIP_AMQP='rabbitmq-server failed to start (see $STATE_DIR/rabbitmq-start.log)'"; return; }
  if ! wait_until "$AMQP_WAIT" tcp_open "$AMQP_PORT"; then
    record "LASTCALL_SKIP_AMQP='rabbitmq did not listen on port $AMQP_PORT within $((AMQP_WAIT / 10)) s'"; return
  fi
  [[ -s "$data/rabbitmq.pid" ]] && cp "$data/rabbitmq.pid" "$STATE_DIR/rabbitmq.pid"
  record "LASTCALL_AMQP_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT"
  log "rabbitmq on 127.0.0.1:$AMQP_PORT in $(( $(now_ms) - t0 )) ms"
}

# detach <pidfile> <log> <command...>: runs a foreground server in its own session, its pid in <pidfile>.
detach() {
  local pidfile=$1 logfile=$2; shift 2
  setsid "$@" </dev/null >"$logfile" 2>&1 &
  printf '%s\n' "$!" >"$pidfile"
}

start_memcached() {
  if ! command -v memcached >/dev/null; then record "LASTCALL_SKIP_MEMCACHED='memcached is not installed'"; return; fi
  local t0; t0=$(now_ms)
  local user=()
  if [[ $(id -u) -eq 0 ]]; then user=(-u nobody); fi
  detach "$STATE_DIR/memcached.pid" "$STATE_DIR/memcached.log" memcached "${user[@]}" -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64
  if ! wait_until 50 tcp_open "$MEMCACHED_PORT"; then
    record "LASTCALL_SKIP_MEMCACHED='memcached did not listen on port $MEMCACHED_PORT (see $STATE_DIR/memcached.log)'"; return
  fi
  record "LASTCALL_MEMCACHED_URL=127.0.0.1:$MEMCACHED_PORT"
  log "memcached on 127.0.0.1:$MEMCACHED_PORT in $(( $(now_ms) - t0 )) ms"
}

start_etcd() {
  if ! command -v etcd >/dev/null; then record "LASTCALL_SKIP_ETCD='etcd is not installed'"; return; fi
  local t0; t0=$(now_ms)
  local peer="http://127.0.0.1:$ETCD_PEER_PORT" client="http://127.0.0.1:$ETCD_PORT"
  mkdir -p "$STATE_DIR/etcd"
  detach "$STATE_DIR/etcd.pid" "$STATE_DIR/etcd.log" etcd --name lastcall --data-dir "$STATE_DIR/etcd/data" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "lastcall=$peer"
  if ! wait_until 100 etcd_healthy; then
    record "LASTCALL_SKIP_ETCD='etcd did not report healthy on port $ETCD_PORT (see $STATE_DIR/etcd.log)'"; return
  fi
  record "LASTCALL_ETCD_URL=$client"
  log "etcd on $client in $(( $(now_ms) - t0 )) ms"
}

etcd_healthy() {
  if ! command -v curl >/dev/null; then tcp_open "$ETCD_PORT"; return; fi
  [[ "$(curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null)" == *'"true"'* ]]
}

start_kafka() {
  local source; source="$(dirname "$0")/kafka-mock.c"
  local bin="$STATE_DIR/kafka-mock"
  if [[ ! -f /usr/include/librdkafka/rdkafka_mock.h ]]; then record "LASTCALL_SKIP_KAFKA='librdkafka-dev (rdkafka_mock.h) is not installed'"; return; fi
  local t0; t0=$(now_ms)
  # shellcheck disable=SC2046
  if ! gcc -O1 -o "$bin" "$source" $(pkg-config --cflags --libs rdkafka) >"$STATE_DIR/kafka-build.log" 2>&1; then
    record "LASTCALL_SKIP_KAFKA='building kafka-mock failed: $(tail -n 1 "$STATE_DIR/kafka-build.log" | tr -d "'")'"; return
  fi
  detach "$STATE_DIR/kafka.pid" "$STATE_DIR/kafka.out" "$bin" 1
  if ! wait_until 50 test -s "$STATE_DIR/kafka.out"; then
    record "LASTCALL_SKIP_KAFKA='kafka-mock printed no bootstrap servers (see $STATE_DIR/kafka.out)'"; return
  fi
  # The binary too: a test that needs a cluster it can stop starts its own.
  record "LASTCALL_KAFKA_BROKERS=$(head -n 1 "$STATE_DIR/kafka.out")"
  record "LASTCALL_KAFKA_MOCK=$bin"
  log "kafka (librdkafka mock cluster) on $(head -n 1 "$STATE_DIR/kafka.out") in $(( $(now_ms) - t0 )) ms"
}

start_sqs() {
  if ! command -v moto_server >/dev/null; then record "LASTCALL_SKIP_SQS='moto_server (Python moto) is not installed: no SQS emulator'"; return; fi
  local t0; t0=$(now_ms)
  detach "$STATE_DIR/sqs.pid" "$STATE_DIR/sqs.log" moto_server -H 127.0.0.1 -p "$SQS_PORT"
  if ! wait_until 100 tcp_open "$SQS_PORT"; then
    record "LASTCALL_SKIP_SQS='moto_server did not listen on port $SQS_PORT (see $STATE_DIR/sqs.log)'"; return
  fi
  record "LASTCALL_SQS_URL=http://127.0.0.1:$SQS_PORT"
  log "sqs (moto_server emulator) on 127.0.0.1:$SQS_PORT in $(( $(now_ms) - t0 )) ms"
}

# kill_pidfile <file> <name>: SIGTERM, wait up to 15 s, then SIGKILL.
kill_pidfile() {
  local file=$1 name=$2
  [[ -s $file ]] || return 0
  local pid; pid=$(head -n 1 "$file" | tr -dc 0-9)
  rm -f "$file"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  if ! wait_until 150 not_running "$pid"; then
    log "$name (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  log "stopped $name (pid $pid)"
}

not_running() { ! kill -0 "$1" 2>/dev/null; }

stop_all() {
  kill_pidfile "$STATE_DIR/pg.pid" postgresql
  kill_pidfile "$STATE_DIR/redis.pid" redis
  local had_rabbitmq=0
  [[ -s "$STATE_DIR/rabbitmq.pid" ]] && had_rabbitmq=1
  kill_pidfile "$STATE_DIR/rabbitmq.pid" rabbitmq
  kill_pidfile "$STATE_DIR/memcached.pid" memcached
  kill_pidfile "$STATE_DIR/etcd.pid" etcd
  kill_pidfile "$STATE_DIR/kafka.pid" kafka-mock
  kill_pidfile "$STATE_DIR/sqs.pid" moto_server
  # RabbitMQ's Erlang port mapper daemon, addressed by its own port (it has no pid file); only when this
  # state dir started RabbitMQ, so a second instance of the script (own dir, other services) leaves it alone.
  if [[ $had_rabbitmq -eq 1 ]] && command -v epmd >/dev/null && ERL_EPMD_PORT=$EPMD_PORT epmd -names >/dev/null 2>&1; then
    ERL_EPMD_PORT=$EPMD_PORT epmd -kill >/dev/null 2>&1 && log "stopped epmd on port $EPMD_PORT"
  fi
  rm -f "$ENV_FILE"
}

case "${1:-}" in
  start)
    mkdir -p "$STATE_DIR"
    if compgen -G "$STATE_DIR/*.pid" >/dev/null; then
      log "servers from an earlier start are still recorded: stopping them first"
      stop_all
    fi
    rm -rf "${STATE_DIR:?}/pg" "${STATE_DIR:?}/redis" "${STATE_DIR:?}/rabbitmq" "${STATE_DIR:?}/etcd" "${STATE_DIR:?}/kafka.out"
    : >"$ENV_FILE"
    install_missing
    t0=$(now_ms)
    # RabbitMQ boots slowest: start it first, in the background, and the others while it boots.
    if wants amqp; then start_amqp_bg() { start_amqp 2>"$STATE_DIR/amqp.err"; }; start_amqp_bg & amqp_job=$!; fi
    if wants pg; then start_pg; fi
    if wants redis; then start_redis; fi
    if wants memcached; then start_memcached; fi
    if wants etcd; then start_etcd; fi
    if wants kafka; then start_kafka; fi
    if wants sqs; then start_sqs; fi
    if wants amqp; then wait "$amqp_job"; cat "$STATE_DIR/amqp.err" >&2; fi
    log "all started in $(( $(now_ms) - t0 )) ms; env in $ENV_FILE"
    cat "$ENV_FILE"
    ;;
  env)
    [[ -f $ENV_FILE ]] && cat "$ENV_FILE"
    ;;
  stop)
    stop_all
    ;;
  *)
    echo "usage: $0 start|env|stop" >&2
    exit 2
    ;;
esac
