#!/usr/bin/env python3
"""One soak run of `loom serve` in one mode: hostile clients beside well-behaved ones, the
server's descriptors, threads and RSS sampled every second from /proc, an SVG chart, a verdict.

Standard library only. Loopback only. Every loop is bounded by the run's deadline *and* a count,
every socket operation by a timeout. Exit status 0 when the run passes:
  - the server never died and exits cleanly on SIGTERM;
  - every well-behaved request got its exact reply (no failure, no mismatch);
  - no sample after the warm-up exceeds the warm-up's peak by more than 10 %.
"""
import argparse, json, os, random, signal, socket, ssl, struct, subprocess, sys, tempfile, threading, time

WARMUP_FRACTION = 0.25          # the first quarter of the run (at least 10 s) is the warm-up
GROWTH_ALLOWED = 1.10
MAX_ITERATIONS = 1_000_000      # a bound on every loop besides its deadline


class Tally:
    """Counters shared by the client threads."""
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def fail(self, what):
        with self.lock:
            self.failures.append(what)


TLS_CLIENT = None                # an ssl.SSLContext when the run is over TLS (--tls)


def connect(port, timeout=10.0):
    """A plain TCP connection: what the hostile clients use, TLS port or not."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def connect_speaking(port, timeout=10.0):
    """A connection speaking the server's protocol: TLS (handshake done) when the run is over TLS."""
    s = connect(port, timeout)
    if TLS_CLIENT is None:
        return s
    try:
        return TLS_CLIENT.wrap_socket(s, server_hostname="localhost")
    except BaseException:
        s.close()
        raise


def make_certificate(folder):
    """A throwaway self-signed certificate for localhost/127.0.0.1, made now: no key is committed."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return cert, key


def recv_exactly(s, n):
    chunks, got = [], 0
    while got < n:
        b = s.recv(min(65536, n - got))
        if not b:
            raise EOFError(f"end of file after {got} of {n} bytes")
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def well_behaved(port, deadline, tally, rng, request_timeout):
    """Connects, sends a few lines of random bytes one at a time, checks each echo exactly."""
    for _ in range(MAX_ITERATIONS):
        if time.monotonic() >= deadline:
            return
        try:
            with connect_speaking(port, request_timeout) as s:
                for _ in range(rng.randint(1, 5)):
                    line = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2048))).replace(b"\n", b"") + b"\n"
                    s.sendall(line)
                    reply = recv_exactly(s, len(line))
                    if reply != line:
                        tally.fail(f"wrong reply: {len(reply)} bytes for {len(line)}")
                    else:
                        tally.add("verified")
                if TLS_CLIENT is None:
                    s.shutdown(socket.SHUT_WR)
                    if s.recv(1) != b"":
                        tally.fail("bytes after the last reply")
                else:
                    s.unwrap()      # close_notify both ways: the server ends the session cleanly
        except (OSError, EOFError) as error:
            tally.fail(f"well-behaved client: {error!r}")


def slowloris(port, rng, stop):
    with connect(port) as s:
        for _ in range(rng.randint(3, 12)):
            if stop():
                break
            s.sendall(bytes([rng.randint(0x41, 0x5A)]))
            time.sleep(0.4)


def reset_mid_write(port, rng, stop):
    s = connect(port)
    try:
        s.setblocking(False)
        data = b"r" * 262144
        try:
            s.send(data)            # as much as the kernel takes: a write in the middle
        except BlockingIOError:
            pass
        time.sleep(rng.random() * 0.05)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        s.close()                   # SO_LINGER 0: an RST, not a FIN


def flood(port, rng, stop, max_connections):
    held = []
    try:
        for _ in range(max_connections + 24):
            try:
                held.append(connect(port, 2.0))
            except OSError:
                break               # the backlog is full: that is the point
        for s in held[: len(held) // 2]:
            try:
                s.sendall(b"flood\n")
            except OSError:
                pass
        time.sleep(1.0)
    finally:
        for s in held:
            s.close()
    return len(held)


def garbage(port, rng, stop):
    with connect(port) as s:
        s.sendall(os.urandom(rng.randint(0, 8192)))


def megabyte_line(port, rng, stop):
    with connect(port, 5.0) as s:
        try:
            s.sendall(b"m" * (1 << 20))   # no newline; the echo comes back unread
        except OSError:
            pass


def half_close(port, rng, stop):
    with connect(port) as s:
        line = b"half closed\n"
        s.sendall(line)
        s.shutdown(socket.SHUT_WR)
        got = b""
        for _ in range(100):
            b = s.recv(4096)
            if not b:
                break
            got += b


def never_read(port, rng, stop):
    s = connect(port)
    try:
        s.setblocking(False)
        for _ in range(256):
            try:
                s.send(b"n" * 65536)
            except BlockingIOError:
                break
        for _ in range(30):
            if stop():
                break
            time.sleep(0.1)
    finally:
        s.close()


def stalled_handshake(port, rng, stop):
    """The start of a real ClientHello, then silence: the server must drop it at its timeout."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    hello = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        hello.do_handshake()
    except ssl.SSLWantReadError:
        pass
    record = outgoing.read()
    with connect(port) as s:
        s.sendall(record[: rng.randint(1, max(1, len(record) - 1))])
        for _ in range(40):
            if stop():
                break
            try:
                if s.recv(4096) == b"":
                    break           # dropped, as it should be
            except socket.timeout:
                pass
            time.sleep(0.1)


