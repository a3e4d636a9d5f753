#!/usr/bin/python3
"""The Linux peers of TcpRelayLabTests: a client on the left host, a server on the right one.

  stream (--connect HOST PORT | --listen PORT) [--send N] [--seed S] [--order both|send-first|recv-first]
         [--no-shutdown] [--reset-after N] [--prefix N] [--timeout T]
      One connection. It sends N bytes of a seeded stream (random.Random(S)) and reads what comes
      until end of stream: both at once (both), all of its own first and then the other's
      (send-first), or the other's whole stream first and then its own (recv-first). After its
      bytes it shuts its sending side down (unless --no-shutdown). With --reset-after it resets the
      connection (SO_LINGER 0) once it has read that many bytes. A listener prints "listening" once
      it listens. At the end one JSON line: bytes and SHA-256 of what was sent and received, the
      SHA-256 of the first --prefix bytes sent, the error that ended it ("reset", "refused",
      "timeout", ...; null for none) and when the last byte moved and the error came (seconds on
      the monotonic clock).
  echo-server PORT
      Echoes every connection (any number at once) back to its sender, half-close carried: what it
      reads it writes back, at the peer's end of stream it shuts its own side down.
  many HOST PORT --count N --seed S [--timeout T]
      N connections at once, each with its own payload (2..6 KiB, seeded by S and its number); each
      sends its payload, shuts down, and reads the echo to its end. One JSON line: how many came
      back whole and the first failures.
  trickle HOST PORT --count N --interval I [--timeout T]
      One connection that sends 100 bytes every I seconds, N times, reading the echo as it comes,
      then shuts down and reads to the end. One JSON line as stream prints.
Every wait is bounded by --timeout (default 120 s): the script never hangs its test.
"""
import argparse
import asyncio
import hashlib
import json
import random
import resource
import socket
import struct
import sys
import threading
import time

CHUNK = 256 * 1024


