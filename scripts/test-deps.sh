#!/usr/bin/env bash
# What `make test` needs beyond the venv: Debian's Chromium for the browser tests, and the
# npm packages of the React package (clients/react), the TypeScript client check
# (tests/typescript) and node bullmq for the BullMQ parity tests (tests/node), each
# installed with `npm ci` from its lockfile.
# As root it installs Chromium (apt-get update first); otherwise it says the one command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The browser tests need Debian's Chromium: run 'sudo apt-get install -y chromium'" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

# Node.js 20.19+ (Vite 8) with npm; the machine's, or Debian's when there is none.
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The React package's tests need Node.js 20.19+ and npm: run 'sudo apt-get install -y nodejs npm'" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "The React package needs Node.js 20.19 or newer; this is $(node --version)" >&2
  exit 1
fi

# npm ci only when a lockfile changed since the last install (it wipes node_modules).
for package in clients/react tests/typescript tests/node; do
  stamp=$package/node_modules/.ci-stamp
  if [ ! -f "$stamp" ] || [ "$package/package-lock.json" -nt "$stamp" ]; then
    npm ci --prefix "$package" --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
done
