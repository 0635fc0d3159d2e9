#!/usr/bin/env bash
# metrics-instructions.sh — what metrics cost `loom serve`, in user-space instructions counted by
# valgrind's callgrind (repeatable on this noisy, shared machine, where wall-clock figures drift
# by 10-30 % or far more while other builds run):
#   - per request: 64-byte ping-pong on one held connection (../shared/bench's loadgen -n),
#   - per connection: connect, one 64-byte echo, close (metrics/churn.c -n),
# for metrics off, the observer hook set to a no-op (LOOM_METRICS_NOOP_OBSERVER=1) and Prometheus
# bootstrapped (--metrics-port 0). Each figure is (I(N2) - I(N1)) / (N2 - N1) over two server runs,
# so start-up and shut-down cancel out.
#
#   Benchmarks/metrics-instructions.sh [LOOM_BINARY]     # default .build/release/loom
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$(cd "$HERE/../../shared/bench" 2>/dev/null && pwd)}
LOOM=${1:-.build/release/loom}
MODES=${MODES:-eventloop threading}
VARIANTS=${VARIANTS:-off noop prometheus}
R1=${R1:-5000}; R2=${R2:-15000}; C1=${C1:-500}; C2=${C2:-1500}
OUT=${OUT:-/tmp/loom-metrics-instructions}
mkdir -p "$OUT"
strip -o "$OUT/loom" "$LOOM" || exit 1   # valgrind 3.19 cannot read Swift 6.3's DWARF 5
LOOM="$OUT/loom"
[ -x "$OUT/loadgen" ] || gcc -O2 -o "$OUT/loadgen" "$SHARED/loadgen.c" || exit 1
gcc -O2 -pthread -o "$OUT/churn" "$HERE/metrics/churn.c" || exit 1

count() {  # MODE VARIANT KIND N -> total instructions of one server run
  local mode=$1 variant=$2 kind=$3 n=$4 extra=() envs=()
  case $variant in
    noop) envs=(LOOM_METRICS_NOOP_OBSERVER=1) ;;
    prometheus) extra=(--metrics-port 0) ;;
  esac
  local port=$((23000 + RANDOM % 5000)) file="$OUT/cg-$mode-$variant-$kind-$n.out"
  env "${envs[@]}" timeout -k 5 600 valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$LOOM" serve --mode "$mode" --handler echo --loops 1 --port "$port" "${extra[@]}" > "$OUT/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  if [ "$kind" = request ]; then
    timeout -k 5 300 "$OUT/loadgen" -p "$port" -c 1 -n "$n" -w 0 --no-prime -d 280 -q > "$OUT/client.log" 2>&1
  else
    timeout -k 5 300 "$OUT/churn" -p "$port" -t 1 -n "$n" > "$OUT/client.log" 2>&1
  fi
  kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  grep -E '^summary:|^totals:' "$file" | head -1 | awk '{print $2}'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| mode | variant | instructions / request | instructions / connection |"
echo "|---|---|---:|---:|"
for mode in $MODES; do
  for variant in $VARIANTS; do
    a=$(count "$mode" "$variant" request "$R1"); b=$(count "$mode" "$variant" request "$R2")
    c=$(count "$mode" "$variant" connection "$C1"); d=$(count "$mode" "$variant" connection "$C2")
    awk -v m="$mode" -v v="$variant" -v a="$a" -v b="$b" -v c="$c" -v d="$d" \
      -v r1="$R1" -v r2="$R2" -v c1="$C1" -v c2="$C2" \
      'BEGIN { if (a == "" || b == "" || c == "" || d == "") { print "| " m " | " v " | no count | |"; exit }
               printf "| %s | %s | %.0f | %.0f |\n", m, v, (b - a) / (r2 - r1), (d - c) / (c2 - c1) }'
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
