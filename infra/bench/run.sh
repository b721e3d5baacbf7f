#!/usr/bin/env bash
# Throughput benchmark: the JSON:API engine (`jsonapi-local`) against `ceiling`,
# a bare hyper server on the same stack that answers every request with a fixed
# body. Both run on this machine at the same time and are measured interleaved
# (engine, ceiling, engine, ceiling, ...), so machine noise hits both alike and
# the ratio engine/ceiling is the meaningful figure, more than raw rps.
#
# Each backend's store gets the seed data and 1,000 more products in 10 categories
# (`dataset load`, straight on the store), then, for the large scenarios, up to
# 100,000. Beside each row: the engine's user-space instructions per request
# (`perf stat -e instructions:u` on the server over the measured window, divided by
# the requests answered in it; stable where req/s is not) and the store round trips
# per request (`dataset trips`: the same request run in process on a store that
# counts its calls, while the server is stopped).
#
# Usage: infra/bench/run.sh [--no-dynamodb]
# Env:   BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default 16),
#        BENCH_WARMUP (s, default 1), BENCH_ROUNDS (default 2; the best is kept),
#        BENCH_GRANT (client_credentials, the default: the development client's
#        own token; password: the seeded user admin's token), BENCH_SCENARIOS (a
#        regular expression; only the scenarios whose name matches run),
#        BENCH_SMALL (products loaded first, default 1000), BENCH_LARGE (the total
#        for the large scenarios, default 100000; 0 skips them), BENCH_DYNAMODB_LARGE
#        (1: the large scenarios on DynamoDB Local too; loading 100,000 products
#        there takes many minutes), BENCH_DYNAMODB (0: as --no-dynamodb), BENCH_BIN (a
#        folder holding jsonapi-local, ceiling, loadgen and dataset already built, e.g. an
#        earlier commit's, to compare two builds in turn: nothing is built).
# Prints progress (each loadgen JSON line) on stderr and the table on stdout.
set -euo pipefail

DURATION="${BENCH_DURATION:-5}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
WARMUP="${BENCH_WARMUP:-1}"
ROUNDS="${BENCH_ROUNDS:-2}"
ACCEPT='Accept: application/vnd.api+json'
CONTENT_TYPE='Content-Type: application/vnd.api+json'

SMALL="${BENCH_SMALL:-1000}"
LARGE="${BENCH_LARGE:-100000}"
for arg in "$@"; do
  case $arg in
    --no-dynamodb) BENCH_DYNAMODB=0 ;;
    *) echo "usage: $0 [--no-dynamodb]" >&2; exit 2 ;;
  esac
done

# The routes measured (BENCH_ROUTES, BENCH_LARGE_ROUTES, BENCH_KEYS): scenarios.sh.
# shellcheck source=scenarios.sh
source "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"

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

# The store of the backend being measured: jsonapi-local's arguments and dataset's.
STORE_ARGS=()
DATASET_ARGS=()
# The running engine: its URL, process id, and the development client's token.
ENGINE_URL='' ENGINE_PID='' TOKEN=''

# use_backend NAME: points STORE_ARGS and DATASET_ARGS at a new store of that backend.
use_backend() {
  if [[ $1 == embedded ]]; then
    mkdir "$TMP/data-embedded"
    STORE_ARGS=(--data "$TMP/data-embedded")
    DATASET_ARGS=(--data "$TMP/data-embedded")
  else
    bash "$ROOT/infra/dynamodb/local.sh" install >&2
    DDB_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    bash "$ROOT/infra/dynamodb/local.sh" start "$DDB_PORT" >&2
    STORE_ARGS=(--store dynamodb --endpoint "http://127.0.0.1:$DDB_PORT" --table "bench-$RUN_ID")
    DATASET_ARGS=(--endpoint "http://127.0.0.1:$DDB_PORT" --table "bench-$RUN_ID")
  fi
}

# start_engine NAME [ARGS...]: starts jsonapi-local on the backend's store.
start_engine() {
  local name=$1
  shift
  start_server "$name" "$BIN/jsonapi-local" --listen 127.0.0.1:0 "${STORE_ARGS[@]}" "$@"
  ENGINE_URL=$STARTED_URL
  ENGINE_PID=${PIDS[-1]}
}

# stop_engine: stops it and waits, so that the store is free for dataset.
stop_engine() {
  kill "$ENGINE_PID"
  wait "$ENGINE_PID" 2>/dev/null || true
}

