#!/usr/bin/env bash
# Throughput benchmark: the JSON:API engine (`jsonapi-local`) against `ceiling`,
# a bare hyper server on the same stack that answers every request with a fixed
# body. Both run on this machine at the same time and are measured interleaved
# (engine, ceiling, engine, ceiling, ...), so machine noise hits both alike and
# the ratio engine/ceiling is the meaningful figure, more than raw rps.
#
# Usage: infra/bench/run.sh
# Env:   BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default 16),
#        BENCH_WARMUP (s, default 1), BENCH_ROUNDS (default 2; the best is kept),
#        BENCH_GRANT (client_credentials, the default: the development client's
#        own token; password: the seeded user admin's token), BENCH_SCENARIOS (a
#        regular expression; only the scenarios whose name matches run).
# Prints progress (each loadgen JSON line) on stderr and the table on stdout.
set -euo pipefail

DURATION="${BENCH_DURATION:-5}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
WARMUP="${BENCH_WARMUP:-1}"
ROUNDS="${BENCH_ROUNDS:-2}"
ACCEPT='Accept: application/vnd.api+json'
CONTENT_TYPE='Content-Type: application/vnd.api+json'

# Scenarios, one per entry: "name|method|path|body template". Empty body = none.
# In a body, `{n}` is replaced by loadgen (unique per request) and `{run}` by
# this script (unique per loadgen invocation), so unique attributes such as
# `sku` never collide across requests, rounds or runs. Bodies get the JSON:API
# Content-Type header. Append entries here to add scenarios.
SCENARIOS=(
  'GET one|GET|/api/products/1|'
  'GET list page|GET|/api/products?page[size]=10|'
  'GET filtered sorted page + include|GET|/api/products?filter[category]=2&sort=-price&page[size]=10&include=category|'
  'POST create|POST|/api/products|{"data":{"type":"products","attributes":{"sku":"bench-{n}-{run}","name":"Bench {n}","price":"9.99"}}}'
)

# Engine backends measured: names in order, and their base URLs (filled in by
# start_backends). Every scenario runs against each backend.
BACKENDS=()
declare -A BACKEND_URL=()
# Their access tokens: every request carries one, as a real client's would.
declare -A BACKEND_TOKEN=()

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/jsonapi-bench.XXXXXX")"
RUN_ID="$(printf '%04x%04x' "$RANDOM" "$RANDOM")"
PIDS=()

# shellcheck source=../lib/servers.sh
source "$ROOT/infra/lib/servers.sh"

