#!/usr/bin/env bash
# What `make test` needs beyond the venv: node bullmq from npm (tests/node, from its
# lockfile) for the BullMQ parity tests; Debian's Chromium for the browser tests.
# As root it installs Chromium (apt-get update first); otherwise it says the one command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d tests/node/node_modules/bullmq ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
  if ! command -v npm >/dev/null; then
    echo "The BullMQ parity tests need Node.js 20 and npm (node bullmq from npm)" >&2
    exit 1
  fi
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
fi
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
