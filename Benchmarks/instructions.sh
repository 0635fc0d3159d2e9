#!/usr/bin/env bash
# instructions.sh — user-space instructions per request of an echo server, counted by valgrind's
# callgrind: repeatable on this noisy machine where wall-clock figures drift by 10-30 %.
#
#   Benchmarks/instructions.sh LOOM_BINARY [MODE ...]      # default modes: eventloop async threading
#
# For each mode: start `LOOM serve --mode MODE --handler echo --loops 1` under callgrind, send
# N1 then (in a second server run) N2 64-byte ping-pong requests on CONNS connections with the C
# load generator of ../shared/bench, and report (I(N2) - I(N1)) / (N2 - N1): start-up and
# shut-down cancel out. Loopback only; every run bounded by `timeout`.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$(cd "$HERE/../../shared/bench" 2>/dev/null && pwd)}
LOOM=${1:?usage: instructions.sh LOOM_BINARY [MODE ...]}; shift
MODES=${*:-eventloop async threading}
N1=${N1:-5000}; N2=${N2:-15000}; CONNS=${CONNS:-1}
OUT=${OUT:-/tmp/loom-instructions}
mkdir -p "$OUT"
LOADGEN="$OUT/loadgen"
[ -x "$LOADGEN" ] || gcc -O2 -o "$LOADGEN" "$SHARED/loadgen.c" || exit 1

count() {  # count MODE N -> total instructions of one server run serving N requests
  local mode=$1 n=$2
  local port=$((23000 + RANDOM % 5000)) file="$OUT/cg-$1-$2.out"
  timeout -k 5 300 valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$LOOM" serve --mode "$mode" --handler echo --loops 1 --port "$port" > "$OUT/server-$mode-$n.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  timeout -k 5 240 "$LOADGEN" -p "$port" -c "$CONNS" -n "$n" -w 0 --no-prime -d 200 -q > "$OUT/lg-$mode-$n.log" 2>&1
  kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  grep -E '^summary:|^totals:' "$file" | head -1 | awk '{print $2}'
}

for mode in $MODES; do
  a=$(count "$mode" "$N1"); b=$(count "$mode" "$N2")
  awk -v m="$mode" -v a="$a" -v b="$b" -v n1="$N1" -v n2="$N2" -v c="$CONNS" \
    'BEGIN { if (a == "" || b == "") { print m ": no count"; exit } printf "%s: %.0f instructions per request (%d connection(s); %s and %s for %d and %d requests)\n", m, (b - a) / (n2 - n1), c, a, b, n1, n2 }'
done
