#!/usr/bin/env bash
# Lambda function binaries: size and cold start, next to a minimal lambda_http function.
#
# Builds the release binaries of every function in functions/ and of infra/bench-hello (the
# smallest lambda_http function: the floor), then starts each several times against a fake of
# the Lambda Runtime API on loopback (shared/jsonapi-lambda/examples/cold_start.rs), with
# DynamoDB Local behind the functions, and reports the medians of:
#   init ms    process start -> first request for an invocation (Lambda's "Init Duration":
#              exec, runtime, configuration, DynamoDB client and its first connection)
#   answer ms  process start -> first answered invocation (init + one request of its route)
# This is the process's own start-up, not a Lambda cold start (no sandbox, no code download,
# no network beyond loopback).
#
# Usage: infra/bench/lambda.sh
# Env:   BENCH_RUNS (default 5), JSONAPI_DYNAMODB_ENDPOINT (else a DynamoDB Local is started
#        on a free port and stopped at the end), BENCH_PROFILE=workspace|size: the workspace's
#        release profile (default), or the same with opt-level=z, lto=fat, codegen-units=1
#        (cargo's CARGO_PROFILE_RELEASE_* overrides, in a separate target directory).
# Targets: each function below 10 MB; its answer within 2x the hello function's. Exits 1 when
# one is missed. Binaries are for this machine's architecture (Lambda runs arm64).
set -euo pipefail

RUNS="${BENCH_RUNS:-5}"
PROFILE="${BENCH_PROFILE:-workspace}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
FUNCTIONS=()
for dir in functions/*/; do FUNCTIONS+=("fn-$(basename "$dir")"); done

# The measuring tool is built with the workspace profile; only the measured binaries change.
BIN_DIR="$TARGET_DIR/release"
SIZE_ENV=()
case "$PROFILE" in
  workspace) ;;
  size)
    BIN_DIR="$TARGET_DIR-size/release"
    SIZE_ENV=(CARGO_TARGET_DIR="$TARGET_DIR-size" CARGO_PROFILE_RELEASE_OPT_LEVEL=z
      CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1)
    ;;
  *) echo "BENCH_PROFILE must be workspace or size" >&2; exit 2 ;;
esac

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

echo "building release binaries, $PROFILE profile (${#FUNCTIONS[@]} functions + bench-hello)..." >&2
PACKAGES=()
for p in bench-hello "${FUNCTIONS[@]}"; do PACKAGES+=(-p "$p"); done
env "${SIZE_ENV[@]}" cargo build --release --quiet "${PACKAGES[@]}"
cargo build --release --quiet -p jsonapi-lambda --example cold_start

ARGS=()
for p in bench-hello "${FUNCTIONS[@]}"; do ARGS+=("$p=$BIN_DIR/$p"); done
echo "measuring cold starts ($RUNS runs each)..." >&2
RESULTS="$("$TARGET_DIR/release/examples/cold_start" --runs "$RUNS" "${ARGS[@]}")"

HELLO_MS="$(awk -F'\t' '$1 == "bench-hello" { print $3 }' <<<"$RESULTS")"
FAILED=0
printf '%-22s %8s %8s %10s %9s  %s\n' binary "size MB" "init ms" "answer ms" "x hello" verdict
while IFS=$'\t' read -r name init answer; do
  bytes="$(stat -c %s "$BIN_DIR/$name")"
  size="$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1000000 }')"
  ratio="$(awk -v a="$answer" -v h="$HELLO_MS" 'BEGIN { printf "%.1f", a / h }')"
  verdict=()
  if [ "$name" = bench-hello ]; then
    verdict=("(baseline)")
  else
    if awk -v s="$size" 'BEGIN { exit !(s >= 10) }'; then verdict+=("over 10 MB"); fi
    if awk -v r="$ratio" 'BEGIN { exit !(r > 2) }'; then verdict+=("over 2x hello"); fi
    if [ "${#verdict[@]}" -eq 0 ]; then verdict=("ok"); else FAILED=1; fi
  fi
  printf '%-22s %8s %8s %10s %9s  %s\n' "$name" "$size" "$init" "$answer" "$ratio" "$(IFS=,; echo "${verdict[*]}")"
done <<<"$RESULTS"
exit "$FAILED"
