#!/usr/bin/env bash
# Fuzzes the running API with its own OpenAPI document: validates the document
# (openapi-spec-validator), then runs schemathesis against a seeded jsonapi-local on a free
# loopback port, authenticated with its development client's token, with the stateful phase
# on (create, then follow the document's links). A run fails on any 5xx, any response that
# breaks its documented status, content type, headers or schema, a 405 without Allow, a route
# that answers without the token it documents, a deleted resource still served, any hang
# (10 s per request), or fewer than FUZZ_MIN_CASES generated cases. The checks and their
# exceptions are in schemathesis.toml.
#
#   infra/fuzz/run.sh [JSONAPI_LOCAL]   # default: $CARGO_TARGET_DIR/debug/jsonapi-local
#
# Env: FUZZ_SECONDS (time budget of the fuzzing and stateful phases, default 180),
#      FUZZ_SEED (default 1: the same cases every run, so a failure reproduces),
#      FUZZ_MIN_CASES (default 2000).
# The tools live in a venv, $JSONAPI_FUZZ_VENV (default ~/.cache/jsonapi-venv-fuzz), made on
# the first run; pinned versions.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${JSONAPI_FUZZ_VENV:-$HOME/.cache/jsonapi-venv-fuzz}"
SECONDS_BUDGET="${FUZZ_SECONDS:-180}"
SEED="${FUZZ_SEED:-1}"
MIN_CASES="${FUZZ_MIN_CASES:-2000}"

# shellcheck source=../lib/servers.sh
source "$ROOT/infra/lib/servers.sh"
BINARY=$(local_binary "${1:-}")
version() { "$VENV/bin/pip" show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }
if [ "$(version schemathesis)" != "$SCHEMATHESIS_VERSION" ] ||
    [ "$(version openapi-spec-validator)" != "$VALIDATOR_VERSION" ]; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $VALIDATOR_VERSION into $VENV" >&2
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION" ||
        die "pip install failed"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/jsonapi-fuzz.XXXXXX")"
PIDS=()
trap 'stop_servers; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server fuzz "$BINARY" --listen 127.0.0.1:0 --data "$TMP/data" --seed
URL="$STARTED_URL"
API_TOKEN=$(token_for fuzz "$URL")
export API_TOKEN

echo "== openapi-spec-validator $URL/api/doc/openapi.json"
python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' \
    "$URL/api/doc/openapi.json" >"$TMP/openapi.json"
"$VENV/bin/openapi-spec-validator" "$TMP/openapi.json"

echo "== schemathesis (seed $SEED, ${SECONDS_BUDGET} s)"
started=$SECONDS
status=0
# From the scratch folder: whatever the tools keep between runs stays out of the tree.
# filter_too_much is a check of schemathesis's own data generator (how many of its drafts it threw
# away for one operation), not of the API: on a loaded machine it failed a run at random
# (OPTIONS of a related route, whose answer never depends on the draft).
(cd "$TMP" && "$VENV/bin/st" --config-file "$ROOT/infra/fuzz/schemathesis.toml" run "$URL/api/doc/openapi.json" \
    --phases examples,fuzzing,stateful --seed "$SEED" \
    --suppress-health-check filter_too_much \
    --max-time "$SECONDS_BUDGET" --workers 2 --no-color) >"$TMP/st.out" 2>&1 || status=$?
# The report without the per-case progress lines.
grep -v '^ *[✅❌] *[A-Z]* /' "$TMP/st.out" || true
cases=$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$TMP/st.out" | tail -n 1)
operations=$(sed -n 's/^ *Tested: *\([0-9][0-9]*\).*/\1/p' "$TMP/st.out" | tail -n 1)
echo "fuzz: ${cases:-0} cases over ${operations:-0} operations in $((SECONDS - started)) s, schemathesis exit $status"
[ "$status" = 0 ] || die "schemathesis found failures (above; each with a curl line to reproduce)"
[ "${cases:-0}" -ge "$MIN_CASES" ] || die "only ${cases:-0} cases, fewer than $MIN_CASES"
