#!/usr/bin/env bash
# The sandbox page (GET /api/doc) in a real headless browser (infra/lib/browser.sh). Starts a
# seeded jsonapi-local on a free loopback port, runs browser-test.mjs against it (the page loads
# with no request leaving the server, lists every type, gets a token, a GET and a POST succeed,
# an error is shown as the server sent it), and stops the server.
#
#   infra/sandbox/browser-test.sh [JSONAPI_LOCAL]   # default: $CARGO_TARGET_DIR/debug/jsonapi-local
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../lib/servers.sh
source "$ROOT/infra/lib/servers.sh"
# shellcheck source=../lib/browser.sh
source "$ROOT/infra/lib/browser.sh"
browser_test sandbox "${1:-}"

start_server sandbox "$BINARY" --listen 127.0.0.1:0 --data "$TMP/data" --seed
dev_client sandbox
BASE="$STARTED_URL" CLIENT_ID="$CLIENT_ID" CLIENT_SECRET="$CLIENT_SECRET" \
    node "$ROOT/infra/sandbox/browser-test.mjs"
