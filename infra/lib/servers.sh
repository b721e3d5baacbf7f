# Shared by the scripts that drive a real jsonapi-local over HTTP (benchmarks, the browser
# tests, fuzzing). Source it; before starting servers, set TMP (a scratch folder) and
# PIDS=() (the servers started, for the caller's cleanup to stop).

# die MESSAGE: prints it, named after the script, and exits 1.
die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

# local_binary [PATH]: prints PATH, or the debug build of jsonapi-local in the cargo target
# folder, and exits when there is no such executable.
local_binary() {
  local root binary
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  binary="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/jsonapi-local}"
  [ -x "$binary" ] || die "no jsonapi-local at $binary (cargo build -p jsonapi-local)"
  echo "$binary"
}

# start_server NAME CMD...: starts CMD in the background and waits for its
# stdout line `listening on http://ADDR`; sets STARTED_URL to http://ADDR.
start_server() {
  local name=$1 line pid deadline=$((SECONDS + 60))
  shift
  # Create the log first: the poll below may run before the child opens it.
  : >"$TMP/$name.out"
  "$@" >>"$TMP/$name.out" 2>"$TMP/$name.err" &
  pid=$!
  PIDS+=("$pid")
  while :; do
    # `read` skips a final line without its newline, so a half-written line
    # is never taken for the address.
    while IFS= read -r line; do
      if [[ $line == 'listening on http://'* ]]; then
        STARTED_URL=${line#listening on }
        echo "$name: $STARTED_URL" >&2
        return 0
      fi
    done <"$TMP/$name.out"
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before listening; its stderr:" >&2
      cat "$TMP/$name.err" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "$name did not print its address within 60 s" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# dev_client NAME: sets CLIENT_ID and CLIENT_SECRET to the development client
# that server NAME printed when it made it (started with --seed).
dev_client() {
  local out="$TMP/$1.out" deadline=$((SECONDS + 30))
  CLIENT_ID='' CLIENT_SECRET=''
  while [[ -z $CLIENT_SECRET ]]; do
    CLIENT_ID=$(sed -n 's/.*client_id=\([^ ]*\) client_secret=.*/\1/p' "$out")
    CLIENT_SECRET=$(sed -n 's/.*client_secret=\([^ ]*\).*/\1/p' "$out")
    if [[ -z $CLIENT_SECRET ]]; then
      if ((SECONDS >= deadline)); then
        echo "$1 printed no development client" >&2
        exit 1
      fi
      sleep 0.1
    fi
  done
}

# token_for NAME URL: an access token for the development client that server NAME printed
# when it made it: its own (client credentials), or with BENCH_GRANT=password the seeded user
# admin's, signed in through that client.
token_for() {
  dev_client "$1"
  python3 - "$2/oauth2-token" "$CLIENT_ID" "$CLIENT_SECRET" "${BENCH_GRANT:-client_credentials}" <<'PY'
import json, sys, urllib.request
url, client_id, secret, grant = sys.argv[1:]
body = {"grant_type": grant, "client_id": client_id, "client_secret": secret}
if grant == "password":
    body.update(username="admin", password="change-me")
request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["access_token"])
PY
}

# stop_servers: stops every server started here (politely, then for sure).
stop_servers() {
  local pid _
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
