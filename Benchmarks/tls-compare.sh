#!/usr/bin/env bash
# tls-compare.sh - TLS echo servers side by side: SwiftNIO + swift-nio-ssl (one loop), Python
# asyncio with ssl, and (once `loom serve --tls-*` exists) Loom's event-loop and threading modes.
#
#   Benchmarks/tls-compare.sh            # full run: REPS=3 of 5 s per figure
#   QUICK=1 Benchmarks/tls-compare.sh    # smoke run: 1 rep of 1 s
#   LOOM=1 Benchmarks/tls-compare.sh     # add loom_tls_eventloop and loom_tls_threading
#   SERVERS="nio_tls py_asyncio_tls loom_tls_blocking" Benchmarks/tls-compare.sh
#                                        # loom_tls_blocking: tls/loom-tls-echo, a thread per
#                                        # connection on TLSSocket (stand-in until `loom serve --tls-*`)
#
# Figures (issue 9), each with tls/tls_loadgen.c (OpenSSL, epoll, every byte verified), server
# pinned to core 0 and the load generator to core 1 as in ../shared/bench/run.sh:
#   pingpong16 / pingpong128   64-byte TLS ping-pong at 16 and 128 connections (rps)
#   bulk                       64 KiB requests on one connection (MBps each way)
#   handshakes                 a new connection (full handshake + one 64-byte echo) per request, 16 at a time (hps)
# Servers interleave within each repetition so that drift hits them alike. Certificates: one
# EC P-256 key and self-signed certificate made with `openssl` into $OUT (nothing committed).
#
# Knobs: REPS DUR WARM OUT SERVERS NIO_TLS_DIR (default /tmp/nio-tls-echo) HS_CONNS (16)
#        SKIP_BUILD=1 (reuse binaries) LOOM=1.
# Loopback only; every server is started here, remembered by PID and killed by that PID.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then REPS=${REPS:-1}; DUR=${DUR:-1}; WARM=${WARM:-0.5}; fi
REPS=${REPS:-3}
DUR=${DUR:-5}
WARM=${WARM:-1}
HS_CONNS=${HS_CONNS:-16}
NIO_TLS_DIR=${NIO_TLS_DIR:-/tmp/nio-tls-echo}
OUT=${OUT:-/tmp/loom-tls-compare/$(date +%Y%m%d-%H%M%S)}
BIN="$OUT/bin"
LOOM_ECHO_BUILD=${LOOM_ECHO_BUILD:-/tmp/loom-tls-echo-build}
SERVERS=${SERVERS:-"nio_tls py_asyncio_tls"}
[ "${LOOM:-0}" = 1 ] && SERVERS="$SERVERS loom_tls_eventloop loom_tls_threading"
PORT=${PORT_BASE:-21443}
mkdir -p "$OUT/logs" "$BIN"
RAW="$OUT/raw.txt"
: > "$RAW"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/compare.log" >&2; }
PY=$(python3 -c 'import sys; print(sys.executable)')

# ---------------------------------------------------------------- build
log "certificate (EC P-256, self-signed for localhost/127.0.0.1) in $OUT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$OUT/key.pem" \
  -out "$OUT/cert.pem" -days 7 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null \
  || { log "openssl failed"; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building tls_loadgen"
  gcc -O2 -Wall -o "$BIN/tls_loadgen" "$HERE/tls/tls_loadgen.c" -lssl -lcrypto || exit 1
  if [[ " $SERVERS " == *" nio_tls "* ]]; then
    log "building the SwiftNIO + swift-nio-ssl reference in $NIO_TLS_DIR (release; a few minutes the first time)"
    mkdir -p "$NIO_TLS_DIR/Sources/NIOTLSEcho"
    cp "$HERE/tls/nio-tls-echo/Package.swift" "$NIO_TLS_DIR/Package.swift"
    cp "$HERE/tls/nio-tls-echo/Sources/NIOTLSEcho/main.swift" "$NIO_TLS_DIR/Sources/NIOTLSEcho/main.swift"
    (cd "$NIO_TLS_DIR" && swift build -c release) > "$OUT/nio-build.log" 2>&1 || { tail -20 "$OUT/nio-build.log"; exit 1; }
  fi
  if [[ " $SERVERS " == *" loom_tls_blocking "* ]]; then
    log "building tls/loom-tls-echo (release) in $LOOM_ECHO_BUILD"
    swift build -c release --package-path "$HERE/tls/loom-tls-echo" --scratch-path "$LOOM_ECHO_BUILD" \
      > "$OUT/loom-echo-build.log" 2>&1 || { tail -20 "$OUT/loom-echo-build.log"; exit 1; }
  fi
  if [ "${LOOM:-0}" = 1 ]; then
    log "building loom (release)"
    (cd "$ROOT" && swift build -c release --product loom) > "$OUT/loom-build.log" 2>&1 || { tail -20 "$OUT/loom-build.log"; exit 1; }
  fi
else
  [ -x "$BIN/tls_loadgen" ] || gcc -O2 -Wall -o "$BIN/tls_loadgen" "$HERE/tls/tls_loadgen.c" -lssl -lcrypto || exit 1
fi
LOOM_BIN="$ROOT/.build/release/loom"
NIO_BIN="$NIO_TLS_DIR/.build/release/NIOTLSEcho"
{
  echo "ENV date=$(date -Iseconds) kernel=$(uname -r) nproc=$(nproc) openssl=\"$(openssl version)\""
  echo "ENV python=\"$($PY --version 2>&1)\" swift=\"$(swift --version 2>&1 | head -1)\" loadavg_start=\"$(cat /proc/loadavg)\""
} >> "$RAW"

# ---------------------------------------------------------------- server control
SRV_PID=""
cleanup() { [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null && kill -KILL "$SRV_PID" 2>/dev/null; return 0; }
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

start_server() {  # start_server NAME -> SRV_PID, PORT
  local name=$1
  PORT=$((PORT + 1))
  while [ -n "$(ss -Htan "( sport = :$PORT )" 2>/dev/null)" ]; do PORT=$((PORT + 1)); done
  local slog="$OUT/logs/$name-$PORT.log"
  local tls=(--tls-cert "$OUT/cert.pem" --tls-key "$OUT/key.pem")
  case $name in
    nio_tls)            taskset -c 0 "$NIO_BIN" --threads 1 --port "$PORT" --cert "$OUT/cert.pem" --key "$OUT/key.pem" > "$slog" 2>&1 & ;;
    py_asyncio_tls)     taskset -c 0 "$PY" "$HERE/tls/py_asyncio_tls_echo.py" "$PORT" --cert "$OUT/cert.pem" --key "$OUT/key.pem" > "$slog" 2>&1 & ;;
    loom_tls_eventloop) taskset -c 0 "$LOOM_BIN" serve --mode eventloop --handler echo --port "$PORT" "${tls[@]}" > "$slog" 2>&1 & ;;
    loom_tls_threading) taskset -c 0 "$LOOM_BIN" serve --mode threading --handler echo --port "$PORT" "${tls[@]}" > "$slog" 2>&1 & ;;
    loom_tls_blocking)  taskset -c 0 "$LOOM_ECHO_BUILD/release/LoomTLSEcho" --port "$PORT" --cert "$OUT/cert.pem" --key "$OUT/key.pem" > "$slog" 2>&1 & ;;
    *) log "unknown server $name"; return 1 ;;
  esac
  SRV_PID=$!
  local i
  for i in $(seq 1 200); do
    if grep -q listening "$slog" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    kill -0 "$SRV_PID" 2>/dev/null || { log "$name died at start:"; cat "$slog" >&2; SRV_PID=""; return 1; }
    sleep 0.05
  done
  log "$name not ready after 10 s"; stop_server; return 1
}

