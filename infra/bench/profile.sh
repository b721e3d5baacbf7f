#!/usr/bin/env bash
# Instructions per request of each benchmark route, counted by callgrind (valgrind): exact and
# stable on a loaded machine or a VM without hardware counters, where `perf stat` cannot count.
#
# Runs the `local` build of jsonapi-local on the embedded store (the seed data and 1,000 more
# products in 10 categories, as run.sh) under callgrind with instrumentation off, and for each
# route: a warm-up with instrumentation off, then BENCH_PROFILE_SECONDS of load from 2
# connections with it on, and a dump. Prints `route<TAB>instructions/request<TAB>requests` and
# leaves one callgrind file per route in BENCH_PROFILE_OUT (default: a temp folder, printed) for
# `callgrind_annotate --inclusive=yes FILE` (the top costs).
#
# Usage: infra/bench/profile.sh
# Env:   BENCH_SCENARIOS (a regular expression on the route names), BENCH_PROFILE_SECONDS
#        (default 4), BENCH_PROFILE_OUT.
set -euo pipefail

SECONDS_ON="${BENCH_PROFILE_SECONDS:-4}"
ACCEPT='Accept: application/vnd.api+json'
CONTENT_TYPE='Content-Type: application/vnd.api+json'
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/jsonapi-profile.XXXXXX")"
OUT="${BENCH_PROFILE_OUT:-$TMP/callgrind}"
mkdir -p "$OUT"
PIDS=()
# shellcheck source=../lib/servers.sh
source "$ROOT/infra/lib/servers.sh"
# shellcheck source=scenarios.sh
source "$ROOT/infra/bench/scenarios.sh"

cleanup() {
  stop_servers
  # The callgrind files stay when asked for a folder of their own.
  if [[ -n ${BENCH_PROFILE_OUT:-} ]]; then rm -rf "$TMP"; else rm -rf "$TMP/data"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "building the local profile..." >&2
(cd "$ROOT" && cargo build --quiet --profile local -p jsonapi-local -p jsonapi-bench \
  --bin jsonapi-local --bin loadgen --bin dataset)
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
BIN="$TARGET_DIR/local"

mkdir "$TMP/data"
start_server seed "$BIN/jsonapi-local" --listen 127.0.0.1:0 --data "$TMP/data" --seed
TOKEN=$(token_for seed "$STARTED_URL")
stop_servers
"$BIN/dataset" --data "$TMP/data" load --to 1000

start_server profiled valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$OUT/callgrind.out" "$BIN/jsonapi-local" --listen 127.0.0.1:0 --data "$TMP/data"
URL=$STARTED_URL
PID=${PIDS[-1]}

# load SECONDS METHOD PATH BODY: loadgen's JSON line, 2 connections, no warm-up of its own.
load() {
  local args=(--url "$URL$3" --method "$2" --header "$ACCEPT" --header "Authorization: Bearer $TOKEN"
    --connections 2 --duration "$1" --warmup 0 --keys "$BENCH_KEYS")
  if [[ -n $4 ]]; then args+=(--body-template "$4" --header "$CONTENT_TYPE"); fi
  "$BIN/loadgen" "${args[@]}"
}

printf 'route\tinstructions/request\trequests\n'
for scenario in "${BENCH_ROUTES[@]}"; do
  IFS='|' read -r name method path body <<<"$scenario"
  [[ $name =~ ${BENCH_SCENARIOS:-.} ]] || continue
  body=${body//\{run\}/profile-$RANDOM$RANDOM}
  load 2 "$method" "$path" "${body//\{n\}/w{n}}" >/dev/null
  callgrind_control --instr=on "$PID" >/dev/null
  line=$(load "$SECONDS_ON" "$method" "$path" "$body")
  callgrind_control --dump="$name" "$PID" >/dev/null
  callgrind_control --instr=off "$PID" >/dev/null
  [[ $line =~ \"requests\":([0-9]+) ]] || die "no request count in: $line"
  requests=${BASH_REMATCH[1]}
  # The newest dump is this route's; its `totals:` line counts every instruction executed.
  file=$(ls -t "$OUT"/callgrind.out.* | head -1)
  total=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$file")
  mv "$file" "$OUT/${name// /-}.callgrind"
  printf '%s\t%s\t%s\n' "$name" "$(awk -v t="$total" -v n="$requests" 'BEGIN { printf "%.0f", t / n }')" "$requests"
done
echo "callgrind files: $OUT" >&2
