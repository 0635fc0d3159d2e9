#!/usr/bin/env bash
# compare-servers.sh - Loom's event-driven server beside the reference servers of ../shared/bench.
#
#   Benchmarks/compare-servers.sh              # full run (about 30 minutes on 2 cores)
#   QUICK=1 Benchmarks/compare-servers.sh      # smoke run (a few minutes, mostly the SwiftNIO build)
#
# 1. builds `loom` in release mode and the references (C with gcc, SwiftNIO in $NIO_DIR) via run.sh;
# 2. runs the matrix of ../shared/bench/run.sh - 64-byte ping-pong at 1, 16, 128 and 1,000
#    connections, pinned (server on core 0, load generator on core 1) and unpinned, 10,000 idle
#    connections with the server's RSS, bulk 64 KiB - with the C load generator, for:
#      epoll       the C epoll server (the reference every ratio is taken against)
#      nio1        SwiftNIO, one event loop
#      thread, py_threading, py_asyncio  the other references (C thread per connection, Python)
#      loom_threading  `loom serve --mode threading` (the course's ThreadingTCPServer, issue 4)
#      loom        `loom serve --mode eventloop` (asyncio.Protocol-style handler)
#      loom_async  `loom serve --mode async` (async/await handler on the event loop)
#      loom_handoff  the Protocol handler with one acceptor handing connections over (only with
#                  ACCEPT_COMPARE=1; the default strategy is SO_REUSEPORT, one listener per loop)
#      loom_1loop  the Protocol handler with --loops 1 (only with ONE_LOOP=1)
#    Loom runs one loop per CPU it may use: 1 pinned, 2 unpinned.
# 3. checks that 10,000 connections held by `loom serve` are all answered afterwards;
# 4. runs `loom bench` and the C load generator against the same C epoll server;
# 5. prints analyze.py's report and one summary table of medians and ratios.
#
# Knobs (environment): REPS (default 3; the issue's figures use 6), DUR, WARM, CONNS, PIN_MODES,
# OUT, NIO_DIR (must be writable, default /tmp/nio-echo), SHARED (default ../shared/bench next to
# the repository), SKIP_MATRIX=1, ACCEPT_COMPARE=1, ONE_LOOP=1, LOOM (a prebuilt loom binary to
# measure instead of building this tree's, for before/after runs back to back).
# Loopback only; every server is started by run.sh or by this script and stopped by its PID.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared/bench" 2>/dev/null && pwd)}
if [ -z "$SHARED" ] || [ ! -f "$SHARED/run.sh" ]; then
  echo "compare-servers.sh: ../shared/bench not found next to $ROOT (set SHARED=/path/to/shared/bench)" >&2
  exit 1
fi
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  REPS=${REPS:-1}; DUR=${DUR:-1}; WARM=${WARM:-0.5}; PIN_MODES=${PIN_MODES:-pinned}
  IDLE_REPS=${IDLE_REPS:-1}; BULK_REPS=${BULK_REPS:-1}
fi
REPS=${REPS:-3}
DUR=${DUR:-5}
WARM=${WARM:-1}
CONNS=${CONNS:-"1 16 128 1000"}
PIN_MODES=${PIN_MODES:-"pinned unpinned"}
NIO_DIR=${NIO_DIR:-/tmp/nio-echo}
BIN=${BIN:-/tmp/echo-bench-bin}
OUT=${OUT:-/tmp/loom-compare/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" "$BIN"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/compare.log" >&2; }

if [ -n "${LOOM:-}" ]; then  # LOOM=/path/to/loom: another tree's binary, e.g. for a before/after run
  log "using the loom binary $LOOM"
else
  log "building loom (release) in $ROOT"
  (cd "$ROOT" && swift build -c release --product loom) > "$OUT/loom-build.log" 2>&1 || { tail -30 "$OUT/loom-build.log"; exit 1; }
  LOOM="$ROOT/.build/release/loom"
fi

# SERVERS may be narrowed from the environment; the default is every reference plus Loom's three modes.
SERVERS=${SERVERS:-"epoll thread nio1 py_threading py_asyncio loom_threading loom loom_async"}
CUSTOM="loom=$LOOM serve --mode eventloop --handler echo --port {PORT};loom_async=$LOOM serve --mode async --handler echo --port {PORT}"
CUSTOM="$CUSTOM;loom_threading=$LOOM serve --mode threading --handler echo --port {PORT}"
if [ "${ONE_LOOP:-0}" = 1 ]; then  # one loop even when unpinned (the C server has one thread)
  SERVERS="$SERVERS loom_1loop"
  CUSTOM="$CUSTOM;loom_1loop=$LOOM serve --mode eventloop --handler echo --loops 1 --port {PORT}"
fi
if [ "${ACCEPT_COMPARE:-0}" = 1 ]; then
  SERVERS="$SERVERS loom_handoff"
  CUSTOM="$CUSTOM;loom_handoff=env LOOM_EVENTLOOP_ACCEPT=handoff $LOOM serve --mode eventloop --handler echo --port {PORT}"
