#!/usr/bin/env bash
# Starts and stops a throwaway 3-master Redis Cluster on loopback ports for
# the Redis store's tests (stores/redis). Nothing is persisted.
#
#   eval "$(scripts/redis-cluster.sh start)"   # sets REDIS_CLUSTER_ADDRS
#   scripts/redis-cluster.sh stop
#
# start prints exactly one line on stdout, the export of REDIS_CLUSTER_ADDRS,
# and everything else on stderr. It is idempotent: when the cluster it
# started is still running and healthy it only prints the line again.
# stop kills only the processes whose pids start recorded, then removes the
# state directory.
#
# Environment:
#   REDIS_CLUSTER_PORTS      ports to use, e.g. "7101,7102,7103" (default: the
#                            first three free ports from REDIS_CLUSTER_BASE_PORT,
#                            whose cluster bus ports, +10000, are free too)
#   REDIS_CLUSTER_BASE_PORT  where the search for free ports starts (7101)
#   REDIS_CLUSTER_STATE_DIR  state directory (/tmp/sessionkit-redis-cluster)
set -euo pipefail

state=${REDIS_CLUSTER_STATE_DIR:-/tmp/sessionkit-redis-cluster}
base=${REDIS_CLUSTER_BASE_PORT:-7101}
host=127.0.0.1
nodes=3

log() { echo "redis-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# in_use PORT: something accepts connections on PORT.
in_use() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

# ours PID: PID is alive and is a redis-server.
ours() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q redis-server
}

cli() { redis-cli -h "$host" -p "$1" "${@:2}"; }

cluster_ok() { # cluster_ok PORT...
  local p
  for p in "$@"; do
    cli "$p" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok' || return 1
  done
}

recorded_ports() { [ -f "$state/ports" ] && cat "$state/ports"; }

running() { # the recorded cluster is up and healthy
  local ports p
  ports=$(recorded_ports) || return 1
  [ -n "$ports" ] || return 1
  for p in $ports; do
    ours "$(cat "$state/$p/redis.pid" 2>/dev/null)" || return 1
  done
  # shellcheck disable=SC2086
  cluster_ok $ports
}

print_export() {
  local addrs="" p
  for p in $(recorded_ports); do addrs+="${addrs:+,}$host:$p"; done
  echo "export REDIS_CLUSTER_ADDRS=$addrs"
}

stop() {
  [ -d "$state" ] || { log "not running"; return 0; }
  local pids=() f pid
  for f in "$state"/*/redis.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop on TERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$state"
  log "stopped (${#pids[@]} nodes)"
}

pick_ports() {
  if [ -n "${REDIS_CLUSTER_PORTS:-}" ]; then
    local p n=0
    for p in ${REDIS_CLUSTER_PORTS//,/ }; do
      in_use "$p" && die "port $p is in use"
      in_use $((p + 10000)) && die "cluster bus port $((p + 10000)) is in use"
      echo "$p"
      n=$((n + 1))
    done
    [ "$n" -eq "$nodes" ] || die "REDIS_CLUSTER_PORTS must list $nodes ports"
    return
  fi
  local p=$base found=0
  while [ "$found" -lt "$nodes" ]; do
    [ "$p" -lt $((base + 200)) ] || die "no $nodes free ports found from $base"
    if ! in_use "$p" && ! in_use $((p + 10000)); then
      echo "$p"
      found=$((found + 1))
    fi
    p=$((p + 1))
  done
}

start() {
  command -v redis-server >/dev/null || die "redis-server is not installed"
  command -v redis-cli >/dev/null || die "redis-cli is not installed"
  if running; then
    log "already running"
    print_export
    return 0
  fi
  if [ -d "$state" ]; then
    log "found a stale state directory; cleaning it up"
    stop
  fi
  local ports p
  ports=$(pick_ports | paste -sd' ')
  mkdir -p "$state"
  echo "$ports" >"$state/ports"
  for p in $ports; do
    mkdir -p "$state/$p"
    redis-server --port "$p" --bind "$host" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
      --dir "$state/$p" --save "" --appendonly no \
      --daemonize yes --pidfile "$state/$p/redis.pid" --logfile "$state/$p/redis.log" >&2 ||
      { stop; die "redis-server on port $p did not start"; }
  done
  for p in $ports; do
    local up=0
    for _ in $(seq 100); do
      if [ -f "$state/$p/redis.pid" ] && cli "$p" ping 2>/dev/null | grep -q PONG; then up=1; break; fi
      sleep 0.1
    done
    [ "$up" = 1 ] || { tail -n 20 "$state/$p/redis.log" >&2 || true; stop; die "node $p did not answer PING"; }
  done
  local addrs=()
  for p in $ports; do addrs+=("$host:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >&2 ||
    { stop; die "cluster create failed"; }
  for _ in $(seq 300); do
    # shellcheck disable=SC2086
    cluster_ok $ports && break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  cluster_ok $ports || { stop; die "cluster_state did not become ok on all nodes"; }
  log "up on ports $ports"
  print_export
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop" ;;
esac
