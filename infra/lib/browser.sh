# Shared by the headless-browser tests (the sandbox page, the authorization code grant): one
# chromium (Debian's) and one playwright-core (from npm, which downloads no browser) for both,
# and their set-up. Source it after servers.sh; the tests' JavaScript shares
# infra/lib/browser.mjs.

PLAYWRIGHT_VERSION=1.65.1

# browser_tooling: installs what is missing (chromium with apt-get, as root; playwright-core,
# pinned, into $JSONAPI_BROWSER_HOME, default ~/.cache/jsonapi-browser) and sets CHROMIUM and
# PLAYWRIGHT_CORE (the module's entry point) for the test scripts.
browser_tooling() {
  local home="${JSONAPI_BROWSER_HOME:-$HOME/.cache/jsonapi-browser}" installed
  CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
  if [ ! -x "$CHROMIUM" ]; then
    echo "installing chromium (Debian)" >&2
    [ "$(id -u)" = 0 ] || die "chromium is missing and only root can apt-get install it"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
      die "apt-get install chromium failed"
  fi
  installed=$(node -e 'process.stdout.write(require(process.argv[1]).version)' \
    "$home/node_modules/playwright-core/package.json" 2>/dev/null || true)
  if [ "$installed" != "$PLAYWRIGHT_VERSION" ]; then
    mkdir -p "$home"
    [ -f "$home/package.json" ] || echo '{"private": true}' >"$home/package.json"
    npm install --prefix "$home" --no-audit --no-fund --no-save --silent \
      "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null || die "npm install playwright-core failed"
  fi
  PLAYWRIGHT_CORE="$home/node_modules/playwright-core/index.mjs"
  export CHROMIUM PLAYWRIGHT_CORE
}

# browser_test NAME [JSONAPI_LOCAL]: the set-up of a browser test: BINARY (the jsonapi-local to
# drive, default the debug build), the browser tooling, a scratch folder TMP
# (jsonapi-NAME.XXXXXX) and the servers' PIDS, both cleaned up when the script exits.
browser_test() {
  BINARY=$(local_binary "${2:-}")
  browser_tooling
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/jsonapi-$1.XXXXXX")"
  PIDS=()
  trap 'stop_servers; rm -rf "$TMP"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
