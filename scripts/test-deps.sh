#!/usr/bin/env bash
# What `make test` needs beyond the venv: Debian's Chromium for the browser tests.
# As root it installs it (apt-get update first); otherwise it says the one command to run.
set -euo pipefail
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