def no_close_notify(port, rng, stop):
    """A full handshake and one echo, then a bare close (or a reset) instead of close_notify."""
    s = connect_speaking(port)
    try:
        s.sendall(b"bye\n")
        recv_exactly(s, 4)
        if rng.random() < 0.5:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except EOFError:
        pass
    finally:
        s.close()


def plaintext_request(port, rng, stop):
    """An HTTP request on the TLS port."""
    with connect(port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            s.recv(4096)
        except OSError:
            pass


HOSTILE = ["slowloris", "reset_mid_write", "flood", "garbage", "megabyte_line", "half_close", "never_read"]
TLS_HOSTILE = ["stalled_handshake", "no_close_notify", "plaintext_request"]


def hostile(port, deadline, tally, rng, index, max_connections, flood_lock):
    stop = lambda: time.monotonic() >= deadline
    # The first actions cover every behaviour, so the warm-up's peak has seen all of them.
    for iteration in range(MAX_ITERATIONS):
        if stop():
            return
        kind = HOSTILE[(index + iteration) % len(HOSTILE)] if iteration < len(HOSTILE) else rng.choice(HOSTILE)
        connections = 1
        try:
            if kind == "flood":
                if not flood_lock.acquire(blocking=False):
                    continue
                try:
                    connections = flood(port, rng, stop, max_connections)
                finally:
                    flood_lock.release()
            else:
                globals()[kind](port, rng, stop)
        except OSError:
            pass                    # resets, refusals, timeouts: hostile clients expect them
        tally.add(kind)
        tally.add("hostile", connections)   # connections opened (a flood opens max + 24)


def sample(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    threads = rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])       # KiB
    return fds, threads, rss


