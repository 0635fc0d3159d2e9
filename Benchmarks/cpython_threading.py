#!/usr/bin/env python3
"""CPython's figures for the operations Loom's ThreadingBenchmarks measure, the same way.

Run: python3 Benchmarks/cpython_threading.py   (prints the median of 5 runs of each, per operation)
"""
import queue
import statistics
import sys
import threading
import time


def per_op(fn, n, runs=5):
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        fn(n)
        samples.append((time.perf_counter_ns() - start) / n)
    return statistics.median(samples)


def lock_uncontended(n):
    lock = threading.Lock()
    acquire, release = lock.acquire, lock.release
    for _ in range(n):
        acquire()
        release()


def lock_with(n):
    lock = threading.Lock()
    for _ in range(n):
        with lock:
            pass


def lock_contended(n):
    lock = threading.Lock()
    counter = [0]

    def work(k):
        for _ in range(k):
            with lock:
                counter[0] += 1

    other = threading.Thread(target=work, args=(n // 2,))
    other.start()
    work(n - n // 2)
    other.join()


def event_ping_pong(n):
    ping, pong = threading.Event(), threading.Event()

    def partner():
        for _ in range(n):
            ping.wait()
            ping.clear()
            pong.set()

    t = threading.Thread(target=partner)
    t.start()
    for _ in range(n):
        ping.set()
        pong.wait()
        pong.clear()
    t.join()


def queue_put_get(n):
    q = queue.Queue()

    def consumer():
        for _ in range(n):
            q.get()

    t = threading.Thread(target=consumer)
    t.start()
    for i in range(n):
        q.put(i)
    t.join()


def queue_ping_pong(n):
    q = queue.Queue(maxsize=1)

    def consumer():
        for _ in range(n):
            q.get()

    t = threading.Thread(target=consumer)
    t.start()
    for i in range(n):
        q.put(i)
    t.join()


def thread_start_join(n):
    for _ in range(n):
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()


if __name__ == "__main__":
    print(f"CPython {sys.version.split()[0]}, median of 5 runs, ns per operation")
    rows = [
        ("Lock acquire+release (uncontended)", lock_uncontended, 1_000_000),
        ("with Lock (uncontended)", lock_with, 1_000_000),
        ("Lock, 2 threads (per acquire+release)", lock_contended, 200_000),
        ("Event ping-pong (round trip)", event_ping_pong, 20_000),
        ("Queue put+get between 2 threads (per item)", queue_put_get, 100_000),
        ("Queue(maxsize=1) put+get (per item)", queue_ping_pong, 20_000),
        ("Thread start+join", thread_start_join, 5_000),
    ]
    for name, fn, n in rows:
        print(f"{name:45s} {per_op(fn, n):12,.0f}")
