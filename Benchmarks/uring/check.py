#!/usr/bin/env python3
"""Hostile-input check of an echo server (uring_echo; epoll_echo passes it too). Loopback only.

Usage: check.py [--no-hog] SERVER_BINARY [EXTRA ARGS...]   (the server takes the port as its first argument)
  --no-hog  skip the peer that sends without reading (for uring_echo built with a tiny ring, which
            such a peer can drain: see "Known limit" in uring_echo.c)

Starts the server on a free port, then: a peer that sends megabytes without reading (the server
must keep answering others, then echo every byte once the peer reads); resets mid-stream; random
bytes followed by a vanishing peer; 1 MiB of random bytes echoed in order; and at the end the
server holds no descriptor more than before. Every wait is bounded; the server is killed by PID.
Exit status 0 when every check passed.
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

A = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((A, 0))
        return s.getsockname()[1]


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def hog_test(port, other, check):
    hog = socket.create_connection((A, port), timeout=10)
    hog.setblocking(False)
    sent, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 2:
        try:
            sent += hog.send(b"x" * 65536)
        except BlockingIOError:
            time.sleep(0.01)
    other.sendall(b"hello\n")
    check(other.recv(100) == b"hello\n", f"another client answered while a peer sent {sent:,} bytes unread")
    hog.setblocking(True)
    hog.settimeout(10)
    hog.shutdown(socket.SHUT_WR)
    got, clean = 0, True
    while True:
        d = hog.recv(1 << 20)
        if not d:
            break
        clean &= d.count(b"x") == len(d)
        got += len(d)
    hog.close()
    check(got == sent and clean, f"the non-reading peer got every byte back once it read ({got:,} of {sent:,})")


def main():
    args = sys.argv[1:]
    hog_check = args[:1] != ["--no-hog"]
    if not hog_check:
        args = args[1:]
    port = free_port()
    srv = subprocess.Popen([args[0], str(port)] + args[1:], stdout=subprocess.DEVNULL)
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((A, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or srv.poll() is not None:
                    print("FAIL server did not start")
                    return 1
                time.sleep(0.05)
        time.sleep(0.2)
        base = fds(srv.pid)

        # 1. a peer that sends without reading
        other = socket.create_connection((A, port), timeout=5)
        if hog_check:
            hog_test(port, other, check)

        # 2. resets mid-stream, 3. random bytes then a vanishing peer
        for _ in range(50):
            r = socket.create_connection((A, port), timeout=5)
            r.sendall(b"y" * 200_000)
            r.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            r.close()
        for _ in range(50):
            g = socket.create_connection((A, port), timeout=5)
            g.sendall(os.urandom(70_000))
            g.close()

        # 4. order: 1 MiB of random bytes, written by one thread while this one reads
        o = socket.create_connection((A, port), timeout=10)
        data = os.urandom(1 << 20)
        w = threading.Thread(target=o.sendall, args=(data,), daemon=True)
        w.start()
        buf = bytearray()
        while len(buf) < len(data):
            d = o.recv(1 << 20)
            if not d:
                break
            buf += d
        w.join(10)
        o.close()
        check(bytes(buf) == data, "1 MiB of random bytes echoed in order")
        other.sendall(b"still there\n")
        check(other.recv(100) == b"still there\n", "the first client still answered")
        other.close()

        # 5. no descriptor left behind (closes are asynchronous: bounded wait)
        deadline = time.monotonic() + 10
        while fds(srv.pid) > base and time.monotonic() < deadline:
            time.sleep(0.05)
        check(fds(srv.pid) == base, f"descriptors back to {base} after every peer left (now {fds(srv.pid)})")
        check(srv.poll() is None, "the server is still running")
    except OSError as e:  # a timeout, a reset: the server failed a check mid-way
        check(False, f"{type(e).__name__}: {e} (server {'running' if srv.poll() is None else 'exited'})")
    finally:
        srv.kill()
        srv.wait(10)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
