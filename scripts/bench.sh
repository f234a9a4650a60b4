#!/usr/bin/env bash
# Runs sessionkit's benchmarks and writes bench/RESULTS.md (and the raw
# go test output beside it, bench/RESULTS.raw.txt): every framework's bare
# handler, sessionkit and the established library, in memory and on Redis,
# plus the MemoryStore-at-scale program. Needs Redis on 127.0.0.1:6379
# (scripts/services.sh starts it when it is down).
#
# Environment (all optional):
#   COUNT=5          runs of every benchmark; medians are taken over them
#   BENCHTIME=250ms  go test -benchtime (e.g. 2000x for a quick check)
#   BENCH=.          regexp under BenchmarkSessions/ (e.g. 'nethttp/' or '.*/read/')
#   MEMSCALE_N=1000000  sessions for cmd/memscale; MEMSCALE_N=0 skips it
# A quick check: COUNT=1 BENCHTIME=2000x scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-250ms}
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
  echo "bench-meta flags=-count $COUNT -benchtime $BENCHTIME -bench 'BenchmarkSessions/$BENCH'"
  echo "bench-meta load average (1, 5, 15 min) before=$(load)"
} >"$raw"

echo "bench.sh: go test -bench (count $COUNT, benchtime $BENCHTIME)" >&2
start=$(date +%s)
(cd bench && go test -run '^$' -bench "BenchmarkSessions/$BENCH" -benchtime "$BENCHTIME" \
  -count "$COUNT" -timeout 60m .) | tee -a "$raw"
echo "bench-meta load average (1, 5, 15 min) after=$(load)" >>"$raw"
echo "bench-meta benchmark wall time=$(($(date +%s) - start)) s" >>"$raw"

memargs=()
if [ "$MEMSCALE_N" != 0 ]; then
  echo "bench.sh: cmd/memscale -n $MEMSCALE_N" >&2
  (cd bench && go run ./cmd/memscale -n "$MEMSCALE_N") | tee "$tmp/memscale.txt"
  memargs=(-memscale "$tmp/memscale.txt")
fi

cp "$raw" bench/RESULTS.raw.txt
(cd bench && go run ./cmd/results -bench "$raw" "${memargs[@]}" -o RESULTS.md)
echo "bench.sh: wrote bench/RESULTS.md" >&2
