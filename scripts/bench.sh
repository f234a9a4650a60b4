#!/usr/bin/env bash
# Runs sessionkit's benchmarks and writes bench/RESULTS.md (and the raw
# go test output beside it, bench/RESULTS.raw.txt): every framework's bare
# handler, sessionkit and the established library, in memory and on Redis,
# plus the MemoryStore-at-scale program. Needs Redis on 127.0.0.1:6379
# (scripts/services.sh starts it when it is down).
#
# The benchmarks run in passes: the test binary is built once and run COUNT
# times, each run going over every row once ("pass: N" before each in the
# raw output). So a row's runs spread over the whole run rather than follow
# each other, and cmd/results pairs the rows it compares pass by pass (see
# "How to read it" in RESULTS.md).
#
# Environment (all optional):
#   COUNT=10         passes, so runs of every row; 95 % intervals need >= 6
#   BENCHTIME=150ms  -test.benchtime of each run (e.g. 2000x for a quick check)
#   BENCH=.          regexp under BenchmarkSessions/ (e.g. 'nethttp/' or '.*/read/')
#   MEMSCALE_N=1000000  sessions for cmd/memscale; MEMSCALE_N=0 skips it
#   STORES=1         the stores' own benchmarks (Redis, PostgreSQL, SQLite); 0 skips them
# A full run takes about 8 minutes on 2 cores with four frameworks.
# A quick check (about a minute): COUNT=6 BENCHTIME=2000x MEMSCALE_N=100000 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-150ms}
BENCH=${BENCH:-.}
MEMSCALE_N=${MEMSCALE_N:-1000000}

scripts/services.sh >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/bench.txt
load() { cut -d' ' -f1-3 /proc/loadavg; }

{
  echo "bench-meta date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "bench-meta go=$(go version | cut -d' ' -f3-)"
  echo "bench-meta cores=$(nproc)"
  echo "bench-meta flags=$COUNT passes of -benchtime $BENCHTIME -bench 'BenchmarkSessions/$BENCH'"
  echo "bench-meta load average (1, 5, 15 min) before=$(load)"
} >"$raw"

(cd bench && go test -c -o "$tmp/bench.test" .)
start=$(date +%s)
for pass in $(seq 1 "$COUNT"); do
  echo "bench.sh: pass $pass of $COUNT (benchtime $BENCHTIME)" >&2
  echo "pass: $pass" >>"$raw"
  (cd bench && "$tmp/bench.test" -test.run '^$' -test.bench "BenchmarkSessions/$BENCH" \
    -test.benchtime "$BENCHTIME" -test.count 1 -test.timeout 60m) | tee -a "$raw"
  # Per pass, so a burst of load shows in the report's warning even if it
  # is over by the end.
  echo "bench-meta load average (1, 5, 15 min) after pass $pass=$(load)" >>"$raw"
done
echo "bench-meta load average (1, 5, 15 min) after=$(load)" >>"$raw"
echo "bench-meta benchmark wall time=$(($(date +%s) - start)) s" >>"$raw"

memargs=()
if [ "$MEMSCALE_N" != 0 ]; then
  echo "bench.sh: cmd/memscale -n $MEMSCALE_N" >&2
  (cd bench && go run ./cmd/memscale -n "$MEMSCALE_N") | tee "$tmp/memscale.txt"
  memargs=(-memscale "$tmp/memscale.txt")
fi

# The stores' own benchmarks (Redis single node, PostgreSQL, SQLite), in
# passes too; STORES=0 skips them.
storeargs=()
if [ "${STORES:-1}" != 0 ]; then
  stores=$tmp/stores.txt
  for pass in $(seq 1 "$COUNT"); do
    for s in redis postgres sqlite; do
      echo "bench.sh: stores/$s, pass $pass of $COUNT" >&2
      pattern='^Benchmark(Load|Commit|CommitNew|Writes)$'
      # Redis: the single node (its Cluster rows need a Cluster running).
      [ "$s" = redis ] && pattern="$pattern/^single\$"
      (cd "stores/$s" && go test -run '^$' -bench "$pattern" \
        -benchtime "$BENCHTIME" -count 1 -timeout 30m .) | tee -a "$stores"
    done
  done
  cp "$stores" bench/RESULTS.stores.raw.txt
  storeargs=(-stores "$stores")
fi

cp "$raw" bench/RESULTS.raw.txt
(cd bench && go run ./cmd/results -bench "$raw" "${memargs[@]}" "${storeargs[@]}" -o RESULTS.md)
echo "bench.sh: wrote bench/RESULTS.md" >&2
