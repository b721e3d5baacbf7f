#!/usr/bin/env bash
# Lambda function binaries: size and cold start, next to a minimal lambda_http function.
#
# Builds the release binaries (the workspace's release profile: opt-level z, fat LTO, one
# codegen unit, as `sam build` makes them) of the functions named in BENCH_FUNCTIONS and of
# infra/bench-hello (the smallest lambda_http function: the floor), then starts each several
# times against a fake of the Lambda Runtime API on loopback
# (shared/jsonapi-lambda/examples/cold_start.rs), with DynamoDB Local behind the functions,
# and reports the medians of:
#   init ms    process start -> first request for an invocation (Lambda's "Init Duration":
#              exec, runtime, configuration, DynamoDB client and its first connection)
#   answer ms  process start -> first answered invocation (init + one request of its route)
# and one DynamoDB round trip: the median of 20 GetItems of the product the get event reads,
# sent by the measuring process on a warm connection to the same DynamoDB Local, in the same
# run (after 50 that warm DynamoDB Local up), the SDK's signing and parsing included.
# This is the process's own start-up, not a Lambda cold start (no sandbox, no code download,
# no network beyond loopback).
#
# Usage: infra/bench/lambda.sh
# Env:   BENCH_FUNCTIONS (space-separated folder names under functions/, e.g. "get create";
#        default all), BENCH_RUNS (default 5), JSONAPI_DYNAMODB_ENDPOINT (else a DynamoDB
#        Local is started on a free port and stopped at the end).
# Targets (issue 14): each function below 10 MB; its answer at most 2x the hello function's
# plus one DynamoDB round trip. Exits 1 when one is missed. Binaries are for this machine's
# architecture (Lambda runs arm64).
set -euo pipefail

RUNS="${BENCH_RUNS:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
FUNCTIONS=()
if [ -n "${BENCH_FUNCTIONS:-}" ]; then
  for name in $BENCH_FUNCTIONS; do
    if [ ! -d "functions/$name" ]; then
      echo "BENCH_FUNCTIONS: no function \"$name\" (the folders of functions/)" >&2
      exit 2
    fi
    FUNCTIONS+=("fn-$name")
  done
else
  for dir in functions/*/; do FUNCTIONS+=("fn-$(basename "$dir")"); done
fi

STARTED_PORT=""
cleanup() {
  if [ -n "$STARTED_PORT" ]; then infra/dynamodb/local.sh stop "$STARTED_PORT" >/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${JSONAPI_DYNAMODB_ENDPOINT:-}" ]; then
  STARTED_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  infra/dynamodb/local.sh start "$STARTED_PORT" >&2
  export JSONAPI_DYNAMODB_ENDPOINT="http://127.0.0.1:$STARTED_PORT"
fi

echo "building release binaries (${#FUNCTIONS[@]} functions + bench-hello)..." >&2
PACKAGES=()
for p in bench-hello "${FUNCTIONS[@]}"; do PACKAGES+=(-p "$p"); done
cargo build --release --quiet "${PACKAGES[@]}"
# The measuring tool is optimised for speed (the local server's profile), so that the fake
# Runtime API and its own DynamoDB reads add as little as they can to what they time.
cargo build --profile local --quiet -p jsonapi-lambda --example cold_start

BIN_DIR="$TARGET_DIR/release"
ARGS=()
for p in bench-hello "${FUNCTIONS[@]}"; do ARGS+=("$p=$BIN_DIR/$p"); done
echo "measuring cold starts ($RUNS runs each)..." >&2
RESULTS="$("$TARGET_DIR/local/examples/cold_start" --runs "$RUNS" "${ARGS[@]}")"

ROUND_TRIP_MS="$(awk -F'\t' '$1 == "round-trip" { print $2 }' <<<"$RESULTS")"
HELLO_MS="$(awk -F'\t' '$1 == "bench-hello" { print $3 }' <<<"$RESULTS")"
TARGET_MS="$(awk -v h="$HELLO_MS" -v r="$ROUND_TRIP_MS" 'BEGIN { printf "%.1f", 2 * h + r }')"
echo "one DynamoDB round trip (GetItem, warm connection): $ROUND_TRIP_MS ms;" \
  "target: answer <= 2 x $HELLO_MS + $ROUND_TRIP_MS = $TARGET_MS ms"
FAILED=0
printf '%-22s %8s %8s %10s %9s  %s\n' binary "size MB" "init ms" "answer ms" "x hello" verdict
while IFS=$'\t' read -r name init answer; do
  [ "$name" = round-trip ] && continue
  bytes="$(stat -c %s "$BIN_DIR/$name")"
  size="$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1000000 }')"
  ratio="$(awk -v a="$answer" -v h="$HELLO_MS" 'BEGIN { printf "%.1f", a / h }')"
  verdict=()
  if [ "$name" = bench-hello ]; then
    verdict=("(baseline)")
  else
    if awk -v s="$size" 'BEGIN { exit !(s >= 10) }'; then verdict+=("over 10 MB"); fi
    if awk -v a="$answer" -v t="$TARGET_MS" 'BEGIN { exit !(a > t) }'; then
      verdict+=("over 2x hello + round trip")
    fi
    if [ "${#verdict[@]}" -eq 0 ]; then verdict=("ok"); else FAILED=1; fi
  fi
  printf '%-22s %8s %8s %10s %9s  %s\n' "$name" "$size" "$init" "$answer" "$ratio" "$(IFS=,; echo "${verdict[*]}")"
done <<<"$RESULTS"
exit "$FAILED"
