#!/usr/bin/env python3
"""Benchmarks/RESULTS.md and its charts, from one compare run (Python 3 standard library only).

Usage:
  results.py page --compare DIR [--primitives DIR] [--uring DIR] [--label TEXT]
                  [--out Benchmarks/RESULTS.md] [--charts Benchmarks/charts]
  results.py uring DIR          # the io_uring decision alone, as markdown (uring/run.sh calls it)

Inputs, all written by the repository's scripts:
  --compare DIR     compare-servers.sh's OUT: matrix/raw.txt (../shared/bench/run.sh's RUN lines),
                    extra.txt, report.md
  --primitives DIR  loom.txt (the text output of `swift package benchmark` in Benchmarks/) and
                    cpython.txt (Benchmarks/cpython_threading.py), run back to back by results.sh
  --uring DIR       uring/run.sh's OUT: matrix/raw.txt and probe.txt

Every figure is a median over repetitions; every ratio is the median of per-block ratios (the
servers of one block ran back to back), as ../shared/bench/analyze.py takes them, so slow drift of
a noisy machine cancels out. Charts are SVG, drawn here by hand.
"""
import argparse
import math
import os
import re
import shlex
import statistics as st
import sys
from collections import defaultdict
from xml.sax.saxutils import escape

# ---------------------------------------------------------------------------------- inputs

NAMES = {
    "epoll": "C epoll, 1 thread",
    "thread": "C thread per connection",
    "nio1": "SwiftNIO, 1 loop",
    "nio2": "SwiftNIO, 2 loops",
    "py_threading": "Python ThreadingTCPServer",
    "py_asyncio": "Python asyncio",
    "loom_threading": "Loom threading",
    "loom": "Loom eventloop",
    "loom_async": "Loom async",
    "loom_handoff": "Loom eventloop (hand-off accept)",
    "loom_1loop": "Loom eventloop (--loops 1)",
    "uring": "C io_uring",
    "uring_sync": "C io_uring, send(2) echo",
    "uring_nodefer": "C io_uring, no DEFER_TASKRUN",
}
ORDER = ["epoll", "uring", "uring_sync", "uring_nodefer", "thread", "nio1", "nio2", "py_threading",
         "py_asyncio", "loom_threading", "loom", "loom_async", "loom_handoff", "loom_1loop"]
COLORS = {
    "epoll": "#222222", "thread": "#8c8c8c", "nio1": "#f28e2b", "nio2": "#ffbe7d",
    "py_threading": "#b07aa1", "py_asyncio": "#d4a6c8", "loom_threading": "#59a14f", "loom": "#4e79a7",
    "loom_async": "#e15759", "loom_handoff": "#76b7b2", "loom_1loop": "#9c755f", "uring": "#edc948",
    "uring_sync": "#bab0ac", "uring_nodefer": "#ff9da7",
}
DASHED = {"epoll", "thread", "nio1", "nio2", "py_threading", "py_asyncio", "uring", "uring_sync", "uring_nodefer"}
URING_BAR = 1.15


def name(s):
    return NAMES.get(s, s)


def slurp(path):
    with open(path, errors="replace") as f:
        return f.read()


def parse_line(line):
    d = {}
    for tok in shlex.split(line):
        if "=" in tok:
            k, v = tok.split("=", 1)
            d[k] = v
    d["_kind"] = line.split()[0] if line.split() else ""
    return d


def read_raw(path):
    """RUN and ENV lines of a run.sh raw.txt: (env dict, list of run dicts)."""
    env, runs = {}, []
    try:
        lines = slurp(path).splitlines()
    except OSError:
        return env, runs
    for line in lines:
        line = line.strip()
        if line.startswith("ENV "):
            d = parse_line(line)
            d.pop("_kind")
            env.update(d)
        elif line.startswith("RUN "):
            r = parse_line(line)
            if r.get("test") == "matrix" and num(r, "dur_s") == 0:
                # no measured window at all: the machine starved the load generator; not a figure
                env["_void_runs"] = env.get("_void_runs", 0) + 1
                continue
            runs.append(r)
    return env, runs


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError, TypeError):
        return float("nan")


def med(xs):
    xs = [x for x in xs if x == x]
    return st.median(xs) if xs else float("nan")


def eff(r):
    """Requests per second of server CPU; nan when the server's CPU was too small to divide by."""
    cpu = num(r, "srv_cpu")
    return num(r, "rps") / cpu if cpu == cpu and cpu > 0.05 else float("nan")


def servers_in(runs):
    seen = {r["server"] for r in runs}
    return [s for s in ORDER if s in seen] + sorted(seen - set(ORDER))


def matrix(runs, pin, metric):
    """{(server, conns): (median value, median per-block ratio to epoll, [ratios])} for one pin mode."""
    rs = [r for r in runs if r.get("test") == "matrix" and r.get("pin") == pin]
    value = (lambda r: num(r, "rps")) if metric == "rps" else eff
    base = {(r.get("rep"), int(r["conns"])): value(r) for r in rs if r["server"] == "epoll"}
    cells = defaultdict(list)
    for r in rs:
        cells[(r["server"], int(r["conns"]))].append(r)
    out = {}
    for key, rr in cells.items():
        ratios = []
        for r in rr:
            b = base.get((r.get("rep"), key[1]), float("nan"))
            v = value(r)
            if b == b and b > 0 and v == v:
                ratios.append(v / b)
        out[key] = (med([value(r) for r in rr]), med(ratios), ratios)
    return out


