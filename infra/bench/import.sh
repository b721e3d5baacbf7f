#!/usr/bin/env bash
# Bulk-write figures (issue 13, item 8), all in one run so that the ratios hold on a loaded
# machine: on each store, 100 single POSTs, one asynchronous batch (PATCH /api/products,
# submit to `success`) and `jsonapi-local import` of an NDJSON file, in resources/s; then the
# import of IMPORT_N products (default 1,000,000) into a fresh data folder with its peak memory
# (/usr/bin/time -v). A benchmark, not a test: it prints figures and asserts nothing.
#
#   cargo build --release -p jsonapi-local
#   bash infra/bench/import.sh [BINARY]             # embedded store only
#   DYNAMODB_ENDPOINT=http://127.0.0.1:8102 bash infra/bench/import.sh   # and DynamoDB Local
#
# Knobs: BATCH_N (items of the async batch, 1000), SMALL_N (items of the per-store import,
# 5000), IMPORT_N (the big import, 1000000; 0 skips it), DYNAMO_N (batch and import sizes on
# DynamoDB Local, 500).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$root/infra/lib/servers.sh"
BIN=$(local_binary "${1:-${CARGO_TARGET_DIR:-$root/target}/release/jsonapi-local}")
BATCH_N=${BATCH_N:-1000}
SMALL_N=${SMALL_N:-5000}
IMPORT_N=${IMPORT_N:-1000000}
DYNAMO_N=${DYNAMO_N:-500}
TMP=$(mktemp -d)
PIDS=()
trap 'stop_servers; rm -rf "$TMP"' EXIT

# products FILE N PREFIX: N products as NDJSON (unique skus).
products() {
  python3 - "$@" <<'PY'
import json, sys
path, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    for i in range(n):
        f.write(json.dumps({"type": "products", "attributes": {
            "sku": f"{prefix}{i}", "name": f"Product {i}", "price": "9.99"}}) + "\n")
PY
}

# http_figures URL TOKEN N PREFIX: 100 single POSTs, then one async batch of N, each in /s.
http_figures() {
  python3 - "$@" <<'PY'
import http.client, json, sys, time, urllib.parse
url, token, n, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(u.hostname, u.port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json",
           "Accept": "application/vnd.api+json"}
def call(method, path, body=None):
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")
def product(sku):
    return {"type": "products", "attributes": {"sku": sku, "name": sku, "price": "9.99"}}
start = time.monotonic()
for i in range(100):
    status, _ = call("POST", "/api/products", {"data": product(f"{prefix}P{i}")})
    assert status == 201, status
posts = 100 / (time.monotonic() - start)
start = time.monotonic()
status, doc = call("PATCH", "/api/products", {"data": [product(f"{prefix}B{i}") for i in range(n)]})
assert status == 202, (status, doc)
op = doc["data"]["id"]
while True:
    _, doc = call("GET", f"/api/asyncoperations/{op}")
    if doc["data"]["attributes"]["status"] in ("success", "failed"):
        break
    time.sleep(0.05)
batch = n / (time.monotonic() - start)
written = doc["data"]["attributes"]["summary"]["writeCount"]
print(f"  100 single POSTs: {posts:,.0f} resources/s")
print(f"  async batch of {n} ({written} written): {batch:,.0f} resources/s ({batch / posts:.1f}x the POSTs)")
PY
}

# timed_import NAME FILE N ARGS...: jsonapi-local import, its rate and peak memory.
timed_import() {
  local name=$1 file=$2 n=$3 start end
  shift 3
  start=$(date +%s.%N)
  /usr/bin/time -v "$BIN" import "$file" --type products "$@" >"$TMP/$name.import" 2>"$TMP/$name.time" ||
    { cat "$TMP/$name.import" "$TMP/$name.time" >&2; die "$name: the import failed"; }
  end=$(date +%s.%N)
  python3 - "$name" "$n" "$start" "$end" "$TMP/$name.time" "$TMP/$name.import" <<'PY'
import re, sys
name, n, start, end, timing, out = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:5]), sys.argv[5], sys.argv[6]
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timing).read()).group(1))
summary = open(out).read().splitlines()[1]
print(f"  import of {n:,} ({summary}): {n / (end - start):,.0f} resources/s, peak memory {rss / 1024:,.0f} MiB")
PY
}

# store_figures NAME BATCH N STORE-ARGS...: a server on the store, its HTTP figures with a
# batch of BATCH, then an import of N products (embedded: through the server; DynamoDB: this
# process imports and applies, beside the server).
store_figures() {
  local name=$1 batch=$2 n=$3 url token
  shift 3
  echo "$name:"
  start_server "$name" "$BIN" --listen 127.0.0.1:0 --seed "$@"
  url=$STARTED_URL
  token=$(token_for "$name" "$url")
  http_figures "$url" "$token" "$batch" "bench-$name-$RANDOM-"
  products "$TMP/$name.ndjson" "$n" "bench-$name-import-$RANDOM-"
  timed_import "$name" "$TMP/$name.ndjson" "$n" "$@"
  stop_servers
}

store_figures embedded "$BATCH_N" "$SMALL_N" --data "$TMP/embedded"
if [[ -n ${DYNAMODB_ENDPOINT:-} ]]; then
  store_figures dynamodb "$DYNAMO_N" "$DYNAMO_N" --store dynamodb --endpoint "$DYNAMODB_ENDPOINT" \
    --table "bench-import-$RANDOM" --create-table
fi
if ((IMPORT_N > 0)); then
  echo "import of $IMPORT_N products into a fresh data folder (no server):"
  products "$TMP/big.ndjson" "$IMPORT_N" "big-"
  timed_import big "$TMP/big.ndjson" "$IMPORT_N" --data "$TMP/big"
fi
