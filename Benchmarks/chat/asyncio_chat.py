#!/usr/bin/env python3
"""The chat room of `loom chat serve`, in Python asyncio, for comparison (Benchmarks/chat/run.sh).

Same protocol, same limits, same errors, one event loop: asyncio.Protocol callbacks, the room
as plain dicts (one thread, so no lock), a member dropped as too slow when more than --max-queue
lines wait while its transport has paused writing (its 64 KiB buffer is full).
Prints `listening on tcp://HOST:PORT` first; SIGINT/SIGTERM tell every member
{"event":"shutdown"} and exit 0.
"""
import argparse
import asyncio
import json
import signal
import sys

MAX_LINE = 65536
MAX_NAME = 64


def line(obj):
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class ProtocolError(Exception):
    pass


def parse(raw, joined):
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("line is not valid UTF-8")
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            # Lone surrogates (\ud800) are not text: refused as Foundation refuses them.
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError, RecursionError):
        raise ProtocolError("line is not a JSON object")
    if not isinstance(obj, dict):
        raise ProtocolError("line is not a JSON object")
    if obj.get("leave") is True:
        msg = obj.get("msg")
        return ("leave", msg if isinstance(msg, str) else None)
    if not joined:
        name = obj.get("name")
        if not isinstance(name, str) or not name:
            raise ProtocolError('the first line must be {"name":"…"} with a non-empty name')
        if len(name.encode("utf-8")) > MAX_NAME:
            raise ProtocolError("name longer than %d bytes" % MAX_NAME)
        return ("join", name)
    cmd = obj.get("cmd")
    if isinstance(cmd, str):
        if cmd != "who":
            raise ProtocolError("unknown cmd " + cmd)
        return ("who", None)
    msg = obj.get("msg")
    if not isinstance(msg, str):
        raise ProtocolError('expected a string msg, "leave":true or a cmd')
    return ("say", msg)


class Room:
    def __init__(self, max_queue):
        self.members = {}  # name -> Connection, in join order (dicts keep insertion order)
        self.max_queue = max_queue
        self.shut_down = False

    def broadcast(self, data):
        slow = [c for c in list(self.members.values()) if not c.send(data)]
        for c in slow:
            self.drop(c)

    def drop(self, conn):
        if conn.name in self.members and self.members[conn.name] is conn:
            del self.members[conn.name]
            conn.gone = True
            conn.transport.abort()
            self.broadcast(line({"event": "leave", "name": conn.name, "reason": "too slow"}))

    def leave(self, conn, msg=None, has_msg=False):
        if conn.name is not None and self.members.get(conn.name) is conn:
            del self.members[conn.name]
            event = {"event": "leave", "name": conn.name}
            if has_msg:
                event["msg"] = msg
            self.broadcast(line(event))
        conn.gone = True

    def shutdown(self):
        self.shut_down = True
        data = line({"event": "shutdown"})
        members, self.members = list(self.members.values()), {}
        for c in members:
            c.gone = True
            c.send(data)
            c.close()


class Connection(asyncio.Protocol):
    def __init__(self, room):
        self.room = room
        self.name = None
        self.gone = False
        self.buffer = b""
        self.pending = []
        self.paused = False
        self.lingering = 0
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(6, 1, 1)  # TCP_NODELAY

    # The member's outgoing queue.
    def send(self, data):
        if self.transport.is_closing():
            return True
        if self.paused:
            if len(self.pending) >= self.room.max_queue:
                return False
            self.pending.append(data)
            return True
        self.transport.write(data)
        return True

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        if self.pending:
            data, self.pending = b"".join(self.pending), []
            self.transport.write(data)

    def close(self):
        if self.pending:
            self.transport.write(b"".join(self.pending))
            self.pending = []
        self.transport.close()

    def refuse(self, text, closing):
        if not self.send(line({"error": text})) and self.name is not None:
            self.room.drop(self)
        if closing:
            self.room.leave(self)
            self.gone = True
            self.close()

    def data_received(self, data):
        if self.lingering:
            self.lingering += len(data)
            if self.lingering > (16 << 20):
                self.transport.abort()
            return
        if self.gone:
            return
        self.buffer += data
        while not self.gone:
            index = self.buffer.find(b"\n")
            if index < 0:
                break
            raw, self.buffer = self.buffer[:index], self.buffer[index + 1:]
            if len(raw) > MAX_LINE:
                return self.too_long()
            self.handle(raw)
        if len(self.buffer) > MAX_LINE:
            self.too_long()

    def too_long(self):
        self.buffer = b""
        self.lingering = 1
        self.refuse("line longer than %d bytes" % MAX_LINE, closing=False)
        self.room.leave(self)
        if self.pending:
            self.transport.write(b"".join(self.pending))
            self.pending = []
        self.transport.write_eof()

    def handle(self, raw):
        room = self.room
        joined = self.name is not None
        try:
            kind, value = parse(raw, joined)
        except ProtocolError as error:
            return self.refuse(str(error), closing=not joined)
        if kind == "join":
            if room.shut_down:
                return self.refuse("server is shutting down", closing=True)
            if value in room.members:
                return self.refuse("name %s is already taken" % value, closing=True)
            self.name = value
            room.members[value] = self
            room.broadcast(line({"event": "join", "name": value}))
        elif kind == "say":
            room.broadcast(line({"from": self.name, "msg": value}))
        elif kind == "who":
            if not self.send(line({"event": "members", "names": list(room.members)})):
                room.drop(self)
        else:  # leave
            room.leave(self, value, value is not None)
            self.close()

    def eof_received(self):
        self.buffer = b""
        self.room.leave(self)
        return False

    def connection_lost(self, exc):
        self.room.leave(self)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9998)
    parser.add_argument("--max-queue", type=int, default=1000)
    args = parser.parse_args()
    room = Room(args.max_queue)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(room), args.host, args.port)
    host, port = server.sockets[0].getsockname()[:2]
    print("listening on tcp://%s:%d" % (host, port), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    room.shutdown()
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