# Stop every server we started and remove the temp dir, however the script ends.
# INT/TERM are turned into exits so this runs.
cleanup() {
  stop_servers
  if [ -n "${DDB_PORT:-}" ]; then bash "$ROOT/infra/dynamodb/local.sh" stop "$DDB_PORT" >&2 || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts the engine backends. To add one (e.g. DynamoDB Local), start it the
# same way and append its name to BACKENDS with its URL in BACKEND_URL.
start_backends() {
  mkdir "$TMP/data-embedded"
  start_server embedded "$BIN/jsonapi-local" --listen 127.0.0.1:0 --data "$TMP/data-embedded" --seed
  BACKENDS+=(embedded)
  BACKEND_URL[embedded]=$STARTED_URL
  BACKEND_TOKEN[embedded]=$(token_for embedded "$STARTED_URL")
  if [ "${BENCH_DYNAMODB:-1}" = 1 ]; then
    bash "$ROOT/infra/dynamodb/local.sh" install
    DDB_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    bash "$ROOT/infra/dynamodb/local.sh" start "$DDB_PORT" >&2
    start_server dynamodb "$BIN/jsonapi-local" --listen 127.0.0.1:0 --store dynamodb \
      --endpoint "http://127.0.0.1:$DDB_PORT" --table "bench-$RUN_ID" --create-table --seed
    BACKENDS+=(dynamodb)
    BACKEND_URL[dynamodb]=$STARTED_URL
    BACKEND_TOKEN[dynamodb]=$(token_for dynamodb "$STARTED_URL")
  fi
}

# loadgen_json URL METHOD BODY TOKEN: one loadgen run, prints its JSON line.
loadgen_json() {
  local args=(--url "$1" --method "$2" --header "$ACCEPT" --header "Authorization: Bearer $4"
    --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP")
  if [[ -n $3 ]]; then args+=(--body-template "$3" --header "$CONTENT_TYPE"); fi
  "$BIN/loadgen" "${args[@]}"
}

# field KEY JSON: a numeric top-level field of a loadgen line.
field() {
  [[ $2 =~ \"$1\":([0-9.eE+-]+) ]] || { echo "no $1 in: $2" >&2; exit 1; }
  echo "${BASH_REMATCH[1]}"
}

# better A B: succeeds if rps of JSON line A beats that of B (B may be empty).
better() {
  [[ -z $2 ]] && return 0
  awk -v a="$(field rps "$1")" -v b="$(field rps "$2")" 'BEGIN { exit !(a > b) }'
}

echo "building release binaries..." >&2
(cd "$ROOT" && cargo build --release -p jsonapi-local -p jsonapi-bench)
# Ask cargo where it put them, so CARGO_TARGET_DIR and config are honoured.
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
BIN="$TARGET_DIR/release"

start_backends
start_server ceiling "$BIN/ceiling" --listen 127.0.0.1:0
CEILING_URL=$STARTED_URL

ROWS=()
TOTAL_ERRORS=0
for backend in "${BACKENDS[@]}"; do
  for scenario in "${SCENARIOS[@]}"; do
    IFS='|' read -r name method path body <<<"$scenario"
    [[ $name =~ ${BENCH_SCENARIOS:-.} ]] || continue
    best_engine='' best_ceiling=''
    for ((round = 1; round <= ROUNDS; round++)); do
      run_body=${body//\{run\}/$RUN_ID-$backend-$round}
      engine=$(loadgen_json "${BACKEND_URL[$backend]}$path" "$method" "$run_body" "${BACKEND_TOKEN[$backend]}")
      echo "$backend / $name / round $round / engine:  $engine" >&2
      # The ceiling gets the same bytes, token included (it ignores it).
      ceiling=$(loadgen_json "$CEILING_URL$path" "$method" "$run_body" "${BACKEND_TOKEN[$backend]}")
      echo "$backend / $name / round $round / ceiling: $ceiling" >&2
      TOTAL_ERRORS=$((TOTAL_ERRORS + $(field errors "$engine") + $(field errors "$ceiling")))
      if better "$engine" "$best_engine"; then best_engine=$engine; fi
      if better "$ceiling" "$best_ceiling"; then best_ceiling=$ceiling; fi
    done
    ROWS+=("$backend|$name|$(field rps "$best_engine")|$(field rps "$best_ceiling")|$(field p50_ms "$best_engine")|$(field p99_ms "$best_engine")|$(field errors "$best_engine")")
  done
done

echo
echo "jsonapi-local vs ceiling: ${DURATION}s x best of $ROUNDS, $CONNECTIONS connections, warmup ${WARMUP}s, $(nproc) cores, ${BENCH_GRANT:-client_credentials} token"
fmt='%-9s %-16s %11s %11s %6s %9s %9s %7s\n'
# shellcheck disable=SC2059 # the format is ours, shared by header and rows
printf "$fmt" backend scenario engine_rps ceil_rps ratio p50_ms p99_ms errors
for row in "${ROWS[@]}"; do
  IFS='|' read -r backend name erps crps p50 p99 errs <<<"$row"
  ratio=$(awk -v e="$erps" -v c="$crps" 'BEGIN { if (c > 0) printf "%.3f", e / c; else print "n/a" }')
  # shellcheck disable=SC2059
  printf "$fmt" "$backend" "$name" "$erps" "$crps" "$ratio" "$p50" "$p99" "$errs"
done
if ((TOTAL_ERRORS > 0)); then
  echo "WARNING: $TOTAL_ERRORS error responses/failures in total (see stderr); rps counts every response." >&2
fi
