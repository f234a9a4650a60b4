#!/usr/bin/env bash
# Keeps the go.mod files of the workspace's modules release-ready: no
# replace directive (go.work covers local work), every requirement listed,
# go.sum complete.
#
#   scripts/gomod.sh tidy    run `go mod tidy` in every module outside the
#                            workspace, against this checkout
#   scripts/gomod.sh check   build and vet every module outside the
#                            workspace (GOWORK=off) against this checkout,
#                            and fail if any go.mod or go.sum is not tidy
#
# Outside the workspace a module finds its sibling modules of this
# repository through replace directives added for the run only (tidy) or in
# a copy of the checkout (check), so what is checked is exactly what a user
# gets from the tagged modules: require lines, go directive, sums.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# modules prints "path dir" for every module of the workspace.
modules() { go list -m -f '{{.Path}} {{.Dir}}'; }

# replaces adds, in the module at $1 (a directory under $2, the tree whose
# modules to use), a replace for every sibling module.
replaces() {
  local dir=$1 tree=$2 args=() path mdir rel
  while read -r path mdir; do
    rel=$(realpath --relative-to="$dir" "$tree/${mdir#"$root"/}")
    case $rel in ../*) ;; *) rel=./$rel ;; esac
    args+=(-replace "$path=$rel")
  done < <(modules)
  (cd "$dir" && go mod edit "${args[@]}")
}

case "${1:-}" in
tidy)
  # A module's tidy go.mod depends on its siblings' go.mod files, so go
  # round until nothing changes.
  for pass in 1 2 3 4; do
    before=$(cat $(git ls-files -co --exclude-standard '*go.mod' '*go.sum') | md5sum)
    while read -r path dir; do
      replaces "$dir" "$root"
      (cd "$dir" && GOWORK=off go mod tidy) || { echo "gomod: tidy failed in ${dir#"$root"/}" >&2; exit 1; }
      (cd "$dir" && go mod edit $(go mod edit -json | sed -n 's/.*"Path": "\(github.com\/sessionkit\/sessionkit[^"]*\)".*/-dropreplace \1/p' | sort -u))
    done < <(modules)
    [ "$before" != "$(cat $(git ls-files -co --exclude-standard '*go.mod' '*go.sum') | md5sum)" ] || exit 0
  done
  echo "gomod: go.mod files still change after $pass passes" >&2; exit 1
  ;;
check)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tmp"
  fail=0
  while read -r path dir; do
    rel=${dir#"$root"/}
    [ "$rel" != "$dir" ] || rel=.
    if grep -q '^replace\|^	[^ ]* => ' "$dir/go.mod"; then
      echo "FAIL $rel: go.mod has a replace directive; go.work covers local work"; fail=1; continue
    fi
    replaces "$tmp/$rel" "$tmp"
    if ! (cd "$tmp/$rel" && GOWORK=off GOFLAGS=-mod=mod go mod tidy -diff >/dev/null 2>&1); then
      echo "FAIL $rel: go.mod or go.sum is not tidy (run scripts/gomod.sh tidy):"
      (cd "$tmp/$rel" && GOWORK=off go mod tidy -diff 2>&1 | head -20) || true
      fail=1; continue
    fi
    if (cd "$tmp/$rel" && GOWORK=off go build ./... && GOWORK=off go vet ./...); then
      echo "ok   $rel (go $(cd "$dir" && go mod edit -json | sed -n 's/^	"Go": "\(.*\)",$/\1/p'))"
    else
      echo "FAIL $rel: does not build or vet outside the workspace"; fail=1
    fi
  done < <(modules)
  exit $fail
  ;;
*)
  echo "usage: scripts/gomod.sh tidy|check" >&2; exit 2
  ;;
esac
