#!/usr/bin/env bash
# The black-box API suite on DynamoDB Local, in two lanes at once, each on servers of its own.
#
#   infra/dynamodb/suite.sh RESULTS   # appends every test run's output to the file RESULTS
#
# DynamoDB Local applies requests one at a time: a server keeps one core busy whatever the
# number of test threads, and on two cores the other one idled. Two lanes, each on a DynamoDB
# Local of its own, use both; each lane's output is printed when both have ended.
#
# What runs where, and why:
# - Access decisions (roles, anonymous types, CORS, the API switch, forged tokens) are the
#   engine's and read through the same store calls as every request, so those modules run on
#   the embedded store only; what auth keeps in the store (clients, refresh-token families,
#   back-off counters, consent tickets and authorization codes, the signing keys) runs here too
#   (auth_tokens, auth_code, auth_keys), and in the Lambda event tests. The documentation is
#   built from the configuration alone (documentation, inspect_commands); every other module's
#   answers are still held to it here. The binary's own behaviour (startup_errors, which reaches
#   DynamoDB Local itself, client_commands, readme_walkthrough) is the embedded store's. The
#   planner's change of plan under a cursor (cursor_plans, 205 writes) runs on the embedded store
#   only; the cursor walks themselves run on both.
# - The rest runs in two halves, one per lane, each on a fresh server: DynamoDB Local keeps
#   every table in its 512 MB heap and slows down as that fills.
# - The concurrency tests send forty writers at once at one resource, and DynamoDB Local
#   applies transactions one at a time (some 25 ms per item on this machine); the
#   hundred-product synchronous batches (batch_sync, batch_wait: some 1,500 writes each) and
#   the hundred-product list delete kept it busy past the harness's 60 s timeout beside other
#   tests. So each of these groups runs after its lane's half, one test at a time, on a fresh
#   server of its own (the items a bulk group leaves slowed the next one past the timeout).
# - The killed worker's 600-product operation runs last, alone: beside other tests its
#   restarted worker did not always end it within the test's 240 s (reproduced with three
#   copies at once beside two busy loops: ~1 s per product).
set -euo pipefail
cd "$(dirname "$0")/../.."

results=${1:?usage: $0 RESULTS}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

concurrent=(concurrency:: concurrent_links:: write_properties::)
bulk_groups=(batch_sync:: batch_wait:: delete_list::one_call_deletes_at_most_max_delete_resources)
alone=batch_async::a_killed_worker_resumes_its_operation_losing_and_doubling_nothing
embedded_only=(auth_acl:: auth_attacks:: auth_settings:: auth_external:: cors:: api_disabled::
    auth_logs:: cursor_plans:: documentation:: inspect_commands:: startup_errors::
    client_commands:: readme_walkthrough::)
first_half=(atomic_operations:: auth_code:: auth_keys:: auth_tokens:: batch_async:: batch_sync::
    checkout:: compound_writes:: creating:: cursor_paging:: cursor_walks:: delete_list::
    deleting:: errors:: exactness:: fetching:: filtering:: fixtures:: formats:: http_edges::)
not_in_halves=("${concurrent[@]}" "${bulk_groups[@]}" "$alone")

ports=()
logs=$(mktemp -d)
stop_all() {
    for p in "${ports[@]}"; do bash infra/dynamodb/local.sh stop "$p" >/dev/null || true; done
    rm -rf "$logs"
}
trap stop_all EXIT

# fresh PORT: a new, empty DynamoDB Local on PORT (the one there before stopped).
fresh() {
    bash infra/dynamodb/local.sh stop "$1" >/dev/null
    bash infra/dynamodb/local.sh start "$1" >/dev/null
}

# api PORT ARGS...: the black-box suite's tests named by ARGS on the DynamoDB Local at PORT.
api() {
    local port=$1
    shift
    JSONAPI_TEST_BACKEND=dynamodb JSONAPI_DYNAMODB_ENDPOINT="http://127.0.0.1:$port" \
        cargo test --locked -p jsonapi-tests --test api -- "$@" "${embedded_only[@]/#/--skip=}"
}

# one_by_one PORT FILTERS...: a fresh server, then the tests FILTERS name one at a time.
one_by_one() {
    local port=$1
    shift
    fresh "$port"
    api "$port" --test-threads=1 "$@"
}

lane_a() {
    api "$1" "${first_half[@]}" "${not_in_halves[@]/#/--skip=}"
    one_by_one "$1" "${concurrent[@]}"
}

lane_b() {
    api "$1" "${first_half[@]/#/--skip=}" "${not_in_halves[@]/#/--skip=}"
    for group in "${bulk_groups[@]}"; do one_by_one "$1" "$group"; done
}

# The test binary is built before the lanes start, so that they do not both wait on the build.
cargo test --locked -p jsonapi-tests --test api --no-run

# Both servers answer before either lane starts: a server that fails to start stops the
# script with no lane left running.
lanes=(a b)
for _ in "${lanes[@]}"; do
    port=$(free_port)
    ports+=("$port")
    bash infra/dynamodb/local.sh start "$port"
done
pids=()
for i in 0 1; do
    lane=${lanes[$i]}
    ("lane_$lane" "${ports[$i]}" >"$logs/$lane.log" 2>&1) &
    pids+=($!)
done
failed=0
for i in 0 1; do
    wait "${pids[$i]}" || failed=1
done
for lane in "${lanes[@]}"; do
    printf '\n-- lane %s\n' "$lane"
    tee -a "$results" <"$logs/$lane.log"
done
if ((failed)); then
    echo "a lane of the DynamoDB Local suite failed (its output above)" >&2
    exit 1
fi

printf '\n-- alone: %s\n' "$alone"
one_by_one "${ports[0]}" "$alone" 2>&1 | tee -a "$results"
