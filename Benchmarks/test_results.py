#!/usr/bin/env python3
"""Tests of Benchmarks/results.py (standard library unittest; no benchmark is run).

Run: python3 -m unittest discover -s Benchmarks -p 'test_results.py' -v
"""
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# The shape of package-benchmark 1.38's text output (box table, whole units, `*` = per operation).
PACKAGE_BENCHMARK = """
Host 'box' with 2 'x86_64' processors with 23 GB memory, running:
#1 SMP PREEMPT_DYNAMIC

===================
ThreadingBenchmarks
===================

Lock.acquire+release (uncontended)
╒═══════════════════════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╕
│ Metric                    │      p0 │     p25 │     p50 │     p75 │     p90 │     p99 │    p100 │ Samples │
╞═══════════════════════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╡
│ Throughput (# / s) (M)    │     204 │     199 │     196 │     190 │     181 │     145 │      62 │    1000 │
├───────────────────────────┼─────────┼─────────┼─────────┼─────────┼─────────┼─────────┼─────────┼─────────┤
│ Time (wall clock) (ns) *  │       5 │       5 │       6 │       6 │       6 │       7 │      16 │    1000 │
╘═══════════════════════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╛

baseline: pthread_mutex lock+unlock (uncontended)
╒═══════════════════════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╕
│ Metric                    │      p0 │     p25 │     p50 │     p75 │     p90 │     p99 │    p100 │ Samples │
╞═══════════════════════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╡
│ Time (wall clock) (ns) *  │       4 │       5 │       5 │       5 │       6 │       7 │      12 │    1000 │
╘═══════════════════════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╛

Event ping-pong (round trip)
╒═══════════════════════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╤═════════╕
│ Metric                    │      p0 │     p25 │     p50 │     p75 │     p90 │     p99 │    p100 │ Samples │
╞═══════════════════════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╪═════════╡
│ Time (wall clock) (μs) *  │      21 │      40 │      50 │      61 │      80 │     140 │    1200 │   20000 │
╘═══════════════════════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╧═════════╛

baseline: DispatchSemaphore ping-pong (round trip)
| Metric | p0 | p25 | p50 | p75 | p90 | p99 | p100 | Samples |
|:-------|---:|----:|----:|----:|----:|----:|-----:|--------:|
| Time (wall clock) (μs) * | 20 | 30 | 40 | 45 | 60 | 90 | 900 | 20000 |
"""

CPYTHON = """CPython 3.11.7, median of 5 runs, ns per operation
Lock acquire+release (uncontended)                     219
Event ping-pong (round trip)                       228,123
"""


def run_line(**kw):
    base = {"test": "matrix", "pin": "pinned", "rep": 1, "server": "epoll", "conns": 128, "rps": 1000,
            "srv_cpu": 1.0, "errors": 0, "steal_ticks": 0}
    base.update(kw)
    return "RUN " + " ".join(f"{k}={v}" for k, v in base.items())


def write_compare(folder, lines, extra=""):
    os.makedirs(os.path.join(folder, "matrix"), exist_ok=True)
    with open(os.path.join(folder, "matrix", "raw.txt"), "w") as f:
        f.write('ENV date=2026-11-30T01:00:00+00:00 kernel=6.18 nproc=2 loadavg_start="1.0 1.0 1.0"\n')
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(folder, "extra.txt"), "w") as f:
        f.write(extra)