def reps_of(runs, pin):
    return len({r.get("rep") for r in runs if r.get("test") == "matrix" and r.get("pin") == pin})


def conns_of(runs, pin):
    return sorted({int(r["conns"]) for r in runs if r.get("test") == "matrix" and r.get("pin") == pin})


def idle_rss(runs):
    """{server: (median RSS in kB while holding the idle connections, connections held, errors)}."""
    out = {}
    rs = [r for r in runs if r.get("test") == "idle"]
    for s in servers_in(rs):
        rr = [r for r in rs if r["server"] == s]
        out[s] = (med([num(r, "srv_rss_kb") for r in rr]), med([num(r, "verified") for r in rr]),
                  sum(int(num(r, "errors")) if num(r, "errors") == num(r, "errors") else 0 for r in rr),
                  rr[0].get("conns", "?"))
    return out


def cpu_note(runs, pin="pinned"):
    """How much of their cores the server and the load generator got (low: the machine was shared)."""
    rs = [r for r in runs if r.get("test") == "matrix" and r.get("pin") == pin and int(r.get("conns", 0)) >= 16]
    return (f"median server CPU {med([x for x in (num(r, 'srv_cpu') for r in rs) if x >= 0]):.2f} core, load "
            f"generator {med([x for x in (num(r, 'lg_cpu') for r in rs) if x >= 0]):.2f} core at 16 connections and more")


def noise(runs):
    """Per pin mode: (cells, median and worst coefficient of variation across repetitions, steal ticks)."""
    out = {}
    for pin in ("pinned", "unpinned"):
        cell = defaultdict(list)
        steal = []
        for r in runs:
            if r.get("test") == "matrix" and r.get("pin") == pin:
                cell[(r["server"], r["conns"])].append(num(r, "rps"))
                steal.append(num(r, "steal_ticks"))
        cvs = []
        for v in cell.values():
            v = [x for x in v if x == x and x > 0]
            if len(v) >= 2:
                cvs.append(st.pstdev(v) / st.mean(v))
        steal = [x for x in steal if x == x]
        if cell:
            out[pin] = (len(cvs), med(cvs), max(cvs) if cvs else float("nan"), sum(steal), max(steal or [0]))
    return out


# ------------------------------------------------------------- threading primitives

UNITS = {"ns": 1.0, "μs": 1e3, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}
# (operation, Loom benchmark, raw baseline benchmark, baseline label, CPython row)
PRIMITIVES = [
    ("lock+unlock, uncontended", "Lock.acquire+release (uncontended)",
     "baseline: pthread_mutex lock+unlock (uncontended)", "pthread_mutex", "Lock acquire+release (uncontended)"),
    ("`withLock`, uncontended", "Lock.withLock (uncontended)", "baseline: Mutex.withLock (uncontended)", "Mutex",
     "with Lock (uncontended)"),
    ("`RLock.withLock`, uncontended", "RLock.withLock (uncontended)", "baseline: Mutex.withLock (uncontended)",
     "Mutex", None),
    ("lock, 2 threads", "Lock.withLock (2 threads)", "baseline: Mutex.withLock (2 threads)", "Mutex",
     "Lock, 2 threads (per acquire+release)"),
    ("`Event` round trip", "Event ping-pong (round trip)", "baseline: DispatchSemaphore ping-pong (round trip)",
     "DispatchSemaphore", "Event ping-pong (round trip)"),
    ("`Queue` put+get across 2 threads", "Queue put+get between 2 threads (per item)",
     "baseline: Mutex+array+DispatchSemaphore put+get (per item)", "Mutex+array+DispatchSemaphore",
     "Queue put+get between 2 threads (per item)"),
    ("`Queue(maxsize: 1)` hand-off", "Queue(maxsize: 1) ping-pong put+get (per item)", None, None,
     "Queue(maxsize=1) put+get (per item)"),
    ("thread start+join", "Thread start+join", "baseline: pthread_create+pthread_join", "pthread_create+join",
     "Thread start+join"),
]
PRIMITIVE_TARGET = 1.2
HAND_OFFS = {"`Event` round trip", "`Queue(maxsize: 1)` hand-off"}


def parse_package_benchmark(text):
    """{benchmark name: p50 in ns} from package-benchmark's text (or markdown) output.

    A benchmark's name is the last plain line before its table; its wall-clock row reads
    `Time (wall clock) (UNIT) [*] | p0 | p25 | p50 | ...` (`*`: scaled to one operation).
    """
    out = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        cells = [c.strip() for c in re.split(r"[│|┃]", line)]
        cells = [c for c in cells if c != ""]
        boxy = line[0] in "│|╒╞├╘┌└╔╚═─+┃┏┗┣"
        if not boxy:
            if line.startswith("###"):
                line = line.lstrip("#").strip()
            if set(line) <= set("=-"):
                continue
            current = line
            continue
        if current is None or len(cells) < 4:
            continue
        m = re.match(r"Time \(wall clock\) \(([^)]+)\)", cells[0])
        if not m or m.group(1) not in UNITS:
            continue
        try:
            p50 = float(cells[3])
        except ValueError:
            continue
        out[current] = p50 * UNITS[m.group(1)]
    return out


