#!/usr/bin/env bash
# The project's test command: gofmt, go vet and go test -race over every
# module of the workspace, against real Redis (single node and a 3-master
# Cluster this script starts and stops) and real PostgreSQL. Exits non-zero
# on any failure and prints each module's result.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/services.sh || exit 1
scripts/install-chromium.sh || exit 1 # for loadtest/browser, which fails without a browser

cleanup=()
on_exit() { for c in "${cleanup[@]}"; do eval "$c"; done; }
trap on_exit EXIT

if [ -x scripts/redis-cluster.sh ]; then
  eval "$(scripts/redis-cluster.sh start)" || { echo "test.sh: could not start the Redis Cluster" >&2; exit 1; }
  cleanup+=("scripts/redis-cluster.sh stop")
fi

fail=0
# Every module must build and vet outside the workspace, as users get it.
if scripts/gomod.sh check; then
  echo "ok   modules build outside the workspace"
else
  echo "FAIL scripts/gomod.sh check"; fail=1
fi
unformatted=$(gofmt -l $(git ls-files -co --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  echo "FAIL gofmt: these files need gofmt -w:"; echo "$unformatted"; fail=1
else
  echo "ok   gofmt"
fi

declare -a results
for dir in $(go list -m -f '{{.Dir}}'); do
  mod=${dir#"$root"/}
  echo "=== $mod"
  if ! (cd "$dir" && go vet ./...); then
    results+=("FAIL vet  $mod"); fail=1; continue
  fi
  if (cd "$dir" && go test -race -count=1 -timeout 8m ./...); then
    results+=("ok   $mod")
  else
    results+=("FAIL $mod"); fail=1
  fi
done

echo
echo "== Summary"
printf '%s\n' "${results[@]}"
passed=$(printf '%s\n' "${results[@]}" | grep -c '^ok' || true)
failed=$(printf '%s\n' "${results[@]}" | grep -c '^FAIL' || true)
echo "modules: $passed passed, $failed failed"
exit $fail
