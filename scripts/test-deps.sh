#!/usr/bin/env bash
# What `make test` needs beyond the venv: the npm packages of the TypeScript client check
# (from its lockfile) and Debian's Chromium for the browser tests. As root it installs
# Chromium (apt-get update first); otherwise it says the one command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in tests/typescript; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --silent
  fi
done
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "The browser tests need Debian's Chromium: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
