#!/usr/bin/env bash
# The authorization code grant end to end in a real headless browser (infra/lib/browser.sh).
# Registers a public client whose redirect URI is a loopback catcher, starts a seeded
# jsonapi-local on a free loopback port, and runs browser-test.mjs against it: open the
# authorization request, sign in as the seeded admin, allow, follow the redirect to the catcher
# with the code, exchange it with the PKCE verifier, and use the token.
#
#   infra/authorize/browser-test.sh [JSONAPI_LOCAL]   # default: $CARGO_TARGET_DIR/debug/jsonapi-local
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../lib/servers.sh
source "$ROOT/infra/lib/servers.sh"
# shellcheck source=../lib/browser.sh
source "$ROOT/infra/lib/browser.sh"
browser_test authorize "${1:-}"

# The catcher's port is chosen now: the client's redirect URI names it.
CATCHER_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REDIRECT_URI="http://127.0.0.1:$CATCHER_PORT/callback"
"$BINARY" client add --data "$TMP/data" --public --name "Browser test" \
    --grants authorization_code,refresh_token --redirect-uris "$REDIRECT_URI" >"$TMP/client.out" ||
    die "client add failed"
CLIENT_ID=$(sed -n 's/^client_id=//p' "$TMP/client.out")
[ -n "$CLIENT_ID" ] || die "client add printed no client_id"

start_server authorize "$BINARY" --listen 127.0.0.1:0 --data "$TMP/data" --seed
BASE="$STARTED_URL" CLIENT_ID="$CLIENT_ID" REDIRECT_URI="$REDIRECT_URI" CATCHER_PORT="$CATCHER_PORT" \
    node "$ROOT/infra/authorize/browser-test.mjs"
