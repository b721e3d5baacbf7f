#!/usr/bin/env bash
# A local S3 for the import function's tests, on loopback, without Docker: moto's server mode
# from PyPI (one server emulates every AWS API moto knows; its S3 checks no signature).
#
#   infra/s3/local.sh install      # once; idempotent
#   infra/s3/local.sh start 8001   # background server; waits until it answers
#   infra/s3/local.sh stop [8001]
#
# The server is started and stopped as infra/dynamodb/local.sh starts its moto fallback (same
# venv, pid files and logs under $JSONAPI_DYNAMODB_HOME). Then point the tests at it:
#   JSONAPI_S3_ENDPOINT=http://127.0.0.1:8001 JSONAPI_DYNAMODB_ENDPOINT=... \
#     cargo test -p jsonapi-lambda --test import -- --ignored
set -euo pipefail
JSONAPI_DYNAMODB_SERVER=moto exec bash "$(dirname "$0")/../dynamodb/local.sh" "$@"
