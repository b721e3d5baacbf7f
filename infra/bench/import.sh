#!/usr/bin/env bash
# Bulk-write figures (issue 13, item 8), all in one run so that the ratios hold on a loaded
# machine: on each store, 100 single POSTs (the baseline), one asynchronous batch (PATCH
# /api/products, submit to `success`) and `jsonapi-local import` of the same products as a
# JSON:API document and as NDJSON, in resources/s with their ratio to the POSTs and the
# import's peak memory (/usr/bin/time -v); first on the embedded store, then on a DynamoDB Local
# the script starts and stops; last the import of IMPORT_N products into a fresh data folder
# with its peak memory. A benchmark, not a test: it prints figures and asserts nothing.
#
#   cargo build --release -p jsonapi-local
#   bash infra/bench/import.sh [--no-dynamodb] [BINARY]
#
# Knobs: BATCH_N (items of the async batch, 1000), SMALL_N (items of each per-store import,
# 10000), IMPORT_N (the big import, 1000000; 0 skips it), DYNAMO_N (batch and import sizes on
# DynamoDB Local, 500), IMPORT_VALUES (`sequential`: skus and names that follow the item's
# number and one price, so that each index's new entries of a chunk land side by side;
# `random`: random skus, names, prices and quantities, so that most land on pages of their own).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$root/infra/lib/servers.sh"
DYNAMODB=1
if [[ ${1:-} == --no-dynamodb ]]; then
  DYNAMODB=0
  shift
fi
BIN=$(local_binary "${1:-${CARGO_TARGET_DIR:-$root/target}/release/jsonapi-local}")
BATCH_N=${BATCH_N:-1000}
SMALL_N=${SMALL_N:-10000}
IMPORT_N=${IMPORT_N:-1000000}
DYNAMO_N=${DYNAMO_N:-500}
TMP=$(mktemp -d)
PIDS=()
DDB_PORT=
trap 'stop_servers; [[ -z $DDB_PORT ]] || bash "$root/infra/dynamodb/local.sh" stop "$DDB_PORT" >&2; rm -rf "$TMP"' EXIT

# products FILE N PREFIX: N products (unique skus), as NDJSON when FILE ends in .ndjson, else
# as one JSON:API document (written an item at a time: the file may be larger than memory).
products() {
  python3 - "$@" <<'PY'
import json, os, random, sys
path, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ndjson = path.endswith(".ndjson")
rand = random.Random(7) if os.environ.get("IMPORT_VALUES") == "random" else None
words = "red blue steel oak mini pro eco smart lamp chair desk cable mug bag".split()

def attributes(i):
    if rand is None:
        return {"sku": f"{prefix}{i}", "name": f"Product {i}", "price": "9.99"}
    return {"sku": f"{prefix}{rand.getrandbits(32):08X}-{i}",
            "name": " ".join(rand.choice(words) for _ in range(3)) + f" {rand.randrange(100000)}",
            "price": f"{rand.randrange(1, 1000)}.{rand.randrange(100):02d}",
            "quantity": rand.randrange(500)}

with open(path, "w") as f:
    f.write("" if ndjson else '{"data": [\n')
    for i in range(n):
        item = json.dumps({"type": "products", "attributes": attributes(i)})
        f.write(item + "\n" if ndjson else item + (",\n" if i + 1 < n else "\n"))
    f.write("" if ndjson else "]}\n")
PY
}

# http_figures URL TOKEN N PREFIX POSTS: 100 single POSTs, then one async batch of N, each in
# /s; the POSTs' rate is also written to the file POSTS.
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
print(f"  async batch of {n:,} ({written:,} written): {batch:,.0f} resources/s ({batch / posts:.1f}x the POSTs)")
open(sys.argv[5], "w").write(str(posts))
PY
}

# timed_import NAME FILE N ARGS...: jsonapi-local import, its rate (with its ratio to the POSTs
# when $TMP/posts holds their rate) and peak memory.
timed_import() {
  local name=$1 file=$2 n=$3 start end
  shift 3
  start=$(date +%s.%N)
  /usr/bin/time -v "$BIN" import "$file" --type products "$@" >"$TMP/$name.import" 2>"$TMP/$name.time" ||
    { cat "$TMP/$name.import" "$TMP/$name.time" >&2; die "$name: the import failed"; }
  end=$(date +%s.%N)
  python3 - "$name" "$n" "$start" "$end" "$TMP/$name.time" "$TMP/$name.import" "$TMP/posts" <<'PY'
import os, re, sys
name, n, start, end, timing, out, posts = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:5]), *sys.argv[5:8]
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timing).read()).group(1))
summary = open(out).read().splitlines()[1]
rate = n / (end - start)
ratio = f" ({rate / float(open(posts).read()):.1f}x the POSTs)" if os.path.exists(posts) else ""
print(f"  import of {n:,} as {name.split('-')[-1]} ({summary}): {rate:,.0f} resources/s{ratio}, peak memory {rss / 1024:,.0f} MiB")
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
  http_figures "$url" "$token" "$batch" "bench-$name-$RANDOM-" "$TMP/posts"
  products "$TMP/$name.json" "$n" "bench-$name-document-$RANDOM-"
  timed_import "$name-document" "$TMP/$name.json" "$n" "$@"
  products "$TMP/$name.ndjson" "$n" "bench-$name-ndjson-$RANDOM-"
  timed_import "$name-NDJSON" "$TMP/$name.ndjson" "$n" "$@"
  stop_servers
  rm -f "$TMP/posts"
}

store_figures embedded "$BATCH_N" "$SMALL_N" --data "$TMP/embedded"
if ((DYNAMODB)); then
  bash "$root/infra/dynamodb/local.sh" install >&2
  DDB_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  bash "$root/infra/dynamodb/local.sh" start "$DDB_PORT" >&2
  store_figures dynamodb "$DYNAMO_N" "$DYNAMO_N" --store dynamodb \
    --endpoint "http://127.0.0.1:$DDB_PORT" --table "bench-import-$RANDOM" --create-table
  bash "$root/infra/dynamodb/local.sh" stop "$DDB_PORT" >&2
  DDB_PORT=
fi
if ((IMPORT_N > 0)); then
  echo "import of $IMPORT_N products into a fresh data folder (no server):"
  products "$TMP/big.ndjson" "$IMPORT_N" "big-"
  timed_import big-NDJSON "$TMP/big.ndjson" "$IMPORT_N" --data "$TMP/big"
fi
