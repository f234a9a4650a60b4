#!/usr/bin/env bash
# Makes sure a Chromium is installed for the real-browser end-to-end test
# (loadtest/browser), which drives headless Chromium over the DevTools
# protocol and fails, rather than skips, without it. Idempotent: if
# "chromium" or "chromium-browser" is on PATH (or $SESSIONKIT_CHROMIUM names
# an executable) it does nothing; otherwise it installs Debian's "chromium"
# package with apt-get, as root and non-interactively. Nothing is downloaded
# from anywhere but the distribution's package mirror.
set -euo pipefail

if [ -n "${SESSIONKIT_CHROMIUM:-}" ] && [ -x "$(command -v "$SESSIONKIT_CHROMIUM" || true)" ]; then
  exit 0
fi
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then
    exit 0
  fi
done

fail() {
  echo "install-chromium: $*" >&2
  echo "install-chromium: the browser test (loadtest/browser) needs Chromium; install Debian's 'chromium'" \
    "package (apt-get install -y chromium) or set SESSIONKIT_CHROMIUM to a Chromium or Chrome binary" >&2
  exit 1
}

[ "${EUID:-$(id -u)}" -eq 0 ] || fail "Chromium is not on PATH and this script is not running as root, so it cannot apt-get install it"
command -v apt-get >/dev/null 2>&1 || fail "Chromium is not on PATH and this machine has no apt-get"

echo "install-chromium: installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || fail "apt-get update failed"
apt-get install -y -qq --no-install-recommends chromium || fail "apt-get install chromium failed"

for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then
    echo "install-chromium: $("$name" --version 2>/dev/null || echo "$name") installed"
    exit 0
  fi
done
fail "apt-get installed the chromium package, but no chromium command is on PATH"