def svg_chart(title, samples, warmup, path):
    """Three stacked panels (descriptors, threads, RSS MiB) drawn by hand."""
    width, panel, left, top = 720, 150, 70, 40
    series = [("descriptors", [s[1] for s in samples], "#1f77b4"),
              ("threads", [s[2] for s in samples], "#d62728"),
              ("RSS (MiB)", [s[3] / 1024 for s in samples], "#2ca02c")]
    times = [s[0] for s in samples] or [0]
    t_max = max(max(times), 1)
    height = top + len(series) * (panel + 30) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width/2}" y="22" text-anchor="middle" font-size="15">{title}</text>']
    for i, (name, values, color) in enumerate(series):
        y0 = top + i * (panel + 30)
        v_max = max(values + [1]) * 1.15
        plot_w = width - left - 20
        out.append(f'<rect x="{left}" y="{y0}" width="{plot_w}" height="{panel}" fill="none" stroke="#999"/>')
        wx = left + plot_w * warmup / t_max
        out.append(f'<rect x="{left}" y="{y0}" width="{max(0, wx-left):.1f}" height="{panel}" fill="#eee"/>')
        out.append(f'<text x="{left+4}" y="{y0+14}" fill="#666">warm-up</text>')
        for frac in (0, 0.5, 1):
            y = y0 + panel - panel * frac
            out.append(f'<text x="{left-6}" y="{y+4:.1f}" text-anchor="end">{v_max*frac:.0f}</text>')
        out.append(f'<text x="{left-55}" y="{y0+panel/2}" transform="rotate(-90 {left-55} {y0+panel/2})" text-anchor="middle">{name}</text>')
        if values:
            peak = max(v for t, v in zip(times, values) if t <= warmup) if any(t <= warmup for t in times) else 0
            limit_y = y0 + panel - panel * (peak * GROWTH_ALLOWED) / v_max
            out.append(f'<line x1="{left}" x2="{left+plot_w}" y1="{limit_y:.1f}" y2="{limit_y:.1f}" stroke="#f90" stroke-dasharray="4 3"/>')
            points = " ".join(f"{left + plot_w * t / t_max:.1f},{y0 + panel - panel * v / v_max:.1f}" for t, v in zip(times, values))
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>')
        out.append(f'<text x="{left+plot_w}" y="{y0+panel+14}" text-anchor="end">{t_max:.0f} s</text>')
    out.append(f'<text x="{left}" y="{height-6}" fill="#f90">dashed: warm-up peak + 10 % (the limit)</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--loom", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--max-connections", type=int, default=32)
    p.add_argument("--idle-timeout", type=float, default=2.0)
    p.add_argument("--good", type=int, default=3)
    p.add_argument("--hostile", type=int, default=6)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--tls", action="store_true", help="serve over TLS (a certificate made now) and add TLS's hostile clients")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)

    command = [args.loom, "serve", "--mode", args.mode, "--port", "0", "--host", "127.0.0.1",
               "--handler", "echo", "--max-connections", str(args.max_connections),
               "--timeout", str(args.idle_timeout)]
    label = args.mode
    if args.tls:
        global TLS_CLIENT
        cert, key = make_certificate(tempfile.mkdtemp(prefix="loom-soak-tls-"))
        command += ["--tls-cert", cert, "--tls-key", key]
        TLS_CLIENT = ssl.create_default_context(cafile=cert)
        HOSTILE.extend(TLS_HOSTILE)
        label = f"{args.mode}+tls"
    args.mode = label                # file names, the chart and the verdict say which run it was
    log = open(os.path.join(args.out, f"{args.mode}-server.log"), "w")
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    line = server.stdout.readline()
    if "listening on" not in line:
        print(f"{args.mode}: the server did not start: {line!r}", file=sys.stderr)
        server.kill()
        return 2
    port = int(line.strip().rsplit(":", 1)[1])

    tally = Tally()
    start = time.monotonic()
    deadline = start + args.seconds
    warmup = max(10.0, args.seconds * WARMUP_FRACTION)
    # Serial mode answers one connection at a time, behind hostile ones: give it time.
    request_timeout = 60.0 if args.mode == "serial" else 20.0
    flood_lock = threading.Lock()
    threads = [threading.Thread(target=well_behaved, args=(port, deadline, tally, random.Random(args.seed + i), request_timeout), daemon=True)
               for i in range(args.good)]
    threads += [threading.Thread(target=hostile, args=(port, deadline, tally, random.Random(args.seed * 100 + i), i, args.max_connections, flood_lock), daemon=True)
                for i in range(args.hostile)]
    for t in threads:
        t.start()

    samples, died = [], None
    for _ in range(int(args.seconds) + 3600):
        now = time.monotonic()
        if server.poll() is not None:
            died = server.returncode
            break
        try:
            samples.append((now - start,) + sample(server.pid))
        except OSError:
            pass
        if now >= deadline and not any(t.is_alive() for t in threads):
            break
        if now >= deadline + 90:
            tally.fail("clients still running 90 s after the deadline")
            break
        time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))

    exit_code = None
    if died is None:
        server.send_signal(signal.SIGTERM)
        try:
            exit_code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            exit_code = "hung on SIGTERM"
    log.close()

    warm = [s for s in samples if s[0] <= warmup]
    after = [s for s in samples if s[0] > warmup]
    growth = []
    names = ["descriptors", "threads", "rss_kib"]
    peaks = {n: max((s[i + 1] for s in warm), default=0) for i, n in enumerate(names)}
    for i, n in enumerate(names):
        worst = max((s[i + 1] for s in after), default=0)
        if worst > peaks[n] * GROWTH_ALLOWED:
            growth.append(f"{n}: {worst} after the warm-up, peak {peaks[n]} during it")
    chart = os.path.join(args.out, f"soak-{args.mode}.svg")
    svg_chart(f"loom serve --mode {label}: {args.seconds:.0f} s soak", samples, warmup, chart)

    result = {
        "mode": args.mode, "seconds": args.seconds, "warmup": warmup,
        "hostile": tally.counts.get("hostile", 0),
        "hostile_by_kind": {k: tally.counts.get(k, 0) for k in HOSTILE},
        "verified": tally.counts.get("verified", 0),
        "failures": tally.failures[:20], "failure_count": len(tally.failures),
        "died": died, "exit_code": exit_code,
        "peak": {n: max((s[i + 1] for s in samples), default=0) for i, n in enumerate(names)},
        "warmup_peak": peaks,
        "final": dict(zip(names, samples[-1][1:])) if samples else {},
        "growth": growth, "samples": len(samples),
    }
    result["passed"] = (died is None and exit_code == 0 and not tally.failures and not growth
                        and result["verified"] > 0 and len(after) > 0)
    with open(os.path.join(args.out, f"soak-{args.mode}.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: result[k] for k in ("mode", "passed", "hostile", "verified", "failure_count", "died", "exit_code", "peak", "final", "growth")}))
    for failure in tally.failures[:5]:
        print(f"  {args.mode}: {failure}", file=sys.stderr)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