class Ratios(unittest.TestCase):
    def test_ratio_is_the_median_of_per_block_ratios_not_the_ratio_of_medians(self):
        lines = []
        for rep, (e, x) in enumerate([(100, 300), (200, 150), (400, 420)], 1):
            lines.append(run_line(rep=rep, server="epoll", rps=e))
            lines.append(run_line(rep=rep, server="loom", rps=x))
        _, runs = self.parse(lines)
        m = results.matrix(runs, "pinned", "rps")
        self.assertEqual(m[("loom", 128)][0], 300)             # median of 300, 150, 420
        self.assertAlmostEqual(m[("loom", 128)][1], 1.05)       # ratios 3.0, 0.75, 1.05 -> 1.05 (not 300/200)
        self.assertAlmostEqual(m[("epoll", 128)][1], 1.0)

    def test_requests_per_server_cpu_second_and_idle_server_cpu_ignored(self):
        _, runs = self.parse([run_line(rps=1000, srv_cpu=0.5), run_line(server="x", rps=1000, srv_cpu=0.01)])
        self.assertEqual(results.eff(runs[0]), 2000)
        self.assertTrue(results.eff(runs[1]) != results.eff(runs[1]))   # nan: too little CPU to divide by

    def test_a_run_without_a_measured_window_is_left_out_and_counted(self):
        env, runs = self.parse([run_line(rps=1000), run_line(rep=2, rps=0, dur_s=0.0, srv_cpu=-1.0)])
        self.assertEqual(len(runs), 1)
        self.assertEqual(env["_void_runs"], 1)
        self.assertEqual(results.matrix(runs, "pinned", "rps")[("epoll", 128)][0], 1000)
        self.assertNotIn("-", results.cpu_note(runs + [dict(runs[0], srv_cpu="-1.00")]).split("CPU ")[1][:2])

    def test_garbage_lines_and_fields_are_skipped(self):
        lines = [run_line(), "RUN test=matrix pin=pinned rep=1 server=loom conns=128 rps=abc srv_cpu=",
                 "garbage \x00\xff line", "RUN", "ENV broken='"]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "raw.txt")
            with open(path, "w") as f:
                f.write("\n".join(lines[:4]) + "\n")
            env, runs = results.read_raw(path)
        m = results.matrix(runs, "pinned", "rps")
        self.assertEqual(m[("epoll", 128)][0], 1000)
        self.assertTrue(m[("loom", 128)][0] != m[("loom", 128)][0])  # nan, not a crash

    @staticmethod
    def parse(lines):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "raw.txt")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            return results.read_raw(path)


class Primitives(unittest.TestCase):
    def test_package_benchmark_p50_in_nanoseconds(self):
        got = results.parse_package_benchmark(PACKAGE_BENCHMARK)
        self.assertEqual(got["Lock.acquire+release (uncontended)"], 6)
        self.assertEqual(got["baseline: pthread_mutex lock+unlock (uncontended)"], 5)
        self.assertEqual(got["Event ping-pong (round trip)"], 50_000)
        self.assertEqual(got["baseline: DispatchSemaphore ping-pong (round trip)"], 40_000)
        self.assertEqual(len(got), 4)

    def test_cpython_rows(self):
        got, version = results.parse_cpython(CPYTHON)
        self.assertEqual(version, "CPython 3.11.7")
        self.assertEqual(got["Event ping-pong (round trip)"], 228_123)

    def test_table_pairs_each_primitive_with_its_baseline_and_cpython(self):
        rows = results.primitives_table(results.parse_package_benchmark(PACKAGE_BENCHMARK),
                                        results.parse_cpython(CPYTHON)[0])
        by_op = {r[0]: r for r in rows}
        self.assertAlmostEqual(by_op["lock+unlock, uncontended"][5], 6 / 5)
        self.assertEqual(by_op["lock+unlock, uncontended"][4], 219)
        self.assertAlmostEqual(by_op["`Event` round trip"][5], 1.25)
        self.assertNotIn("thread start+join", by_op)      # not measured: no row rather than a made-up one


