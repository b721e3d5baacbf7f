#!/usr/bin/env bash
# Validates template.yaml offline, without AWS credentials:
#   cfn-lint                  schemas, property types, value ranges (E3xxx)
#   sam validate --lint       the same linter as SAM CLI runs it
#   sam validate              the SAM translator: undefined references such as
#                             `ApiId: !Ref Apii`, which both lint runs miss (cfn-lint stopped
#                             running the translator), and events, policies, globals
# Each catches errors the others miss (shared/reference/rust-serverless.md, section 5). None
# checks the action names in a function's inline policy (`dynamodb:TransactWriteItems`, which
# does not exist, passes all three), nor what the template means for the code: that is
# shared/jsonapi-lambda/tests/template.rs (`cargo test -p jsonapi-lambda --test template`).
#
#   infra/sam/validate.sh [TEMPLATE]      # default: template.yaml at the repository root
#
# The tools live in a venv, $JSONAPI_SAM_VENV (default ~/.cache/jsonapi-venv-sam), created
# on the first run and reused after; pinned versions, so the checks do not drift.
set -euo pipefail

SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${JSONAPI_SAM_VENV:-$HOME/.cache/jsonapi-venv-sam}"
TEMPLATE="${1:-$ROOT/template.yaml}"

die() {
    echo "validate.sh: $*" >&2
    exit 1
}

installed() {
    [ -x "$VENV/bin/sam" ] && [ -x "$VENV/bin/cfn-lint" ] &&
        [ "$("$VENV/bin/pip" show aws-sam-cli 2>/dev/null | sed -n 's/^Version: //p')" = "$SAM_CLI_VERSION" ] &&
        [ "$("$VENV/bin/pip" show cfn-lint 2>/dev/null | sed -n 's/^Version: //p')" = "$CFN_LINT_VERSION" ]
}

if ! installed; then
    echo "installing aws-sam-cli $SAM_CLI_VERSION and cfn-lint $CFN_LINT_VERSION into $VENV" >&2
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION" ||
        die "pip install failed"
fi
[ -f "$TEMPLATE" ] || die "no template at $TEMPLATE"

# No telemetry, no update check: nothing leaves the machine, and no credentials are needed.
export SAM_CLI_TELEMETRY=0 SAM_CLI_DISABLE_VERSION_CHECK=1

echo "== cfn-lint $TEMPLATE"
"$VENV/bin/cfn-lint" "$TEMPLATE"
echo "ok"
echo "== sam validate --lint $TEMPLATE"
"$VENV/bin/sam" validate --lint --region us-east-1 --template "$TEMPLATE"
echo "ok"
echo "== sam validate (translator) $TEMPLATE"
"$VENV/bin/sam" validate --region us-east-1 --template "$TEMPLATE"
echo "ok"
