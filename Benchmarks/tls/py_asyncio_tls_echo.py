#!/usr/bin/env python3
"""TLS echo server on asyncio streams with Python's ssl (single thread, default event loop).

Usage: py_asyncio_tls_echo.py PORT --cert CERT.pem --key KEY.pem [--backlog N]   (binds 127.0.0.1)
"""
import argparse
import asyncio
import os
import socket
import ssl

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--backlog", type=int, default=4096)
args = ap.parse_args()

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(args.cert, args.key)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", args.port, ssl=context,
                                        backlog=args.backlog, reuse_address=True)
    print(f"py_asyncio_tls_echo listening on 127.0.0.1:{args.port} pid={os.getpid()}", flush=True)
    async with server:
        await server.serve_forever()


try:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
except Exception:
    pass

asyncio.run(main())
