#!/usr/bin/env bash
# run.sh - the io_uring decision (issue 13): a C io_uring echo server beside ../shared/bench's C
# epoll server, same run, with its load generator; pinned (server core 0, load generator core 1).
#
#   Benchmarks/uring/run.sh                     # REPS=5 DUR=3: about 5 minutes
#   REPS=3 DUR=2 Benchmarks/uring/run.sh        # shorter
#
# 1. builds loadgen and epoll_echo (../shared/bench), uring_echo and uring_probe (liburing:
#    apt-get install -y liburing-dev) into $OUT/bin;
# 2. uring_probe: is io_uring allowed here, are multishot accept/receive and buffer rings there,
#    and what a refusal looks like under seccomp (EPERM, ENOSYS) -> $OUT/probe.txt; then check.py
#    (a non-reading peer, resets, garbage, order, no descriptor leaked), also on a build with a
#    16-buffer ring that runs dry all the time -> $OUT/check.txt;
# 3. ../shared/bench/run.sh with SERVERS="epoll uring ..." (servers back to back in each block,
#    started and stopped by PID), 64-byte ping-pong at $CONNS connections, REPS repetitions,
#    then 10,000 idle connections and 64 KiB bulk once each (correctness and memory);
# 4. results.py uring: requests per second of server CPU (loadgen --server-pid), the median of
#    the per-block ratios to epoll, against the issue's bar of 1.15x -> $OUT/decision.md.
# Variants (VARIANTS): uring (the engine's design: every echo is a send SQE), uring_sync (receive
# through the ring, echo with a plain send(2): what the send SQEs cost), uring_nodefer (no
# DEFER_TASKRUN: what kernels before 6.1 get).
# Loopback only; every load run is bounded by loadgen's deadlines and by timeout.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared/bench" 2>/dev/null && pwd)}
if [ -z "$SHARED" ] || [ ! -f "$SHARED/run.sh" ]; then
  echo "uring/run.sh: ../shared/bench not found next to $ROOT (set SHARED=/path/to/shared/bench)" >&2
  exit 1
fi
if [ ! -f /usr/include/liburing.h ]; then
  echo "uring/run.sh: liburing is missing: apt-get install -y liburing-dev" >&2
  exit 1
fi
REPS=${REPS:-5}
DUR=${DUR:-3}
WARM=${WARM:-1}
CONNS=${CONNS:-"16 128 1000"}
VARIANTS=${VARIANTS:-"uring uring_sync"}
OUT=${OUT:-/tmp/loom-uring/$(date +%Y%m%d-%H%M%S)}
BIN="$OUT/bin"
mkdir -p "$BIN"

gcc -O2 -Wall -o "$BIN/loadgen" "$SHARED/loadgen.c" \
  && gcc -O2 -Wall -o "$BIN/epoll_echo" "$SHARED/epoll_echo.c" \
  && gcc -O2 -Wall -o "$BIN/uring_echo" "$HERE/uring_echo.c" -luring \
  && gcc -O2 -Wall -DNBUFS=16 -o "$BIN/uring_echo_starved" "$HERE/uring_echo.c" -luring \
  && gcc -O2 -Wall -o "$BIN/uring_probe" "$HERE/uring_probe.c" -luring || exit 1

timeout 30 "$BIN/uring_probe" | tee "$OUT/probe.txt" >&2
if ! grep -q '^io_uring_setup here: ok' "$OUT/probe.txt"; then
  echo "uring/run.sh: io_uring is refused here: nothing to measure (see $OUT/probe.txt)" >&2
  exit 1
fi

# hostile input first: a server that loses, reorders or leaks is not worth timing
# (and again with a ring of 16 buffers, so that receives run out of buffers and are re-armed)
# (without the non-reading peer, which can drain so small a ring: "Known limit" in uring_echo.c)
run_check() {
  timeout -k 5 300 python3 "$HERE/check.py" "$@" >> "$OUT/check.txt" 2>&1 \
    || { cat "$OUT/check.txt" >&2; echo "uring/run.sh: check.py $* failed" >&2; exit 1; }
}
run_check "$BIN/uring_echo"
run_check --no-hog "$BIN/uring_echo_starved"

CUSTOM="uring=$BIN/uring_echo {PORT};uring_sync=$BIN/uring_echo {PORT} --sync-send"
CUSTOM="$CUSTOM;uring_nodefer=$BIN/uring_echo {PORT} --no-defer"
SERVERS="epoll $VARIANTS" CUSTOM_SERVERS="$CUSTOM" SKIP_BUILD=1 BIN="$BIN" OUT="$OUT/matrix" \
  REPS="$REPS" DUR="$DUR" WARM="$WARM" CONNS="$CONNS" PIN_MODES=pinned EXTRAS=0 \
  IDLE_REPS="${IDLE_REPS:-1}" IDLE_HOLD="${IDLE_HOLD:-2}" BULK_REPS="${BULK_REPS:-1}" \
  bash "$SHARED/run.sh" > "$OUT/run.out" 2>&1 || { tail -30 "$OUT/run.out"; exit 1; }

python3 "$HERE/../results.py" uring "$OUT" | tee "$OUT/decision.md"
echo "uring/run.sh: done: $OUT (decision.md; RESULTS.md takes it with results.sh --uring $OUT)" >&2