stop_server() {
  [ -z "$SRV_PID" ] && return 0
  kill -TERM "$SRV_PID" 2>/dev/null
  local i
  for i in $(seq 1 40); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$SRV_PID" 2>/dev/null && kill -KILL "$SRV_PID" 2>/dev/null
  wait "$SRV_PID" 2>/dev/null
  SRV_PID=""
}

lg() { timeout -k 5 120 taskset -c 1 "$BIN/tls_loadgen" -d "$DUR" -w "$WARM" -q "$@"; }

# ---------------------------------------------------------------- figures
for rep in $(seq 1 "$REPS"); do
  for figure in pingpong16 pingpong128 bulk handshakes; do
    case $figure in
      pingpong16)  args=(-c 16 -s 64) ;;
      pingpong128) args=(-c 128 -s 64) ;;
      bulk)        args=(-c 1 -s 65536) ;;
      handshakes)  args=(-c "$HS_CONNS" -s 64 --handshakes) ;;
    esac
    for s in $SERVERS; do
      start_server "$s" || continue
      res=$(lg -p "$PORT" "${args[@]}" --server-pid "$SRV_PID" --label "$s" | tail -1)
      stop_server
      echo "RUN figure=$figure rep=$rep server=$s $res" >> "$RAW"
      log "rep$rep $figure $s: $(echo "$res" | grep -o 'rps=[0-9]*\|MBps=[0-9.]*\|hps=[0-9]*\|srv_cpu=[0-9.]*\|errors=[0-9]*' | tr '\n' ' ')"
    done
  done
done
echo "ENV loadavg_end=\"$(cat /proc/loadavg)\"" >> "$RAW"

# ---------------------------------------------------------------- summary: medians and ratios to nio_tls
"$PY" - "$RAW" <<'PYEOF' | tee "$OUT/report.md"
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if not line.startswith("RUN "):
        continue
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    metric = {"bulk": "MBps", "handshakes": "hps"}.get(kv["figure"], "rps")
    if kv.get("errors", "1") != "0" or metric not in kv:
        continue
    runs.setdefault((kv["figure"], kv["server"]), []).append(float(kv[metric]))
figures = ["pingpong16", "pingpong128", "bulk", "handshakes"]
servers = sorted({s for _, s in runs}, key=lambda s: (s != "nio_tls", s))
print("| server | " + " | ".join(f"{f} ({ {'bulk': 'MB/s', 'handshakes': 'hs/s'}.get(f, 'req/s') })" for f in figures) + " |")
print("|---|" + "---:|" * len(figures))
for s in servers:
    cells = []
    for f in figures:
        values = runs.get((f, s))
        base = runs.get((f, "nio_tls"))
        if not values:
            cells.append("-")
            continue
        m = statistics.median(values)
        ratio = f" ({m / statistics.median(base):.2f})" if base else ""
        cells.append(f"{m:,.0f}{ratio}")
    print(f"| {s} | " + " | ".join(cells) + " |")
print("\nMedians of the runs without errors; in brackets the ratio to nio_tls (SwiftNIO + swift-nio-ssl, one loop).")
PYEOF
log "done: $OUT/report.md"
