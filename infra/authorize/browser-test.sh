#!/usr/bin/env bash
# The authorization code grant end to end in a real headless browser: Debian's chromium, driven
# by playwright-core from npm (which downloads no browser). Registers a public client whose
# redirect URI is a loopback catcher, starts a seeded jsonapi-local on a free loopback port, and
# runs browser-test.mjs against it: open the authorization request, sign in as the seeded admin,
# allow, follow the redirect to the catcher with the code, exchange it with the PKCE verifier,
# and use the token.
#
#   infra/authorize/browser-test.sh [JSONAPI_LOCAL]   # default: $CARGO_TARGET_DIR/debug/jsonapi-local
#
# Installs what is missing: chromium with apt-get (as root), playwright-core into
# $JSONAPI_BROWSER_HOME (default ~/.cache/jsonapi-browser, pinned; shared with the other
# browser tests).
set -euo pipefail

PLAYWRIGHT_VERSION=1.65.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HOME_DIR="${JSONAPI_BROWSER_HOME:-$HOME/.cache/jsonapi-browser}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
BINARY="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/jsonapi-local}"

die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

[ -x "$BINARY" ] || die "no jsonapi-local at $BINARY (cargo build -p jsonapi-local)"
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

TMP="$(mktemp -d "${TMPDIR:-/tmp}/jsonapi-authorize.XXXXXX")"
SERVER=""
stop() {
    if [ -n "$SERVER" ]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The catcher's port is chosen now: the client's redirect URI names it.
CATCHER_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REDIRECT_URI="http://127.0.0.1:$CATCHER_PORT/callback"
"$BINARY" client add --data "$TMP/data" --public --name "Browser test" \
    --grants authorization_code,refresh_token --redirect-uris "$REDIRECT_URI" >"$TMP/client.out" ||
    die "client add failed"
CLIENT_ID=$(sed -n 's/^client_id=//p' "$TMP/client.out")
[ -n "$CLIENT_ID" ] || die "client add printed no client_id"

"$BINARY" --listen 127.0.0.1:0 --data "$TMP/data" --seed >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER=$!
deadline=$((SECONDS + 60))
until BASE=$(sed -n 's/^listening on //p' "$TMP/server.out") && [ -n "$BASE" ]; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$TMP/server.err" >&2; die "jsonapi-local exited"; }
    ((SECONDS < deadline)) || die "jsonapi-local did not print its address within 60 s"
    sleep 0.1
done

BASE="$BASE" CLIENT_ID="$CLIENT_ID" REDIRECT_URI="$REDIRECT_URI" CATCHER_PORT="$CATCHER_PORT" \
    CHROMIUM="$CHROMIUM" PLAYWRIGHT_CORE="$PLAYWRIGHT/index.mjs" \
    node "$ROOT/infra/authorize/browser-test.mjs"
