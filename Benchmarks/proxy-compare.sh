#!/usr/bin/env bash
# proxy-compare.sh - the PROXY protocol's figures (issue 10), all in one run:
#   A. requests per second through HAProxy (mode tcp) to one and to two
#      `loom serve --mode eventloop --handler echo --proxy-protocol required` processes
#      (send-proxy-v2, balance roundrobin) beside HAProxy to the C epoll server of ../shared/bench
#      (no send-proxy), with ../shared/bench/loadgen.c (64-byte ping-pong);
#   B. the cost of PROXY parsing, directly (no HAProxy): the same `loom serve` with and without
#      --proxy-protocol required, driven by Benchmarks/proxy/proxy_loadgen.c, which sends a v2 (or
#      v1) header first on each connection: ping-pong on long-lived connections, and a new
#      connection per request (where the per-connection cost is largest).
# Unpinned (HAProxy, servers and load generator share the 2 cores); every round runs the variants
# back to back, REPS times, and the report gives medians and ratios. Loopback only; every process
# is started here and stopped by its PID.
#
#   Benchmarks/proxy-compare.sh            # REPS=5 DUR=3: about 6 minutes
# Knobs: REPS, DUR, WARM, CONNS (for A, default "16 128"), PR_CONNS (for B, default 16), OUT, SHARED.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared/bench" 2>/dev/null && pwd)}
REPS=${REPS:-5}; DUR=${DUR:-3}; WARM=${WARM:-1}
CONNS=${CONNS:-"16 128"}; PR_CONNS=${PR_CONNS:-16}
OUT=${OUT:-/tmp/loom-proxy/$(date +%Y%m%d-%H%M%S)}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
mkdir -p "$OUT"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/run.log" >&2; }

(cd "$ROOT" && swift build -c release --product loom) > "$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
LOOM="$ROOT/.build/release/loom"
gcc -O2 -Wall -o "$OUT/loadgen" "$SHARED/loadgen.c" || exit 1
gcc -O2 -Wall -o "$OUT/epoll_echo" "$SHARED/epoll_echo.c" || exit 1
gcc -O2 -Wall -o "$OUT/proxy_loadgen" "$HERE/proxy/proxy_loadgen.c" || exit 1

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
start() {  # start NAME PORT CMD...
  local name=$1 port=$2; shift 2
  "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" &
  PIDS+=($!)
  wait_port "$port" || { echo "$name did not listen on $port" >&2; exit 1; }
}
haproxy_for() {  # haproxy_for NAME FRONT KEYWORD BACKEND_PORT...
  local name=$1 front=$2 keyword=$3; shift 3
  {
    printf 'global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
    printf 'frontend front\n  bind 127.0.0.1:%s\n  default_backend back\nbackend back\n  balance roundrobin\n' "$front"
    local i=0; for port in "$@"; do printf '  server s%s 127.0.0.1:%s %s\n' $i "$port" "$keyword"; i=$((i+1)); done
  } > "$OUT/$name.cfg"
  start "$name" "$front" "$HAPROXY" -f "$OUT/$name.cfg" -db
}

log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); other builders may be running, figures are noisy"
P_EPOLL=$(free_port); start epoll "$P_EPOLL" "$OUT/epoll_echo" "$P_EPOLL"
P_L1=$(free_port); start loom1 "$P_L1" "$LOOM" serve --mode eventloop --handler echo --port "$P_L1" --proxy-protocol required
P_L2=$(free_port); start loom2 "$P_L2" "$LOOM" serve --mode eventloop --handler echo --port "$P_L2" --proxy-protocol required
P_PLAIN=$(free_port); start plain "$P_PLAIN" "$LOOM" serve --mode eventloop --handler echo --port "$P_PLAIN"
P_TPLAIN=$(free_port); start tplain "$P_TPLAIN" "$LOOM" serve --mode threading --handler echo --port "$P_TPLAIN"
P_TPROXY=$(free_port); start tproxy "$P_TPROXY" "$LOOM" serve --mode threading --handler echo --port "$P_TPROXY" --proxy-protocol required
H_C=$(free_port); haproxy_for h_c "$H_C" "" "$P_EPOLL"
H_1=$(free_port); haproxy_for h_1 "$H_1" send-proxy-v2 "$P_L1"
H_2=$(free_port); haproxy_for h_2 "$H_2" send-proxy-v2 "$P_L1" "$P_L2"

