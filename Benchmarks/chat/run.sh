#!/bin/sh
# Messages delivered per second by the chat room, 100 members each sending, in one run:
# `loom chat serve --mode threading`, `--mode eventloop`, and Python's asyncio_chat.py.
#
#   Benchmarks/chat/run.sh      # 5 s per server (DURATION=10 MEMBERS=100 WINDOW=8 MAX_QUEUE=100000 to change)
#
# The server runs on CPU 0 and the load generator (chatload.c, verifying every delivery) on
# CPU 1 when `taskset` is available. Builds loom in release mode first.
set -eu
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-5}
MEMBERS=${MEMBERS:-100}
WINDOW=${WINDOW:-8}
# Room for a member whose server-side writer is briefly not scheduled (200 threads share one
# core in threading mode): the load measures throughput, not the too-slow policy, and a
# member's backlog is not bounded by the window (others' messages keep coming).
MAX_QUEUE=${MAX_QUEUE:-100000}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

swift build -c release --product loom >/dev/null
LOOM=$(swift build -c release --show-bin-path)/loom
cc -O2 -Wall -o "$OUT/chatload" Benchmarks/chat/chatload.c

SERVER_PIN=""
LOAD_PIN=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    SERVER_PIN="taskset -c 0"
    LOAD_PIN="taskset -c 1"
fi

# run NAME COMMAND...: starts the server, waits for its listening line, loads it, stops it.
run() {
    name=$1
    shift
    # A fresh file per server: the background job truncates it only when it starts, and the
    # previous server's listening line must not be mistaken for this one's.
    rm -f "$OUT/server.out"
    : >"$OUT/server.out"
    $SERVER_PIN "$@" --port 0 --max-queue "$MAX_QUEUE" >"$OUT/server.out" 2>"$OUT/server.err" &
    pid=$!
    tries=0
    until grep -q '^listening on' "$OUT/server.out" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ]; then echo "$name: did not start" >&2; cat "$OUT/server.err" >&2; kill $pid 2>/dev/null; return 1; fi
        sleep 0.1
    done
    port=$(head -1 "$OUT/server.out" | sed 's/.*://')
    result=$($LOAD_PIN "$OUT/chatload" "$port" "$MEMBERS" "$DURATION" "$WINDOW" || true)
    kill -INT $pid 2>/dev/null || true
    wait $pid || true
    rate=$(echo "$result" | sed -n 's/.*rate=\([0-9]*\).*/\1/p')
    echo "$name $rate $result" >>"$OUT/results"
    printf '%-22s %s\n' "$name" "$result"
}

run "loom threading" "$LOOM" chat serve --mode threading
run "loom eventloop" "$LOOM" chat serve --mode eventloop
run "python asyncio" python3 Benchmarks/chat/asyncio_chat.py

python_rate=$(awk '$1 == "python" { print $3 }' "$OUT/results")
echo
echo "deliveries per second, ratio to Python asyncio (target: 3x)"
awk -v base="$python_rate" '{ name = $1 " " $2; printf "  %-16s %9d  %.2fx\n", name, $3, (base > 0 ? $3 / base : 0) }' "$OUT/results"
