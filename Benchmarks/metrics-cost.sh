#!/usr/bin/env bash
# metrics-cost.sh — what metrics cost `loom serve`: requests per second (64-byte ping-pong on held
# connections, ../shared/bench's loadgen) and connections per second (connect, one echo, close:
# metrics/churn.c), each with metrics off, with the observer hook set to a no-op
# (LOOM_METRICS_NOOP_OBSERVER=1), and with Prometheus bootstrapped (--metrics-port 0).
#
#   Benchmarks/metrics-cost.sh [LOOM_BINARY]     # default .build/release/loom
#   BASE_LOOM=/path/to/main/loom VARIANTS="main off noop prometheus" Benchmarks/metrics-cost.sh
#       adds a binary built without the metrics code (variant "main") to the same rounds.
#
# REPS rounds (default 3); in each round every mode × variant runs once, interleaved, so that the
# machine's drift falls on all alike. Server pinned to core 0, load to core 1. Prints a median
# table with ratios to "off". Loopback only; every server is stopped by its PID; every run bounded.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$(cd "$HERE/../../shared/bench" 2>/dev/null && pwd)}
LOOM=${1:-.build/release/loom}
REPS=${REPS:-3}; SECONDS_EACH=${SECONDS_EACH:-3}; CONNS=${CONNS:-128}
MODES=${MODES:-eventloop threading}
VARIANTS=${VARIANTS:-off noop prometheus}
OUT=${OUT:-/tmp/loom-metrics-cost}
mkdir -p "$OUT"
[ -x "$OUT/loadgen" ] || gcc -O2 -o "$OUT/loadgen" "$SHARED/loadgen.c" || exit 1
[ -x "$OUT/churn" ] || gcc -O2 -pthread -o "$OUT/churn" "$HERE/metrics/churn.c" || exit 1
RAW="$OUT/raw.txt"; : > "$RAW"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RAW"

start_server() {  # MODE VARIANT -> sets PID, PORT
  local mode=$1 variant=$2 log="$OUT/server.out"
  local extra=() envs=() binary=$LOOM
  case $variant in
    main) binary=${BASE_LOOM:?BASE_LOOM names the binary for variant main} ;;
    noop) envs=(LOOM_METRICS_NOOP_OBSERVER=1) ;;
    prometheus) extra=(--metrics-port 0 --metrics-name bench) ;;
  esac
  : > "$log"
  env "${envs[@]}" taskset -c 0 "$binary" serve --mode "$mode" --handler echo --loops 1 --port 0 "${extra[@]}" \
    > "$log" 2> "$OUT/server.err" &
  PID=$!
  PORT=""
  for _ in $(seq 1 200); do
    PORT=$(sed -n 's/^listening on tcp:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log")
    [ -n "$PORT" ] && break
    sleep 0.05
  done
  METRICS_URL=$(sed -n 's/^metrics on //p' "$log")
}

stop_server() {
  kill -TERM "$PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$PID" 2>/dev/null
  wait "$PID" 2>/dev/null
}

for rep in $(seq 1 "$REPS"); do
  for mode in $MODES; do
    for variant in $VARIANTS; do
      start_server "$mode" "$variant"
      [ -z "$PORT" ] && { echo "server did not start ($mode $variant)"; stop_server; continue; }
      rps=$(timeout -k 5 60 taskset -c 1 "$OUT/loadgen" -p "$PORT" -c "$CONNS" -s 64 -d "$SECONDS_EACH" -w 1 -q 2>/dev/null \
        | sed -n 's/.*RESULT.* rps=\([0-9.]*\).*/\1/p')
      cps=$(timeout -k 5 60 taskset -c 1 "$OUT/churn" -p "$PORT" -t 2 -d "$SECONDS_EACH" -w 1 \
        | sed -n 's/.*conns_per_s=\([0-9.]*\).*/\1/p')
      scraped=""
      [ -n "$METRICS_URL" ] && scraped=$(curl -s --max-time 5 "$METRICS_URL" | sed -n 's/^loom_connections_accepted_total{.*} //p')
      stop_server
      echo "rep=$rep mode=$mode variant=$variant rps=${rps:-0} cps=${cps:-0} scraped_accepted=${scraped:--}" | tee -a "$RAW"
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RAW"

python3 - "$RAW" <<'PY'
import re, statistics, sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1]) if line.startswith("rep=")]
modes = list(dict.fromkeys(r["mode"] for r in rows)); variants = list(dict.fromkeys(r["variant"] for r in rows))
print("\n| mode | variant | req/s, 128 held conns (median) | ratio to main (or off) | conns/s, churn (median) | ratio |")
print("|---|---|---:|---:|---:|---:|")
for m in modes:
    med = {v: [statistics.median([float(r[k]) for r in rows if r["mode"] == m and r["variant"] == v]) for k in ("rps", "cps")] for v in variants}
    for v in variants:
        base = med.get("main", med.get("off", med[v]))
        print(f"| {m} | {v} | {med[v][0]:,.0f} | {med[v][0] / base[0]:.3f} | {med[v][1]:,.0f} | {med[v][1] / base[1]:.3f} |")
PY