def error_name(e):
    if isinstance(e, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    return f"{type(e).__name__}: {e}"


class Stream:
    def __init__(self, sock, args):
        self.sock = sock
        self.args = args
        self.sent = 0
        self.received = 0
        self.sent_sha = hashlib.sha256()
        self.prefix_sha = hashlib.sha256()
        self.received_sha = hashlib.sha256()
        self.error = None
        self.last_move = time.monotonic()
        self.error_at = None
        self.eof_at = None
        self.lock = threading.Lock()

    def fail(self, e):
        with self.lock:
            if self.error is None:
                self.error = error_name(e)
                self.error_at = time.monotonic()

    def send_all(self):
        rng = random.Random(self.args.seed)
        left = self.args.send
        try:
            while left > 0:
                data = rng.randbytes(min(CHUNK, left))
                self.sock.sendall(data)
                self.sent_sha.update(data)
                if self.sent < self.args.prefix:
                    self.prefix_sha.update(data[:self.args.prefix - self.sent])
                self.sent += len(data)
                left -= len(data)
                self.last_move = time.monotonic()
            if not self.args.no_shutdown:
                self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.fail(e)

    def receive_all(self):
        try:
            while True:
                data = self.sock.recv(CHUNK)
                if not data:
                    self.eof_at = time.monotonic()
                    return
                self.received_sha.update(data)
                self.received += len(data)
                self.last_move = time.monotonic()
                if self.args.reset_after and self.received >= self.args.reset_after:
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.sock.close()
                    self.error = "we reset"
                    return
        except OSError as e:
            self.fail(e)

    def run(self):
        order = self.args.order
        if order == "both":
            sender = threading.Thread(target=self.send_all, daemon=True)
            sender.start()
            self.receive_all()
            sender.join(self.args.timeout)
        elif order == "send-first":
            self.send_all()
            if self.error is None:
                self.receive_all()
        else:
            self.receive_all()
            if self.error is None:
                self.send_all()

    def report(self):
        return {
            "sent": self.sent, "sent_sha": self.sent_sha.hexdigest(), "prefix_sha": self.prefix_sha.hexdigest(),
            "received": self.received, "received_sha": self.received_sha.hexdigest(),
            "error": self.error, "last_move": self.last_move, "error_at": self.error_at, "eof_at": self.eof_at,
            "now": time.monotonic(),
        }


def listener(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(4096)
    return s


def stream(args):
    if args.listen is not None:
        server = listener(args.listen)
        server.settimeout(args.timeout)
        print("listening", flush=True)
        sock, _ = server.accept()
        server.close()
    else:
        host, port = args.connect
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(args.timeout)
        try:
            sock.connect((host, int(port)))
        except OSError as e:
            print(json.dumps({"error": error_name(e), "connected": False}), flush=True)
            return
    sock.settimeout(args.timeout)
    s = Stream(sock, args)
    s.run()
    print(json.dumps(s.report()), flush=True)


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def echo_server(args):
    async def main():
        # asyncio listens again with its own backlog (100 by default): a thousand SYNs at once
        # would overflow it and Linux would answer with SYN cookies, which fail (and reset) when
        # the segment that completes the handshake is not the first one to arrive.
        server = await asyncio.start_server(echo, sock=listener(args.port), backlog=4096)
        print("listening", flush=True)
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def payload(seed, i):
    rng = random.Random(seed * 1_000_003 + i)
    return rng.randbytes(rng.randint(2048, 6144))


def many(args):
    async def one(i, start):
        data = payload(args.seed, i)
        await start.wait()
        try:
            reader, writer = await asyncio.open_connection(args.host, args.port)
            writer.write(data)
            await writer.drain()
            writer.write_eof()
            back = await reader.read(-1)
            writer.close()
        except OSError as e:
            return f"{i}: {error_name(e)}"
        if hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
            return f"{i}: {len(back)} bytes back of {len(data)}, not the same"
        return None

    async def main():
        start = asyncio.Event()
        tasks = [asyncio.create_task(one(i, start)) for i in range(args.count)]
        await asyncio.sleep(0)
        start.set()
        done, pending = await asyncio.wait(tasks, timeout=args.timeout)
        failures = [t.result() for t in done if t.result() is not None]
        failures += [f"{len(pending)} still open at the timeout"] if pending else []
        for t in pending:
            t.cancel()
        ok = sum(1 for t in done if t.result() is None)
        print(json.dumps({"ok": ok, "count": args.count, "failures": failures[:10], "failed": len(failures)}), flush=True)
    asyncio.run(main())


def trickle(args):
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(args.timeout)
    sock.connect((args.host, args.port))
    args.send, args.seed, args.prefix, args.reset_after, args.no_shutdown = 0, 0, 0, 0, False
    s = Stream(sock, args)
    reader = threading.Thread(target=s.receive_all, daemon=True)
    reader.start()
    rng = random.Random(5)
    try:
        for _ in range(args.count):
            data = rng.randbytes(100)
            sock.sendall(data)
            s.sent_sha.update(data)
            s.sent += len(data)
            time.sleep(args.interval)
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        s.fail(e)
    reader.join(args.timeout)
    print(json.dumps(s.report()), flush=True)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stream")
    s.add_argument("--connect", nargs=2, metavar=("HOST", "PORT"))
    s.add_argument("--listen", type=int)
    s.add_argument("--send", type=int, default=0)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--order", choices=["both", "send-first", "recv-first"], default="both")
    s.add_argument("--no-shutdown", action="store_true")
    s.add_argument("--reset-after", type=int, default=0)
    s.add_argument("--prefix", type=int, default=0)
    s.add_argument("--timeout", type=float, default=120)
    e = sub.add_parser("echo-server")
    e.add_argument("port", type=int)
    m = sub.add_parser("many")
    m.add_argument("host")
    m.add_argument("port", type=int)
    m.add_argument("--count", type=int, default=1000)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--timeout", type=float, default=120)
    t = sub.add_parser("trickle")
    t.add_argument("host")
    t.add_argument("port", type=int)
    t.add_argument("--count", type=int, default=12)
    t.add_argument("--interval", type=float, default=0.5)
    t.add_argument("--timeout", type=float, default=120)
    args = p.parse_args()
    {"stream": stream, "echo-server": echo_server, "many": many, "trickle": trickle}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