class Page(unittest.TestCase):
    def test_page_and_charts_from_a_compare_folder(self):
        with tempfile.TemporaryDirectory() as d:
            comp = os.path.join(d, "compare")
            lines = []
            for pin in ("pinned", "unpinned"):
                for rep in (1, 2, 3):
                    for c in (16, 128):
                        for s, rps in (("epoll", 200_000), ("loom", 180_000), ("nio1", 150_000)):
                            lines.append(run_line(pin=pin, rep=rep, conns=c, server=s, rps=rps + rep, srv_cpu=1.0))
            lines += [run_line(test="idle", server="epoll", srv_rss_kb=1600, verified=10000, conns=10000),
                      run_line(test="idle", server="loom", srv_rss_kb=17000, verified=10000, conns=10000)]
            write_compare(comp, lines, "IDLE server_mode=eventloop connected=10000 verified=10000 errors=0\n"
                                       "ANSWERED server_mode=eventloop primed=10000 errors=0\n")
            prims = os.path.join(d, "prims")
            os.makedirs(prims)
            for fname, text in (("loom.txt", PACKAGE_BENCHMARK), ("cpython.txt", CPYTHON)):
                with open(os.path.join(prims, fname), "w") as f:
                    f.write(text)
            out = os.path.join(d, "site", "RESULTS.md")
            os.makedirs(os.path.dirname(out))
            charts = os.path.join(d, "site", "charts")
            subprocess.run([sys.executable, os.path.join(HERE, "results.py"), "page", "--compare", comp,
                            "--primitives", prims, "--out", out, "--charts", charts, "--label", "smoke run"],
                           check=True, capture_output=True, timeout=60)
            page = results.slurp(out)
            self.assertIn("smoke run", page)
            self.assertIn("| Loom eventloop | 180k (0.90) | 180k (0.90) |", page)
            self.assertIn("| Loom eventloop | 16.6 MB | 10,000 | 0 |", page)
            self.assertIn("10000 answered, 0 errors", page)
            self.assertIn("1.20 ✓", page)                    # 6 ns vs 5 ns
            for f in ("rps-pinned.svg", "rps-unpinned.svg", "rps-per-cpu-pinned.svg", "memory-idle.svg",
                      "threading-primitives.svg"):
                self.assertIn(f"(charts/{f})", page)
                root = ET.parse(os.path.join(charts, f)).getroot()    # well-formed SVG
                self.assertTrue(root.tag.endswith("svg"))
            # every server of the pinned chart has a line, and the labels are escaped text
            svg = results.slurp(os.path.join(charts, "rps-pinned.svg"))
            self.assertEqual(svg.count("<polyline"), 3)

    def test_empty_compare_folder_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as d:
            write_compare(d, ["not a run line"])
            p = subprocess.run([sys.executable, os.path.join(HERE, "results.py"), "page", "--compare", d,
                                "--out", os.path.join(d, "R.md"), "--charts", os.path.join(d, "c")],
                               capture_output=True, text=True, timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("no RUN lines", p.stderr)


class Uring(unittest.TestCase):
    def decide(self, r128, r1000, reps=3, cpu=1.0):
        with tempfile.TemporaryDirectory() as d:
            lines = []
            for rep in range(1, reps + 1):
                for c, r in ((128, r128), (1000, r1000)):
                    lines.append(run_line(rep=rep, conns=c, server="epoll", rps=100_000 * cpu, srv_cpu=cpu))
                    lines.append(run_line(rep=rep, conns=c, server="uring", rps=100_000 * r * cpu, srv_cpu=cpu))
            write_compare(d, lines)
            with contextlib.redirect_stdout(io.StringIO()):
                return results.uring_summary(d)[4]

    def test_keep_only_at_115_at_both_counts(self):
        self.assertTrue(self.decide(1.20, 1.16)["keep"])
        self.assertFalse(self.decide(1.20, 1.10)["keep"])
        self.assertFalse(self.decide(1.05, 1.30)["keep"])
        self.assertIn("Decision: no io_uring engine", self.decide(1.0, 1.0)["text"])

    def test_a_busy_machine_is_named_and_a_quiet_rerun_asked_for(self):
        self.assertIn("busy machine", self.decide(1.0, 1.0, cpu=0.3)["text"])
        self.assertFalse(self.decide(1.0, 1.0, cpu=0.3)["keep"])
        self.assertNotIn("busy machine", self.decide(1.0, 1.0, cpu=0.95)["text"])

    def test_runs_are_pooled_block_by_block(self):
        with tempfile.TemporaryDirectory() as d:
            dirs = []
            for i, r in enumerate((1.13, 1.17)):
                u = os.path.join(d, str(i))
                lines = []
                for rep in (1, 2, 3):      # the same rep numbers in both runs: pooled, not merged
                    for c in (128, 1000):
                        lines.append(run_line(rep=rep, conns=c, server="epoll", rps=100_000))
                        lines.append(run_line(rep=rep, conns=c, server="uring", rps=100_000 * r))
                write_compare(u, lines)
                dirs.append(u)
            lines_, e, _, reps, dec = results.uring_summary(dirs)
        self.assertEqual(reps, 6)
        self.assertEqual(len(e[("uring", 128)][2]), 6)
        self.assertAlmostEqual(dec["ratios"][128], 1.15)
        self.assertIn("pooled from 2 runs", "\n".join(lines_))

    def test_no_decision_without_both_counts(self):
        with tempfile.TemporaryDirectory() as d:
            write_compare(d, [run_line(conns=128, server="epoll"), run_line(conns=128, server="uring", rps=2000)])
            dec = results.uring_summary(d)[4]
        self.assertFalse(dec["keep"])
        self.assertIn("No decision", dec["text"])

    def test_close_to_the_bar_asks_for_six_repetitions(self):
        self.assertIn("asks for 6", self.decide(1.13, 1.40)["text"])
        self.assertNotIn("asks for 6", self.decide(1.13, 1.40, reps=6)["text"])
        self.assertNotIn("asks for 6", self.decide(1.0, 1.0)["text"])
        self.assertNotIn("asks for 6", self.decide(1.05, 1.13)["text"])   # 128 clearly below: decided
        self.assertIn("cannot change the decision", self.decide(1.05, 1.13)["text"])


if __name__ == "__main__":
    unittest.main()
