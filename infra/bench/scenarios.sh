# The routes the benchmarks measure (run.sh over HTTP, profile.sh under callgrind). Source it.
#
# One per entry: "name|method|path|body template"; an empty body = none. In a path or body,
# `{n}` is replaced by loadgen (unique per request), `{k}` by an id from 1 to $BENCH_KEYS (ids
# the seed data always has: updates spread over them) and `{run}` by the script (unique per
# loadgen invocation), so unique attributes such as `sku` never collide across requests,
# rounds or runs. Bodies get the JSON:API Content-Type header. Append entries to add routes.
# shellcheck disable=SC2034 # used by the scripts that source this file
BENCH_KEYS=50
BENCH_FILTERED='/api/products?filter[status]=enabled&filter[price][gte]=10&filter[price][lt]=50&sort=-price&page[size]=10&include=category'
BENCH_LINE='{"type":"orderlineitems","id":"li-I","attributes":{"quantity":2,"price":"1.25"},"relationships":{"product":{"data":{"type":"products","id":"{k}"}}}}'
BENCH_LINES=''
for i in 1 2 3 4; do BENCH_LINES+="${BENCH_LINE//li-I/li-$i},"; done
# shellcheck disable=SC2034
BENCH_ROUTES=(
  'GET one|GET|/api/products/{k}|'
  'GET list page|GET|/api/products?page[size]=10|'
  "GET filtered page|GET|$BENCH_FILTERED|"
  'POST create|POST|/api/products|{"data":{"type":"products","attributes":{"sku":"bench-{n}-{run}","name":"Bench {n}","price":"9.99"}}}'
  'PATCH|PATCH|/api/products/{k}|{"data":{"type":"products","id":"{k}","attributes":{"quantity":{n}}}}'
  "POST compound|POST|/api/orders|{\"data\":{\"type\":\"orders\",\"attributes\":{\"poNumber\":\"B-{n}\"},\"relationships\":{\"customer\":{\"data\":{\"type\":\"customers\",\"id\":\"c\"}},\"lineItems\":{\"data\":[{\"type\":\"orderlineitems\",\"id\":\"li-1\"},{\"type\":\"orderlineitems\",\"id\":\"li-2\"},{\"type\":\"orderlineitems\",\"id\":\"li-3\"},{\"type\":\"orderlineitems\",\"id\":\"li-4\"}]}}},\"included\":[{\"type\":\"customers\",\"id\":\"c\",\"attributes\":{\"name\":\"Bench\",\"email\":\"b{n}-{run}@example.com\"}},${BENCH_LINES%,}]}"
)
# At the large product count: the filtered page again.
# shellcheck disable=SC2034
BENCH_LARGE_ROUTES=("GET filtered page|GET|$BENCH_FILTERED|")
