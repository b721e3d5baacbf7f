#!/usr/bin/env bash
# The sandbox page (GET /api/doc) in a real headless browser: Debian's chromium, driven by
# playwright-core from npm (which downloads no browser). Starts a seeded jsonapi-local on a
# free loopback port, runs browser-test.mjs against it (the page loads with no request
# leaving the server, lists every type, gets a token, a GET and a POST succeed, an error is
# shown as the server sent it), and stops the server.
#
#   infra/sandbox/browser-test.sh [JSONAPI_LOCAL]   # default: $CARGO_TARGET_DIR/debug/jsonapi-local
#
# Installs what is missing: chromium with apt-get (as root), playwright-core into
# $JSONAPI_BROWSER_HOME (default ~/.cache/jsonapi-browser), pinned.
set -euo pipefail

PLAYWRIGHT_VERSION=1.65.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HOME_DIR="${JSONAPI_BROWSER_HOME:-$HOME/.cache/jsonapi-browser}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

# shellcheck source=../lib/servers.sh
source "$ROOT/infra/lib/servers.sh"
BINARY=$(local_binary "${1:-}")
if [ ! -x "$CHROMIUM" ]; then
    echo "installing chromium (Debian)" >&2
    [ "$(id -u)" = 0 ] || die "chromium is missing and only root can apt-get install it"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
        die "apt-get install chromium failed"
fi
PLAYWRIGHT="$HOME_DIR/node_modules/playwright-core"
installed=$(node -e 'process.stdout.write(require(process.argv[1]).version)' "$PLAYWRIGHT/package.json" 2>/dev/null || true)
if [ "$installed" != "$PLAYWRIGHT_VERSION" ]; then
    mkdir -p "$HOME_DIR"
    [ -f "$HOME_DIR/package.json" ] || echo '{"private": true}' >"$HOME_DIR/package.json"
    npm install --prefix "$HOME_DIR" --no-audit --no-fund --no-save --silent \
        "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null || die "npm install playwright-core failed"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/jsonapi-sandbox.XXXXXX")"
PIDS=()
trap 'stop_servers; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server sandbox "$BINARY" --listen 127.0.0.1:0 --data "$TMP/data" --seed
dev_client sandbox
BASE="$STARTED_URL" CLIENT_ID="$CLIENT_ID" CLIENT_SECRET="$CLIENT_SECRET" CHROMIUM="$CHROMIUM" \
    PLAYWRIGHT_CORE="$PLAYWRIGHT/index.mjs" node "$ROOT/infra/sandbox/browser-test.mjs"