# loadgen_json URL METHOD BODY: one loadgen run, prints its JSON line.
loadgen_json() {
  local args=(--url "$1" --method "$2" --header "$ACCEPT" --header "Authorization: Bearer $TOKEN"
    --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" --keys "$BENCH_KEYS")
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

if [[ -n ${BENCH_BIN:-} ]]; then
  BIN=$(cd "$BENCH_BIN" && pwd)
  for tool in jsonapi-local ceiling loadgen dataset; do
    [[ -x $BIN/$tool ]] || { echo "BENCH_BIN: no $tool in $BIN" >&2; exit 2; }
  done
else
  echo "building release binaries..." >&2
  # Only the binaries used: the planner (a tool of its own) would double the link time.
  (cd "$ROOT" && cargo build --profile local -p jsonapi-local -p jsonapi-bench \
    --bin jsonapi-local --bin ceiling --bin loadgen --bin dataset)
  # Ask cargo where it put them, so CARGO_TARGET_DIR and config are honoured.
  TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
  BIN="$TARGET_DIR/local"
fi

start_server ceiling "$BIN/ceiling" --listen 127.0.0.1:0
CEILING_URL=$STARTED_URL

ROWS=()
TOTAL_ERRORS=0

# measure BACKEND LABEL SCENARIO...: round trips per request (in process, the engine
# stopped), then each scenario over HTTP, interleaved with the ceiling.
measure() {
  local backend=$1 label=$2 scenario name method path body round engine ceiling best_engine best_ceiling
  shift 2
  local wanted=()
  for scenario in "$@"; do
    IFS='|' read -r name _ <<<"$scenario"
    [[ $name =~ ${BENCH_SCENARIOS:-.} ]] && wanted+=("$scenario")
  done
  ((${#wanted[@]})) || return 0
  declare -A trips=()
  while IFS=$'\t' read -r name per; do trips[$name]=$per; done \
    < <("$BIN/dataset" "${DATASET_ARGS[@]}" trips --keys "$BENCH_KEYS" "${wanted[@]}")
  start_engine "$backend"
  for scenario in "${wanted[@]}"; do
    IFS='|' read -r name method path body <<<"$scenario"
    best_engine='' best_ceiling=''
    for ((round = 1; round <= ROUNDS; round++)); do
      run_body=${body//\{run\}/$RUN_ID-$backend-$label-$round}
      # The engine's instructions over the measured window only (after the warm-up).
      (sleep "$WARMUP" && exec perf stat -x, -e instructions:u -p "$ENGINE_PID" -o "$TMP/perf" -- sleep "$DURATION") &
      engine=$(loadgen_json "$ENGINE_URL$path" "$method" "$run_body")
      wait $!
      # A machine without hardware counters (many VMs) says `<not supported>`: no figure.
      instructions=$(awk -F, '/instructions/ && $1 ~ /^[0-9]+$/ { print $1 }' "$TMP/perf" 2>/dev/null || true)
      if [[ -n $instructions ]]; then engine="${engine%\}},\"instructions\":$instructions}"; fi
      echo "$backend / $label / $name / round $round / engine:  $engine" >&2
      # The ceiling gets the same bytes, token included (it ignores it).
      ceiling=$(loadgen_json "$CEILING_URL$path" "$method" "$run_body")
      echo "$backend / $label / $name / round $round / ceiling: $ceiling" >&2
      TOTAL_ERRORS=$((TOTAL_ERRORS + $(field errors "$engine") + $(field errors "$ceiling")))
      if better "$engine" "$best_engine"; then best_engine=$engine; fi
      if better "$ceiling" "$best_ceiling"; then best_ceiling=$ceiling; fi
    done
    per_request=n/a
    if [[ $best_engine =~ \"instructions\":([0-9]+) ]]; then
      per_request=$(awk -v i="${BASH_REMATCH[1]}" -v n="$(field requests "$best_engine")" \
        'BEGIN { if (n > 0) printf "%.0f", i / n; else print "n/a" }')
    fi
    ROWS+=("$backend|$name ($label)|$(field rps "$best_engine")|$(field rps "$best_ceiling")|$(field p50_ms "$best_engine")|$(field p99_ms "$best_engine")|$per_request|${trips[$name]:-?}|$(field errors "$best_engine")")
  done
  stop_engine
}

BACKENDS=(embedded)
if [[ ${BENCH_DYNAMODB:-1} == 1 ]]; then BACKENDS+=(dynamodb); fi
for backend in "${BACKENDS[@]}"; do
  use_backend "$backend"
  # The seed data and the development client, whose token every request carries (the
  # signing key is kept in the store: the token stays good across restarts).
  seed=(--seed)
  if [[ $backend == dynamodb ]]; then seed+=(--create-table); fi
  start_engine "$backend-seed" "${seed[@]}"
  TOKEN=$(token_for "$backend-seed" "$ENGINE_URL")
  stop_engine
  "$BIN/dataset" "${DATASET_ARGS[@]}" load --to "$SMALL"
  measure "$backend" "$SMALL" "${BENCH_ROUTES[@]}"
  if ((LARGE > SMALL)) && [[ $backend == embedded || ${BENCH_DYNAMODB_LARGE:-0} == 1 ]]; then
    "$BIN/dataset" "${DATASET_ARGS[@]}" load --from "$SMALL" --to "$LARGE"
    measure "$backend" "$LARGE" "${BENCH_LARGE_ROUTES[@]}"
  fi
done

echo
echo "jsonapi-local vs ceiling: ${DURATION}s x best of $ROUNDS, $CONNECTIONS connections, warmup ${WARMUP}s, $(nproc) cores, ${BENCH_GRANT:-client_credentials} token"
fmt='%-9s %-26s %10s %10s %6s %7s %7s %9s %6s %6s\n'
# shellcheck disable=SC2059 # the format is ours, shared by header and rows
printf "$fmt" backend "scenario (products)" engine_rps ceil_rps ratio p50_ms p99_ms instr/req trips errors
for row in "${ROWS[@]}"; do
  IFS='|' read -r backend name erps crps p50 p99 instr trips errs <<<"$row"
  ratio=$(awk -v e="$erps" -v c="$crps" 'BEGIN { if (c > 0) printf "%.3f", e / c; else print "n/a" }')
  # shellcheck disable=SC2059
  printf "$fmt" "$backend" "$name" "$erps" "$crps" "$ratio" "$p50" "$p99" "$instr" "$trips" "$errs"
done
if ((TOTAL_ERRORS > 0)); then
  echo "WARNING: $TOTAL_ERRORS error responses/failures in total (see stderr); rps counts every response." >&2
fi