RAW="$OUT/raw.txt"; : > "$RAW"
rps() { sed -n 's/.*RESULT.* rps=\([0-9.]*\).*/\1/p' | tail -1; }
for rep in $(seq "$REPS"); do
  log "round $rep/$REPS (load $(cut -d' ' -f1 /proc/loadavg))"
  for c in $CONNS; do
    for variant in "haproxy_c_epoll $H_C" "haproxy_loom_1 $H_1" "haproxy_loom_2 $H_2"; do
      set -- $variant
      r=$("$OUT/loadgen" -p "$2" -c "$c" -s 64 -d "$DUR" -w "$WARM" -q | rps)
      echo "A $1 $c ${r:-0}" >> "$RAW"
    done
  done
  for mode in pingpong perrequest; do
    flag=""; [ $mode = perrequest ] && flag="--per-request"
    for variant in "eventloop_off $P_PLAIN none" "eventloop_v2 $P_L1 v2" "eventloop_v1 $P_L1 v1" \
                   "threading_off $P_TPLAIN none" "threading_v2 $P_TPROXY v2"; do
      set -- $variant
      line=$("$OUT/proxy_loadgen" -p "$2" -c "$PR_CONNS" -d "$DUR" -w "$WARM" --proxy "$3" $flag)
      echo "$line" >> "$OUT/proxy_loadgen.log"
      echo "B $1 $mode $(echo "$line" | rps)" >> "$RAW"
    done
  done
done
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RAW" "$REPS" "$CONNS" "$PR_CONNS" <<'PY' | tee "$OUT/report.md"
import sys, statistics
raw, reps, conns, prc = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4]
a, b = {}, {}
for line in open(raw):
    f = line.split()
    if f[0] == "A": a.setdefault((f[1], f[2]), []).append(float(f[3]))
    else: b.setdefault((f[1], f[2]), []).append(float(f[3]))
med = lambda xs: statistics.median(xs) if xs else 0
print(f"A. Through HAProxy (mode tcp), 64-byte ping-pong, median of {reps} runs; ratio to HAProxy → C epoll\n")
print("| backend | " + " | ".join(f"{c} conns" for c in conns) + " |")
print("|---|" + "---:|" * len(conns))
names = {"haproxy_c_epoll": "C epoll server (no send-proxy)", "haproxy_loom_1": "1 × loom eventloop --proxy-protocol required (send-proxy-v2)",
         "haproxy_loom_2": "2 × loom eventloop --proxy-protocol required (send-proxy-v2, roundrobin)"}
for key, name in names.items():
    cells = []
    for c in conns:
        ref = med(a.get(("haproxy_c_epoll", c), []))
        v = med(a.get((key, c), []))
        cells.append(f"{v/1000:.1f}k ({v/ref:.2f})" if ref else f"{v:.0f}")
    print(f"| {name} | " + " | ".join(cells) + " |")
print(f"\nB. PROXY parsing cost, direct, {prc} connections, median of {reps} runs; ratio to the same mode without --proxy-protocol\n")
print("| server | ping-pong (header once a connection) | new connection per request (header every request) |")
print("|---|---:|---:|")
for key, name, base in [("eventloop_off", "eventloop, no --proxy-protocol", "eventloop_off"),
                        ("eventloop_v2", "eventloop, --proxy-protocol required, v2 header", "eventloop_off"),
                        ("eventloop_v1", "eventloop, --proxy-protocol required, v1 header", "eventloop_off"),
                        ("threading_off", "threading, no --proxy-protocol", "threading_off"),
                        ("threading_v2", "threading, --proxy-protocol required, v2 header", "threading_off")]:
    cells = []
    for mode in ["pingpong", "perrequest"]:
        v, ref = med(b.get((key, mode), [])), med(b.get((base, mode), []))
        cells.append(f"{v/1000:.1f}k ({v/ref:.3f})" if ref else f"{v:.0f}")
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
log "raw figures: $RAW"
