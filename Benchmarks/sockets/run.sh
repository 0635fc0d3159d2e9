#!/usr/bin/env bash
# Loom's Socket against the same loops in C, in the same run, alternating, median of RUNS.
#   ./run.sh                 # RUNS=7 ROUNDS=100000 BYTES=1073741824
# Loopback only; every run is bounded (timeout 120 s). The machine is shared: read the ratios.
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-7}
ROUNDS=${ROUNDS:-100000}
BYTES=${BYTES:-1073741824}
OUT=${OUT:-/tmp/loom-socket-bench}
mkdir -p "$OUT"
gcc -O2 -Wall -pthread -o "$OUT/socket_bench_c" c/socket_bench.c
swift build -c release --product SocketBenchmarks >&2
SWIFT_BIN="$(swift build -c release --show-bin-path)/SocketBenchmarks"

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

for mode in pingpong bulk; do
  arg=$ROUNDS; [ "$mode" = bulk ] && arg=$BYTES
  : > "$OUT/$mode.c"; : > "$OUT/$mode.loom"
  for i in $(seq "$RUNS"); do
    timeout 120 "$OUT/socket_bench_c" "$mode" "$arg" >> "$OUT/$mode.c"
    timeout 120 "$SWIFT_BIN" "$mode" "$arg" >> "$OUT/$mode.loom"
  done
  c=$(median < "$OUT/$mode.c"); loom=$(median < "$OUT/$mode.loom")
  unit="round trips/s (64 B, 1 connection)"; [ "$mode" = bulk ] && unit="GB/s ($BYTES bytes, 64 KiB chunks)"
  echo "$mode: C $c, Loom $loom $unit; ratio Loom/C $(awk -v a="$loom" -v b="$c" 'BEGIN {printf "%.3f", a/b}') (median of $RUNS)"
  echo "  C runs:    $(tr '\n' ' ' < "$OUT/$mode.c")"
  echo "  Loom runs: $(tr '\n' ' ' < "$OUT/$mode.loom")"
done
