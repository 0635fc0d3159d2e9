#!/usr/bin/env python3
"""One table of medians and ratios for compare-servers.sh.

Usage: compare-summary.py MATRIX_RAW.txt EXTRA.txt

Ratios are taken block by block (same pin mode, repetition and connection count, servers run
back to back), then the median of those ratios is shown, as ../shared/bench/analyze.py does.
"""
import shlex
import statistics as st
import sys
from collections import defaultdict

NAMES = {"epoll": "C epoll, 1 thread", "nio1": "SwiftNIO, 1 loop", "loom": "Loom eventloop (Protocol)",
         "loom_async": "Loom eventloop (async/await)", "loom_handoff": "Loom eventloop (hand-off accept)",
         "loom_1loop": "Loom eventloop (Protocol, --loops 1)", "thread": "C thread per connection",
         "py_threading": "Python ThreadingTCPServer", "py_asyncio": "Python asyncio",
         "loom_threading": "Loom ThreadingTCPServer (thread per connection)"}
ORDER = ["epoll", "thread", "nio1", "py_threading", "py_asyncio", "loom_threading", "loom", "loom_async",
         "loom_handoff", "loom_1loop"]


def records(path, prefix):
    out = []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return out
    for line in lines:
        if line.startswith(prefix):
            d = {}
            for tok in shlex.split(line):
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    d[k] = v
            d["_kind"] = line.split()[0]
            out.append(d)
    return out


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return float("nan")


def med(xs):
    xs = [x for x in xs if x == x]
    return st.median(xs) if xs else float("nan")


def k(x):
    return "-" if x != x else f"{x / 1000:.0f}k"


def main():
    runs = [r for r in records(sys.argv[1], "RUN ") if r.get("test") == "matrix"]
    extra = records(sys.argv[2], "") if len(sys.argv) > 2 else []
    idle = [r for r in records(sys.argv[1], "RUN ") if r.get("test") == "idle"]
    conns = sorted({int(r["conns"]) for r in runs})
    servers = [s for s in ORDER if any(r["server"] == s for r in runs)]
    print("## Loom vs the references: medians, (ratio to C epoll in the same block)\n")
    for pin in ("pinned", "unpinned"):
        rs = [r for r in runs if r.get("pin") == pin]
        if not rs:
            continue
        base = {(r["rep"], int(r["conns"])): r for r in rs if r["server"] == "epoll"}
        reps = len({r["rep"] for r in rs})
        print(f"### {pin}, 64-byte ping-pong, median of {reps}\n")
        header = "| server | " + " | ".join(f"{c:,} conns" for c in conns)
        idle_col = pin == "pinned" and idle
        print(header + (" | RSS, 10,000 idle |" if idle_col else " |"))
        print("|---|" + "---:|" * (len(conns) + (1 if idle_col else 0)))
        for s in servers:
            cells = []
            for c in conns:
                rr = [r for r in rs if r["server"] == s and int(r["conns"]) == c]
                ratios = [num(r, "rps") / num(base[(r["rep"], c)], "rps") for r in rr
                          if (r["rep"], c) in base and num(base[(r["rep"], c)], "rps") > 0]
                cells.append(f"{k(med([num(r, 'rps') for r in rr]))} ({med(ratios):.2f})")
            row = f"| {NAMES.get(s, s)} | " + " | ".join(cells)
            if idle_col:
                rss = med([num(r, "srv_rss_kb") for r in idle if r["server"] == s])
                row += f" | {rss / 1024:.1f} MB" if rss == rss else " | -"
            print(row + " |")
        print(f"\nRequests per second of server CPU (loadgen --server-pid), {pin}:\n")
        print("| server | " + " | ".join(f"{c:,} conns" for c in conns) + " |")
        print("|---|" + "---:|" * len(conns))
        for s in servers:
            cells = []
            for c in conns:
                rr = [r for r in rs if r["server"] == s and int(r["conns"]) == c]
                eff = lambda r: num(r, "rps") / num(r, "srv_cpu") if num(r, "srv_cpu") > 0.05 else float("nan")
                ratios = [eff(r) / eff(base[(r["rep"], c)]) for r in rr if (r["rep"], c) in base]
                cells.append(f"{k(med([eff(r) for r in rr]))} ({med(ratios):.2f})")
            print(f"| {NAMES.get(s, s)} | " + " | ".join(cells) + " |")
        print()
    held = [r for r in extra if r["_kind"] == "IDLE"]
    answered = [r for r in extra if r["_kind"] == "ANSWERED"]
    if held:
        print("### 10,000 idle connections held by `loom serve`, then all answered\n")
        print("| mode | held | verified | server RSS max | threads | then answered (primed) | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for h in held:
            a = next((r for r in answered if r.get("server_mode") == h.get("server_mode")), {})
            print(f"| {h.get('server_mode')} | {h.get('connected')} | {h.get('verified')} | "
                  f"{num(h, 'srv_rss_max_kb') / 1024:.1f} MB | {h.get('srv_threads')} | {a.get('primed', '-')} | "
                  f"{int(num(h, 'errors') + (num(a, 'errors') if a else 0))} |")
        print()
    bench = [r for r in extra if r["_kind"] == "BENCH"]
    if bench:
        print("### `loom bench` vs the C load generator, same C epoll server (server core 0, generator core 1)\n")
        print("| conns | loadgen req/s | loom bench req/s | ratio |")
        print("|---:|---:|---:|---:|")
        for c in sorted({int(r["conns"]) for r in bench}):
            lg = {r["rep"]: num(r, "rps") for r in bench if int(r["conns"]) == c and r["tool"] == "loadgen"}
            lb = {r["rep"]: num(r, "rps") for r in bench if int(r["conns"]) == c and r["tool"] == "loom_bench"}
            ratios = [lb[rep] / lg[rep] for rep in lg if rep in lb and lg[rep] > 0]
            print(f"| {c:,} | {k(med(list(lg.values())))} | {k(med(list(lb.values())))} | {med(ratios):.2f} |")
        print()


if __name__ == "__main__":
    main()