fi

# ---------------------------------------------------------------- 1-2. the shared matrix
if [ "${SKIP_MATRIX:-0}" != 1 ]; then
  log "running ../shared/bench/run.sh for: $SERVERS (results in $OUT/matrix)"
  SERVERS="$SERVERS" CUSTOM_SERVERS="$CUSTOM" OUT="$OUT/matrix" NIO_DIR="$NIO_DIR" BIN="$BIN" \
    REPS="$REPS" DUR="$DUR" WARM="$WARM" CONNS="$CONNS" PIN_MODES="$PIN_MODES" EXTRAS=0 \
    IDLE_REPS="${IDLE_REPS:-3}" BULK_REPS="${BULK_REPS:-3}" QUICK="$QUICK" \
    bash "$SHARED/run.sh" > "$OUT/run.out" 2>&1 || { tail -30 "$OUT/run.out"; exit 1; }
else
  gcc -O2 -Wall -o "$BIN/loadgen" "$SHARED/loadgen.c" && gcc -O2 -Wall -o "$BIN/epoll_echo" "$SHARED/epoll_echo.c" || exit 1
fi

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
SRV=""
cleanup() { [ -n "$SRV" ] && kill -0 "$SRV" 2>/dev/null && kill -KILL "$SRV" 2>/dev/null; return 0; }
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

free_port() {
  local p=$((22000 + RANDOM % 8000))
  while [ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; do p=$((p + 1)); done
  echo "$p"
}
start() {  # start PORT CMD... : server pinned to core 0, waits until the port accepts
  local port=$1; shift
  taskset -c 0 "$@" > "$OUT/server-$port.log" 2>&1 &
  SRV=$!
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$SRV" 2>/dev/null || { log "server died: $*"; cat "$OUT/server-$port.log" >&2; SRV=""; return 1; }
    sleep 0.05
  done
  log "server not ready: $*"; return 1
}
stop() {
  [ -z "$SRV" ] && return 0
  kill -TERM "$SRV" 2>/dev/null
  for _ in $(seq 1 60); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; SRV=""
}

# ---------------------------------------------------------------- 3. 10,000 idle, then all answered
EXTRA="$OUT/extra.txt"
: > "$EXTRA"
IDLE=${IDLE_CONNS:-10000}
for mode in eventloop async; do
  port=$(free_port)
  start "$port" "$LOOM" serve --mode "$mode" --handler echo --port "$port" || continue
  res=$(timeout -k 5 120 taskset -c 1 "$BIN/loadgen" -p "$port" -c "$IDLE" --connect-only -d 2 --connect-timeout 60 \
        --server-pid "$SRV" -q | tail -1)
  echo "IDLE server_mode=$mode $res" >> "$EXTRA"
  # Every one of them answered: 10,000 connections, each primed with a verified echo, then traffic.
  res=$(timeout -k 5 120 taskset -c 1 "$BIN/loadgen" -p "$port" -c "$IDLE" -d 2 -w 0.5 --connect-timeout 60 \
        --server-pid "$SRV" -q | tail -1)
  echo "ANSWERED server_mode=$mode $res" >> "$EXTRA"
  stop
  log "idle $mode: $(grep "IDLE server_mode=$mode" "$EXTRA" | grep -o 'srv_rss_max_kb=[0-9]*\|verified=[0-9]*\|errors=[0-9]*$' | tr '\n' ' ')"
done

# ---------------------------------------------------------------- 4. loom bench vs loadgen
for rep in $(seq 1 "$REPS"); do
  for c in $CONNS; do
    port=$(free_port)
    start "$port" "$BIN/epoll_echo" "$port" || continue
    for tool in loadgen loom_bench; do
      if [ $tool = loadgen ]; then
        rps=$(timeout -k 5 120 taskset -c 1 "$BIN/loadgen" -p "$port" -c "$c" -s 64 -d "$DUR" -w "$WARM" -q | tail -1 \
              | grep -o ' rps=[0-9]*' | cut -d= -f2)
      else
        rps=$(timeout -k 5 120 taskset -c 1 "$LOOM" bench --port "$port" -c "$c" -s 64 -d "$DUR" -w "$WARM" --json \
              | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["rps"] if d["errors"] == 0 else "")')
      fi
      echo "BENCH rep=$rep conns=$c tool=$tool rps=${rps:-nan}" >> "$EXTRA"
    done
    stop
    log "bench rep$rep c=$c: $(grep "BENCH rep=$rep conns=$c " "$EXTRA" | grep -o 'tool=[a-z_]* rps=[0-9a-z]*' | tr '\n' ' ')"
  done
done

# ---------------------------------------------------------------- 5. report
REPORT="$OUT/report.md"
{
  [ -f "$OUT/matrix/report.md" ] && cat "$OUT/matrix/report.md"
  python3 "$HERE/compare-summary.py" "$OUT/matrix/raw.txt" "$EXTRA"
} > "$REPORT"
cat "$REPORT"
log "done: $REPORT (the machine may have been shared: compare ratios, not absolute numbers)"