def parse_cpython(text):
    """{row name: ns per operation} and the version line from cpython_threading.py's output."""
    out, version = {}, ""
    for line in text.splitlines():
        if line.startswith("CPython"):
            version = line.split(",")[0]
            continue
        m = re.match(r"(.+?)\s+([\d,]+)\s*$", line)
        if m:
            out[m.group(1).strip()] = float(m.group(2).replace(",", ""))
    return out, version


def primitives_table(loom, cpy):
    """[(operation, loom ns, baseline ns, baseline label, cpython ns, loom/baseline)]."""
    rows = []
    for op, lb, bb, blabel, cb in PRIMITIVES:
        lv = loom.get(lb, float("nan"))
        bv = loom.get(bb, float("nan")) if bb else float("nan")
        cv = cpy.get(cb, float("nan")) if cb else float("nan")
        if lv != lv and bv != bv and cv != cv:
            continue
        ratio = lv / bv if lv == lv and bv == bv and bv > 0 else float("nan")
        rows.append((op, lv, bv, blabel, cv, ratio))
    return rows


def conn_head(c):
    return f"{c:,} conn" + ("" if c == 1 else "s")


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def fmt_ns(x):
    if x != x:
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:,.1f} ms"
    if x >= 1e4:
        return f"{x / 1e3:,.0f} µs"
    if x >= 1e3:
        return f"{x / 1e3:,.1f} µs"
    return f"{x:,.0f} ns"


def fmt_k(x):
    if x != x:
        return "—"
    return f"{x / 1000:,.0f}k" if x >= 10000 else f"{x / 1000:,.1f}k"


def fmt_mb(kb):
    return "—" if kb != kb else (f"{kb / 1024:,.1f} MB" if kb < 100 * 1024 else f"{kb / 1024:,.0f} MB")


# ---------------------------------------------------------------------------------- SVG

FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


class Svg:
    def __init__(self, width, height, title):
        self.w, self.h = width, height
        self.parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                      f'viewBox="0 0 {width} {height}" {FONT} font-size="12">',
                      f'<title>{escape(title)}</title>',
                      f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
                      f'<text x="{width / 2:.1f}" y="22" text-anchor="middle" font-size="15" '
                      f'font-weight="bold">{escape(title)}</text>']

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, anchor="start", size=12, color="#222", weight="normal", rotate=None):
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}" '
                 f'font-weight="{weight}"{tr}>{escape(str(s))}</text>')

    def line(self, x1, y1, x2, y2, color="#ccc", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" '
                 f'stroke-width="{width}"{d}/>')

    def rect(self, x, y, w, h, color):
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{color}"/>')

    def save(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.parts + ["</svg>"]) + "\n")


def nice_ceiling(x):
    if x <= 0 or x != x:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * e >= x:
            return m * e
    return 10 * e


