#!/usr/bin/env bash
# Lambda function binaries: size and cold start, next to a minimal lambda_http function.
#
# Builds the release binaries of every function in functions/ and of infra/bench-hello (the
# smallest lambda_http function: the floor), then measures, for each, the time from starting
# the process to the first answered invocation, against a fake of the Lambda Runtime API on
# loopback (shared/jsonapi-lambda/examples/cold_start.rs) with DynamoDB Local behind the
# functions. This is the process's own start-up (exec, runtime, configuration, first DynamoDB
# connection, one request), not a Lambda cold start (no sandbox, no download, no network).
#
# Usage: infra/bench/lambda.sh
# Env:   BENCH_RUNS (default 5; the median is reported), JSONAPI_DYNAMODB_ENDPOINT (else a
#        DynamoDB Local is started on a free port and stopped at the end).
# Targets: each function below 10 MB, and starting within 2x the hello function's time.
# Binaries are for this machine's architecture (Lambda runs arm64; see infra/sam/README.md).
set -euo pipefail

RUNS="${BENCH_RUNS:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
FUNCTIONS=()
for dir in functions/*/; do FUNCTIONS+=("fn-$(basename "$dir")"); done

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
cargo build --release --quiet -p jsonapi-lambda --example cold_start

ARGS=()
for p in bench-hello "${FUNCTIONS[@]}"; do ARGS+=("$p=$TARGET_DIR/release/$p"); done
echo "measuring cold starts ($RUNS runs each)..." >&2
RESULTS="$("$TARGET_DIR/release/examples/cold_start" --runs "$RUNS" "${ARGS[@]}")"

HELLO_MS="$(awk -F'\t' '$1 == "bench-hello" { print $2 }' <<<"$RESULTS")"
FAILED=0
printf '%-24s %10s %12s %10s %10s  %s\n' binary "size MB" "start ms" "min ms" "x hello" verdict
while IFS=$'\t' read -r name median min max; do
  bytes="$(stat -c %s "$TARGET_DIR/release/$name")"
  size="$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')"
  ratio="$(awk -v m="$median" -v h="$HELLO_MS" 'BEGIN { printf "%.2f", m / h }')"
  verdict="ok"
  if [ "$name" != bench-hello ]; then
    if awk -v s="$size" 'BEGIN { exit !(s >= 10) }'; then verdict="TOO BIG"; FAILED=1; fi
    if awk -v r="$ratio" 'BEGIN { exit !(r > 2) }'; then verdict="TOO SLOW"; FAILED=1; fi
  else
    verdict="(baseline)"
  fi
  printf '%-24s %10s %12s %10s %10s  %s\n' "$name" "$size" "$median" "$min" "$ratio" "$verdict"
done <<<"$RESULTS"
exit "$FAILED"