def nice_step(x):
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least x."""
    e = 10 ** math.floor(math.log10(x)) if x > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= x:
            return m * e
    return 10 * e


def line_chart(path, title, series, xs, ylabel, note=""):
    """series: [(key, label, {x: y})]; xs: categories (connection counts), equally spaced."""
    legend_h = 18 * ((len(series) + 1) // 2)
    W, H = 760, 400 + legend_h
    L, R, T, B = 70, 20, 40, 70 + legend_h
    svg = Svg(W, H, title)
    pw, ph = W - L - R, H - T - B
    top = nice_ceiling(max([y for _, _, d in series for y in d.values() if y == y] or [1]) * 1.05)
    for i in range(6):
        v = top * i / 5
        y = T + ph - ph * i / 5
        svg.line(L, y, L + pw, y, "#e5e5e5")
        svg.text(L - 6, y + 4, "0" if v == 0 else (fmt_k(v) if top >= 10000 else f"{v:g}"), "end", 11, "#555")
    svg.line(L, T + ph, L + pw, T + ph, "#333")
    svg.line(L, T, L, T + ph, "#333")
    xpos = {x: L + pw * (i + 0.5) / len(xs) for i, x in enumerate(xs)}
    for x in xs:
        svg.text(xpos[x], T + ph + 18, f"{x:,}", "middle", 11, "#333")
    svg.text(L + pw / 2, T + ph + 36, "connections (64-byte ping-pong)", "middle", 12, "#333")
    svg.text(16, T + ph / 2, ylabel, "middle", 12, "#333", rotate=-90)
    for key, label, d in series:
        pts = [(xpos[x], T + ph - ph * d[x] / top) for x in xs if x in d and d[x] == d[x]]
        color = COLORS.get(key, "#444")
        dash = ' stroke-dasharray="6 4"' if key in DASHED and key != "epoll" else ""
        width = 3 if key.startswith("loom") or key == "epoll" else 2
        if len(pts) > 1:
            p = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            svg.add(f'<polyline points="{p}" fill="none" stroke="{color}" stroke-width="{width}"{dash}/>')
        for x, y in pts:
            svg.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')
    ly = T + ph + 54
    for i, (key, label, _) in enumerate(series):
        lx = L + (i % 2) * pw / 2
        yy = ly + 18 * (i // 2)
        dash = "6 4" if key in DASHED and key != "epoll" else None
        svg.line(lx, yy - 4, lx + 26, yy - 4, COLORS.get(key, "#444"), 3, dash)
        svg.text(lx + 32, yy, label, "start", 12)
    if note:
        svg.text(W - R, H - 6, note, "end", 10, "#777")
    svg.save(path)


def hbar_chart(path, title, rows, unit_fmt, note="", log=False, marker=None):
    """rows: [(label, value, color, group_label or None)]; groups start with a bold heading row."""
    bar_h, gap = 18, 6
    n = len(rows) + sum(1 for r in rows if r[3])
    W = 760
    L, R, T = 300, 90, 40
    H = T + n * (bar_h + gap) + 40
    svg = Svg(W, H, title)
    pw = W - L - R
    vals = [r[1] for r in rows if r[1] == r[1] and r[1] > 0]
    if not vals:
        vals = [1]
    if log:
        lo = 10 ** math.floor(math.log10(min(vals)))
        hi = 10 ** math.ceil(math.log10(max(vals)))
        if hi <= lo:
            hi = lo * 10
        scale = lambda v: pw * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) if v > 0 else 0
        ticks = [10 ** e for e in range(int(math.log10(lo)), int(math.log10(hi)) + 1)]
    else:
        top = max(vals + ([marker[0]] if marker else [])) * 1.02
        step = nice_step(top / 5)
        hi = step * math.ceil(top / step)
        scale = lambda v: pw * v / hi
        ticks = [step * i for i in range(int(round(hi / step)) + 1)]
    for t in ticks:
        x = L + scale(t) if (t > 0 or not log) else L
        svg.line(x, T, x, H - 34, "#e5e5e5")
        svg.text(x, H - 20, "0" if t == 0 else unit_fmt(t).replace(".0 ", " "), "middle", 10, "#555")
    if marker:
        mv, mlabel = marker
        x = L + scale(mv)
        svg.line(x, T - 4, x, H - 34, "#c00", 1.5, "5 3")
        svg.text(x + 4, T + 4, mlabel, "start", 10, "#c00")
    y = T
    for label, value, color, group in rows:
        if group:
            svg.text(8, y + bar_h - 4, group, "start", 12, "#111", "bold")
            y += bar_h + gap
        svg.text(L - 8, y + bar_h - 5, label, "end", 12)
        if value == value and value > 0:
            w = scale(value)
            svg.rect(L, y, w, bar_h, color)
            svg.text(L + w + 5, y + bar_h - 5, unit_fmt(value), "start", 11, "#333")
        else:
            svg.text(L + 5, y + bar_h - 5, "not measured", "start", 11, "#999")
        y += bar_h + gap
    svg.line(L, T - 4, L, H - 34, "#333")
    if note:
        svg.text(W - 8, H - 4, note, "end", 10, "#777")
    svg.save(path)


# ------------------------------------------------------------------------- io_uring decision

def uring_summary(udirs):
    """(markdown lines, {(server, conns): (eff, ratio, ratios)}, conns, reps, decision dict).

    Several uring/run.sh folders are pooled block by block (a block's servers ran back to back)."""
    if isinstance(udirs, str):
        udirs = [udirs]
    env, runs = {}, []
    for i, udir in enumerate(udirs):
        env_i, runs_i = read_raw(os.path.join(udir, "matrix", "raw.txt"))
        voids = env.get("_void_runs", 0) + env_i.get("_void_runs", 0)
        env.update(env_i)
        if voids:
            env["_void_runs"] = voids
        for r in runs_i:
            r["rep"] = f"{i}.{r.get('rep')}"
        runs.extend(runs_i)
    conns = conns_of(runs, "pinned")
    reps = reps_of(runs, "pinned")
    e = matrix(runs, "pinned", "eff")
    rps = matrix(runs, "pinned", "rps")
    servers = servers_in([r for r in runs if r.get("test") == "matrix"])
    out = []
    probe = ""
    for udir in udirs:
        try:
            probe = probe or slurp(os.path.join(udir, "probe.txt")).strip()
        except OSError:
            pass
    pooled = f" (pooled from {len(udirs)} runs of `uring/run.sh`)" if len(udirs) > 1 else ""
    out.append(f"Requests per second of server CPU (`loadgen --server-pid`), pinned (server core 0, load generator "
               f"core 1), 64-byte ping-pong, median of {plural(reps, 'block')}{pooled}; in brackets the median of the per-block ratios to the "
               f"C epoll server (min–max of those ratios after it), then the server CPU per request.\n")
    out.append("| server | " + " | ".join(conn_head(c) for c in conns) + " |")
    out.append("|---|" + "---:|" * len(conns))
    for s in servers:
        cells = []
        for c in conns:
            v, ratio, ratios = e.get((s, c), (float("nan"), float("nan"), []))
            spread = f", {min(ratios):.2f}–{max(ratios):.2f}" if len(ratios) > 1 and s != "epoll" else ""
            us = f"; {1e6 / v:.1f} µs" if v == v and v > 0 else ""
            cells.append(f"{fmt_k(v)} ({ratio:.2f}{spread}){us}")
        out.append(f"| {name(s)} | " + " | ".join(cells) + " |")
    out.append("\nRequests per second (bounded by the load generator's core, and by what the shared machine "
               "left of it: " + cpu_note(runs) + "):\n")
    out.append("| server | " + " | ".join(conn_head(c) for c in conns) + " |")
    out.append("|---|" + "---:|" * len(conns))
    for s in servers:
        out.append(f"| {name(s)} | " + " | ".join(
            f"{fmt_k(rps.get((s, c), (float('nan'),))[0])} ({rps.get((s, c), (0, float('nan')))[1]:.2f})"
            for c in conns) + " |")
    idle = idle_rss(runs)
    if idle:
        out.append("\nCorrectness and memory: " + "; ".join(
            f"{name(s)} held {v[1]:,.0f} verified idle connections in {fmt_mb(v[0])} ({v[2]} errors)"
            for s, v in idle.items()) + ".")
    bulk = [r for r in runs if r.get("test") == "bulk"]
    if bulk:
        out.append("Bulk, 64 KiB requests on one connection: " + "; ".join(
            f"{name(s)} {med([num(r, 'MBps') for r in bulk if r['server'] == s]):,.0f} MB/s "
            f"({sum(int(num(r, 'errors')) for r in bulk if r['server'] == s)} errors)"
            for s in servers_in(bulk)) + ".")
    checks = []
    for udir in udirs:
        try:
            checks += [l for l in slurp(os.path.join(udir, "check.txt")).splitlines() if l.strip()]
        except OSError:
            pass
    if checks:
        passed = sum(1 for l in checks if l.startswith("ok"))
        out.append(f"Hostile input (`uring/check.py`: a peer that sends without reading, resets mid-stream, random "
                   f"bytes then a vanishing peer, 1 MiB in order, no descriptor leaked): {passed} of {len(checks)} "
                   "checks passed" + ("" if passed == len(checks) else " — " + "; ".join(
                       l for l in checks if not l.startswith("ok"))) + ".")
    if env.get("_void_runs"):
        out.append(f"{plural(env['_void_runs'], 'run')} without any measured window (the machine starved the load "
                   "generator) left out.")
    errs = sum(int(num(r, "errors")) for r in runs if r.get("test") == "matrix" and num(r, "errors") == num(r, "errors"))
    out.append(f"Errors over the whole matrix (every byte verified by the load generator): {errs}.")
    dec = {}
    for c in (128, 1000):
        if ("uring", c) in e:
            dec[c] = e[("uring", c)][1]
    keep = bool(dec) and all(r == r and r >= URING_BAR for r in dec.values()) and len(dec) == 2
    close = [c for c, r in dec.items() if r == r and abs(r - URING_BAR) / URING_BAR < 0.05]
    clearly_below = [c for c, r in dec.items() if r == r and r < URING_BAR and c not in close]
    dtext = (f"**Decision: {'keep' if keep else 'no'} io_uring engine.** The C io_uring server reaches "
             + " and ".join(f"{r:.2f}× at {c:,} connections" for c, r in sorted(dec.items()))
             + f" of the C epoll server's requests per server-CPU-second (the bar is {URING_BAR}× at both).")
    if clearly_below and close:
        dtext += (f" It is within 5 % of the bar at {', '.join(f'{c:,}' for c in close)} connections, but clearly "
                  f"below at {', '.join(f'{c:,}' for c in clearly_below)}: more repetitions cannot change the decision.")
    elif close and reps < 6:
        dtext += (f" Within 5 % of the bar at {', '.join(f'{c:,}' for c in close)} connections with only {reps} "
                  f"repetitions: the issue asks for 6 before deciding.")
    busy = med([x for x in (num(r, "srv_cpu") for r in runs if r.get("test") == "matrix"
                            and int(r.get("conns", 0)) >= 16) if x >= 0])
    if busy == busy and busy < 0.7:
        dtext += (f" Measured on a busy machine (the server got a median {busy:.2f} of its core): rerun "
                  "`Benchmarks/uring/run.sh` at a quiet moment to confirm; it decides the same way by itself.")
    missing = [c for c in (128, 1000) if c not in dec or dec[c] != dec[c]]
    if missing:
        dtext = (f"**No decision:** no valid ratio at {' and '.join(f'{c:,}' for c in missing)} connections "
                 f"in this run; rerun `Benchmarks/uring/run.sh` with CONNS including 128 and 1000.")
    decision = {"keep": keep, "ratios": dec, "reps": reps, "text": dtext, "probe": probe, "env": env}
    return out, e, conns, reps, decision


def uring_main(udirs):
    lines, _, _, _, dec = uring_summary(udirs)
    print("## io_uring: C io_uring echo server beside the C epoll server\n")
    if dec["probe"]:
        print("```\n" + dec["probe"] + "\n```\n")
    print("\n".join(lines))
    print()
    print(dec["text"])


# ------------------------------------------------------------------------------- the page

def page(args):
    out_md = args.out
    charts = args.charts
    os.makedirs(charts, exist_ok=True)
    rel = os.path.relpath(charts, os.path.dirname(os.path.abspath(out_md)) or ".")
    env, runs = read_raw(os.path.join(args.compare, "matrix", "raw.txt"))
    if not runs:
        sys.exit(f"results.py: no RUN lines in {args.compare}/matrix/raw.txt")
    md = []
    label = f" — {args.label}" if args.label else ""
    md.append(f"# Loom: measured results{label}\n")
    if args.label:
        md.append(f"> **{args.label}.** Figures from a short run; regenerate from a full run "
                  f"(`Benchmarks/compare-servers.sh`, then `Benchmarks/results.sh`) before quoting them.\n")
    md.append("Generated by `Benchmarks/results.sh` (which runs `Benchmarks/results.py`) from one "
              "`Benchmarks/compare-servers.sh` run"
              + (", the threading primitives (`swift package benchmark` in `Benchmarks/` and "
                 "`Benchmarks/cpython_threading.py`, back to back)" if args.primitives else "")
              + (" and `Benchmarks/uring/run.sh`" if args.uring else "") + ". Do not edit by hand.\n")
    md.append("To regenerate it (about 45 minutes on this 2-core machine; run it at a quiet moment):\n")
    md.append("```sh\nOUT=/tmp/loom-compare/full Benchmarks/compare-servers.sh      # REPS=6 for the issue's figures\n"
              "OUT=/tmp/loom-uring/full Benchmarks/uring/run.sh             # optional: the io_uring decision\n"
              "Benchmarks/results.sh /tmp/loom-compare/full --uring /tmp/loom-uring/full\n```\n")
    md.append("## How it was measured\n")
    reps_p, reps_u = reps_of(runs, "pinned"), reps_of(runs, "unpinned")
    dur = med([num(r, "dur_s") for r in runs if r.get("test") == "matrix"])
    md.append(f"- 64-byte ping-pong with `../shared/bench/loadgen.c` (every byte verified), {dur:.0f} s per point, "
              f"servers run back to back in each block; pinned = server on core 0 and load generator on core 1 "
              f"({plural(reps_p, 'repetition')})"
              + (f", unpinned = both free on 2 cores ({plural(reps_u, 'repetition')})" if reps_u else ", unpinned not run")
              + ". Figures are medians; ratios (in brackets) are the median of per-block ratios to the C epoll "
              "server of the same block.")
    md.append("- Loom runs one event loop per CPU it may use (1 pinned, 2 unpinned); the C epoll server has one thread.")
    md.append("- Machine: " + ", ".join(f"{k} {env[k]}" for k in ("kernel", "nproc", "cpu", "gcc", "python", "swift", "date")
                                        if k in env) + ".")
    nz = noise(runs)
    if nz:
        parts = []
        for pin, (cells, mcv, wcv, steal, wsteal) in nz.items():
            parts.append(f"{pin}: median coefficient of variation {mcv:.0%} across repetitions (worst {wcv:.0%}, "
                         f"{cells} cells), hypervisor steal {steal:.0f} ticks in all (worst run {wsteal:.0f})"
                         if cells else f"{pin}: one repetition, spread not measurable; steal {steal:.0f} ticks")
        if env.get("_void_runs"):
            parts.append(f"{plural(env['_void_runs'], 'run')} without any measured window (the machine starved "
                         "the load generator) left out")
        md.append("- Noise of this run — " + "; ".join(parts) + "; pinned, " + cpu_note(runs)
                  + " (a lone run gives each about 1.0)" + f". Load average at start {env.get('loadavg_start', '?')}"
                  f", at end {env.get('loadavg_end', '?')}. The machine is a shared 2-core VM: compare ratios, "
                  "never absolute numbers across runs.")
    md.append("")

    # requests/s charts and tables
    for pin in ("pinned", "unpinned"):
        conns = conns_of(runs, pin)
        if not conns:
            continue
        m = matrix(runs, pin, "rps")
        e = matrix(runs, pin, "eff")
        servers = servers_in([r for r in runs if r.get("test") == "matrix" and r.get("pin") == pin])
        series = [(s, name(s), {c: m[(s, c)][0] for c in conns if (s, c) in m}) for s in servers]
        fname = f"rps-{pin}.svg"
        line_chart(os.path.join(charts, fname), f"Requests/s by connection count, {pin}", series, conns,
                   "requests per second", f"median of {reps_of(runs, pin)}; {env.get('date', '')[:10]}")
        ename = f"rps-per-cpu-{pin}.svg"
        line_chart(os.path.join(charts, ename), f"Requests per second of server CPU, {pin}",
                   [(s, name(s), {c: e[(s, c)][0] for c in conns if (s, c) in e}) for s in servers], conns,
                   "requests per server-CPU-second", f"median of {reps_of(runs, pin)}; {env.get('date', '')[:10]}")
        md.append(f"## Requests per second, {pin}\n")
        md.append(f"![Requests per second by connection count, {pin}]({rel}/{fname})\n")
        md.append("| server | " + " | ".join(conn_head(c) for c in conns) + " |")
        md.append("|---|" + "---:|" * len(conns))
        for s in servers:
            md.append(f"| {name(s)} | " + " | ".join(
                f"{fmt_k(m[(s, c)][0])} ({m[(s, c)][1]:.2f})" if (s, c) in m else "—" for c in conns) + " |")
        md.append(f"\nRequests per second of server CPU (`loadgen --server-pid`), {pin} — at 16 connections and "
                  "more the load generator's core is the limit, so this is the fairer measure of a server:\n")
        md.append(f"![Requests per second of server CPU, {pin}]({rel}/{ename})\n")
        md.append("| server | " + " | ".join(conn_head(c) for c in conns) + " |")
        md.append("|---|" + "---:|" * len(conns))
        for s in servers:
            md.append(f"| {name(s)} | " + " | ".join(
                f"{fmt_k(e[(s, c)][0])} ({e[(s, c)][1]:.2f})" if (s, c) in e else "—" for c in conns) + " |")
        md.append("")

    # memory at 10,000 idle
    idle = idle_rss(runs)
    if idle:
        n = next(iter(idle.values()))[3]
        rows = [(name(s), v[0] / 1024, COLORS.get(s, "#444"), None) for s, v in idle.items()]
        hbar_chart(os.path.join(charts, "memory-idle.svg"), f"Server resident memory holding {int(n):,} idle connections",
                   rows, lambda v: f"{v:,.0f} MB" if v >= 10 else f"{v:,.1f} MB", "lower is better")
        md.append(f"## Memory at {int(n):,} idle connections\n")
        md.append(f"![Resident memory at {int(n):,} idle connections]({rel}/memory-idle.svg)\n")
        md.append("| server | resident memory | verified connections | errors |")
        md.append("|---|---:|---:|---:|")
        for s, v in idle.items():
            md.append(f"| {name(s)} | {fmt_mb(v[0])} | {v[1]:,.0f} | {v[2]} |")
        md.append("\nEach connection is primed with one verified echo, then held idle; the figure is the server's "
                  "VmRSS while holding them (median of the repetitions).\n")
    extra = []
    try:
        extra = [parse_line(l) for l in slurp(os.path.join(args.compare, "extra.txt")).splitlines() if l.strip()]
    except OSError:
        pass
    answered = [r for r in extra if r["_kind"] == "ANSWERED"]
    held = [r for r in extra if r["_kind"] == "IDLE"]
    if held:
        md.append("Then every one answered (`loom serve`, 10,000 connections held, then each primed with a verified "
                  "echo under load): " + "; ".join(
                      f"{h.get('server_mode')}: {h.get('verified', '?')} held and verified, "
                      + next((f"{a.get('primed', '?')} answered, {a.get('errors', '?')} errors" for a in answered
                              if a.get("server_mode") == h.get("server_mode")), "not re-checked")
                      for h in held) + ".\n")
    bulk = [r for r in runs if r.get("test") == "bulk"]
    if bulk:
        base = med([num(r, "MBps") for r in bulk if r["server"] == "epoll"])
        md.append("## Bulk: one connection, 64 KiB requests\n")
        md.append("| server | MB/s each way | ratio to C epoll |")
        md.append("|---|---:|---:|")
        for s in servers_in(bulk):
            v = med([num(r, "MBps") for r in bulk if r["server"] == s])
            md.append(f"| {name(s)} | {v:,.0f} | {v / base:.2f} |" if base == base and base > 0 else f"| {name(s)} | {v:,.0f} | — |")
        md.append("")

    # threading primitives
    if args.primitives:
        try:
            loom = parse_package_benchmark(slurp(os.path.join(args.primitives, "loom.txt")))
        except OSError:
            loom = {}
        try:
            cpy, version = parse_cpython(slurp(os.path.join(args.primitives, "cpython.txt")))
        except OSError:
            cpy, version = {}, ""
        rows = primitives_table(loom, cpy)
        if rows:
            chart_rows = []
            for op, lv, bv, blabel, cv, _ in rows:
                chart_rows.append(("Loom", lv, COLORS["loom"], op.replace("`", "")))
                if blabel:
                    chart_rows.append((f"raw: {blabel}", bv, "#9aa5b1", None))
                chart_rows.append((version or "CPython", cv, COLORS["py_threading"], None))
            hbar_chart(os.path.join(charts, "threading-primitives.svg"),
                       "Threading primitives: time per operation (log scale)", chart_rows, fmt_ns,
                       "p50, lower is better", log=True)
            md.append("## Threading primitives\n")
            md.append(f"![Threading primitives]({rel}/threading-primitives.svg)\n")
            md.append(f"p50 per operation from package-benchmark (`Benchmarks/`, release), each Loom primitive beside "
                      f"its raw baseline and {version or 'CPython'} (`Benchmarks/cpython_threading.py`, median of 5), "
                      f"run back to back. Target: Loom within {PRIMITIVE_TARGET}× of its raw baseline; a hand-off "
                      "cannot beat the kernel's wake-up, which sets the floor for Loom and CPython alike.\n")
            md.append("| operation | Loom | raw baseline | Loom / baseline | CPython |")
            md.append("|---|---:|---:|---:|---:|")
            for op, lv, bv, blabel, cv, ratio in rows:
                mark = "" if ratio != ratio else (" ✓" if ratio <= PRIMITIVE_TARGET else " ✗")
                base = f"`{blabel}` {fmt_ns(bv)}" if blabel else "—"
                rtxt = "—" if ratio != ratio else f"{ratio:.2f}{mark}"
                md.append(f"| {op} | {fmt_ns(lv)} | {base} | {rtxt} | {fmt_ns(cv)} |")
            md.append("\npackage-benchmark prints whole units (ns, µs): figures of a few nanoseconds are rounded to "
                      "the nanosecond, so ratios between them are coarse.\n")

    # io_uring
    if args.uring:
        lines, e, conns, reps, dec = uring_summary(args.uring)
        md.append("## io_uring: is an engine worth writing?\n")
        md.append("A C io_uring echo server (`Benchmarks/uring/uring_echo.c`: multishot accept, multishot receive "
                  "into a provided buffer ring, batched submission, the echo sent from the received buffer) beside "
                  "the C epoll server, same run (`Benchmarks/uring/run.sh`). A C server is the upper bound of any "
                  f"Swift engine, so the issue keeps an io_uring engine only if this reaches {URING_BAR}× the C epoll "
                  "server's requests per server-CPU-second at 128 and 1,000 connections.\n")
        series = []
        rows = []
        for s in servers_in([{"server": k[0]} for k in e]):
            if s == "epoll":
                continue
            for c in conns:
                if (s, c) in e:
                    rows.append((f"{c:,} conns", e[(s, c)][1], COLORS.get(s, "#444"), name(s) if c == conns[0] else None))
        hbar_chart(os.path.join(charts, "uring.svg"), "io_uring vs epoll (C): requests per server-CPU-second, ratio",
                   rows, lambda v: f"{v:.2f}×", f"median of {reps}, pinned", marker=(URING_BAR, f"bar {URING_BAR}×"))
        md.append(f"![io_uring vs epoll]({rel}/uring.svg)\n")
        md.extend(lines)
        md.append("")
        md.append(dec["text"])
        if not dec["keep"]:
            md.append("A C server already pays the least any engine can per request; a Swift engine on the same "
                      "kernel interface adds its own work on top, so it cannot reach the bar either.")
        else:
            ev = matrix(runs, "pinned", "eff")
            loom_gap = [ev[("loom", c)][1] for c in (128, 1000) if ("loom", c) in ev]
            worst = min(dec["ratios"].values())
            need = URING_BAR / worst
            md.append(f"A Swift io_uring engine would have to keep within {need:.2f}× of the C io_uring server's "
                      f"requests per server-CPU-second (at most {100 * (1 - need):.0f} % slower than it)"
                      + (f"; Loom's epoll engine is at {', '.join(f'{g:.2f}' for g in loom_gap)}× of C epoll at "
                         "128 and 1,000 connections in the compare run above" if loom_gap else "") + ".")
        md.append("\nThe design has a cost epoll does not: one buffer ring shared by every connection can be drained by "
                  "peers that send and never read (about 128 of them with 1,024 buffers, each paused at 8), stalling "
                  "every other connection until they read; an engine would need a per-connection fallback receive. "
                  "Its buffers also cost memory (8 MiB of ring, touched as it cycles) and, being 8 KiB, bulk speed.")
        if dec["probe"]:
            md.append("\nio_uring here, and what a refusal looks like (`Benchmarks/uring/uring_probe.c`; the "
                      "refusals are real, made by a seccomp filter in a child process):\n")
            md.append("```\n" + dec["probe"] + "\n```")
            md.append("\nFallback rule for an engine: `io_uring_setup` failing with any errno (EPERM from a seccomp "
                      "policy or `kernel.io_uring_disabled`, ENOSYS from a kernel without io_uring) means epoll, with "
                      "one log line naming the errno; a first multishot accept or receive completing with -EINVAL "
                      "(kernel before 5.19/6.0) means the same.")
        md.append("")

    report = os.path.join(args.compare, "report.md")
    if os.path.exists(report):
        md.append("## The compare run's own report\n")
        md.append("<details><summary>report.md of the compare run (every table, latencies, CPU, stability)</summary>\n")
        md.append(slurp(report).strip())
        md.append("\n</details>\n")
    with open(out_md, "w") as f:
        f.write("\n".join(md).rstrip() + "\n")
    print(f"results.py: wrote {out_md} and {charts}/", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("page")
    p.add_argument("--compare", required=True)
    p.add_argument("--primitives")
    p.add_argument("--uring", action="append", help="a uring/run.sh folder; repeat to pool several runs")
    p.add_argument("--label", default="")
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--out", default=os.path.join(here, "RESULTS.md"))
    p.add_argument("--charts", default=os.path.join(here, "charts"))
    u = sub.add_parser("uring")
    u.add_argument("dir", nargs="+")
    args = ap.parse_args()
    if args.cmd == "uring":
        uring_main(args.dir)
    else:
        page(args)


if __name__ == "__main__":
    main()
