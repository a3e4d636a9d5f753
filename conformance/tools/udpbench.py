#!/usr/bin/env python3
"""UDP benchmark peer for the conformance matrix (Python 3 standard library only).

Modes, each bounded in time:
  recv  receive datagrams (optionally of a multicast group) and measure the rate
  send  send datagrams as fast as possible from one or more processes
  echo  send a datagram, wait for it to come back, compare, repeat

Every mode prints its counts on one line and the rate as `VALUE <n> bits/sec <direction>`, the line
the runner reads (as in OpenBSD's netlink regression tests). Rates count UDP payload bytes only.
"""

import argparse
import errno
import ipaddress
import json
import math
import os
import select
import signal
import socket
import struct
import sys
import time

# Send errors that are the network's answer, not the tool's failure: queues full (ENOBUFS, EAGAIN
# after SO_SNDTIMEO) and ICMP errors a connected socket reports on its next send.
COUNTED_SEND_ERRORS = {errno.ENOBUFS, errno.EAGAIN, errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}

# The largest UDP payload of each family without jumbograms.
MAX_PAYLOAD = {socket.AF_INET: 65507, socket.AF_INET6: 65527}

# How long one blocked send may wait for room before it counts as EAGAIN and the clock is checked.
SEND_TIMEOUT_SECONDS = 0.2

# What a process may take beyond its own time limit before the parent kills it.
GRACE_SECONDS = 5.0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args.parser, args)  # the mode's own parser, so that errors show its usage


def build_parser():
    parser = argparse.ArgumentParser(prog="udpbench.py", description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True, metavar="MODE")

    recv = modes.add_parser("recv", help="receive and measure", description=(
        "Receive datagrams on PORT and count them. Prints `ready` once bound, then after T seconds, or "
        "IDLE seconds without data once data started: `datagrams N bytes B seconds S` and, with at "
        "least 2 datagrams, `VALUE <bits/sec> bits/sec recv` (payload bits over first to last datagram)."))
    recv.add_argument("--port", type=port_number, required=True)
    recv.add_argument("--bind", metavar="ADDR", help="local address (default: the group, else :: for IPv4 and IPv6)")
    recv.add_argument("--group", metavar="GROUP", help="multicast group to join (IPv4 or IPv6)")
    recv.add_argument("--ifaddr", metavar="ADDR_OR_IFNAME", help="interface to join GROUP on: its address, name or index")
    recv.add_argument("--seconds", type=positive_seconds, required=True, help="stop after this many seconds in all")
    recv.add_argument("--overhead", type=non_negative_int, default=0, metavar="BYTES",
                      help="header bytes to count per datagram in the rate (28 for UDP over IPv4, 48 over IPv6; default 0: payload only)")
    recv.add_argument("--idle", type=positive_seconds, default=2.0, help="stop after this many seconds without data once data started (default 2)")
    recv.set_defaults(run=run_recv, parser=recv)

    send = modes.add_parser("send", help="send as fast as possible", description=(
        "Send datagrams of SIZE payload bytes to ADDR:PORT for T seconds from N processes, each with its "
        "own socket. Prints `datagrams N bytes B seconds S errors E` and `VALUE <bits/sec> bits/sec send`. "
        "ENOBUFS, EAGAIN and ICMP errors (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH) are counted. "
        "Exit 0 if anything was sent."))
    send.add_argument("--to", metavar="ADDR", required=True)
    send.add_argument("--port", type=port_number, required=True)
    send.add_argument("--size", type=non_negative_int, required=True, help="payload bytes, 0 for empty datagrams")
    send.add_argument("--seconds", type=positive_seconds, required=True)
    send.add_argument("--parallel", type=positive_int, default=1, metavar="N", help="sending processes (default 1)")
    send.add_argument("--ifaddr", metavar="ADDR_OR_IFNAME", help="interface for a multicast ADDR: its address, name or index")
    send.add_argument("--overhead", type=non_negative_int, default=0, metavar="BYTES",
                      help="header bytes to count per datagram in the rate (default 0: payload only)")
    send.add_argument("--ttl", type=ttl_value, help="TTL or hop limit (multicast: default 1)")
    send.set_defaults(run=run_send, parser=send)

    echo = modes.add_parser("echo", help="send, wait for the echo, compare", description=(
        "Send a datagram of SIZE bytes to ADDR:PORT, wait up to TIMEOUT for it to come back, check it is "
        "the same, COUNT times in all (split over K processes). Prints `sent N received R bad B seconds S` "
        "and, if R > 0, `VALUE <bits/sec> bits/sec echo`. Exit 0 if R >= 99% of COUNT and B = 0. "
        "A process stops early once so many were lost that 99% cannot be reached."))
    echo.add_argument("--to", metavar="ADDR", required=True)
    echo.add_argument("--port", type=port_number, required=True)
    echo.add_argument("--size", type=non_negative_int, required=True)
    echo.add_argument("--count", type=positive_int, required=True)
    echo.add_argument("--timeout", type=positive_seconds, default=0.5, help="seconds to wait for each reply (default 0.5)")
    echo.add_argument("--parallel", type=positive_int, default=1, metavar="K", help="processes (default 1)")
    echo.set_defaults(run=run_echo, parser=echo)
    return parser


# --- argument types ---------------------------------------------------------------------------

def port_number(text):
    value = int_argument(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} not in 1..65535")
    return value


def non_negative_int(text):
    value = int_argument(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def positive_int(text):
    value = int_argument(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def ttl_value(text):
    value = int_argument(text)
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"ttl {value} not in 0..255")
    return value


def int_argument(text):
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def positive_seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def endpoint(parser, text, port):
    """(family, sockaddr) of a numeric address (IPv6 may carry %scope); no name lookup, so never a DNS wait."""
    try:
        ipaddress.ip_address(text.split("%", 1)[0])  # getaddrinfo would take the old forms like 10.1
        family, _, _, _, sockaddr = socket.getaddrinfo(text, port, socket.AF_UNSPEC, socket.SOCK_DGRAM, 0, socket.AI_NUMERICHOST)[0]
    except (ValueError, socket.gaierror, UnicodeError):
        parser.error(f"not an IPv4 or IPv6 address: {text!r}")
    return family, sockaddr


def is_multicast(text):
    return ipaddress.ip_address(text.split("%", 1)[0]).is_multicast


def interface(parser, spec, family):
    """--ifaddr as (IPv4 address or None, interface index or 0): an address of the family, a name or an index."""
    if spec.isdigit():
        return None, int(spec)
    try:
        address = ipaddress.ip_address(spec)
    except ValueError:
        try:
            return None, socket.if_nametoindex(spec)
        except OSError:
            parser.error(f"--ifaddr {spec}: no such interface or address")
    if (address.version == 4) != (family == socket.AF_INET):
        parser.error(f"--ifaddr {spec}: not of the family of the group")
    if family == socket.AF_INET:
        return str(address), 0
    index = ipv6_address_index(address)
    if index == 0:
        parser.error(f"--ifaddr {spec}: no interface has this address")
    return None, index


def ipv6_address_index(address):
    """The index of the interface that has IPv6 <address>, from /proc/net/if_inet6 (0 if none)."""
    try:
        with open("/proc/net/if_inet6") as table:
            for line in table:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == address.packed.hex():
                    return int(fields[1], 16)
    except OSError:
        pass
    return 0


def ip_mreqn(group, address, index):
    """Linux's struct ip_mreqn: group, local address, interface index (an address or an index picks the interface)."""
    return socket.inet_aton(group or "0.0.0.0") + socket.inet_aton(address or "0.0.0.0") + struct.pack("@i", index)


# --- recv -------------------------------------------------------------------------------------

def run_recv(parser, args):
    if args.ifaddr is not None and args.group is None:
        parser.error("--ifaddr needs --group")
    if args.group is not None:
        family, _ = endpoint(parser, args.group, args.port)
        if not is_multicast(args.group):
            parser.error(f"--group {args.group} is not a multicast address")
        address, index = interface(parser, args.ifaddr, family) if args.ifaddr else (None, 0)
        bind = args.bind or args.group  # bound to the group, the socket takes only that group's datagrams
    else:
        family = None
        bind = args.bind

    if bind is not None:
        bind_family, sockaddr = endpoint(parser, bind, args.port)
        if family is not None and bind_family != family:
            parser.error(f"--bind {bind} is not of the family of --group {args.group}")
        sock = socket.socket(bind_family, socket.SOCK_DGRAM)
    else:
        sock, sockaddr = wildcard_socket(args.port)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        enlarge_receive_buffer(sock)
        sock.bind(sockaddr)
        if args.group is not None:
            join(sock, family, args.group, address, index)
    except OSError as e:
        print(f"udpbench recv: {bind or '*'} port {args.port}: {e.strerror or e}", file=sys.stderr)
        return 1
    print("ready", flush=True)

    datagrams, total, first, last = receive(sock, args.seconds, args.idle)
    seconds = last - first if datagrams else 0.0
    print(f"datagrams {datagrams} bytes {total} seconds {seconds:.6f}")
    if datagrams >= 2 and seconds > 0:
        print(f"VALUE {int((total + datagrams * args.overhead) * 8 / seconds)} bits/sec recv")
    sys.stdout.flush()
    return 0


def wildcard_socket(port):
    """A socket for any address: IPv6 with IPv4 mapped in, or IPv4 alone where IPv6 is off."""
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        return sock, ("::", port, 0, 0)
    except OSError:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM), ("0.0.0.0", port)


def enlarge_receive_buffer(sock, size=8 << 20):
    # A bigger queue rides out the moments Python is not reading; FORCE passes rmem_max as root.
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUFFORCE, size)
    except (OSError, AttributeError):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        except OSError:
            pass


def join(sock, family, group, address, index):
    if family == socket.AF_INET:
        # IP_ADD_MEMBERSHIP with an interface address (ip_mreq) or, for a name, its index (ip_mreqn).
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, ip_mreqn(group, address, index))
    else:
        mreq = socket.inet_pton(socket.AF_INET6, group.split("%", 1)[0]) + struct.pack("@I", index)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)


def receive(sock, seconds, idle):
    """Counts datagrams until <seconds> have passed, or <idle> seconds without one once they started."""
    sock.setblocking(False)
    buffer = bytearray(65536)
    recv_into = sock.recv_into
    clock = time.monotonic
    deadline = clock() + seconds
    datagrams = total = 0
    first = last = 0.0
    while True:
        now = clock()
        wait = deadline - now
        if datagrams:
            wait = min(wait, last + idle - now)
        if wait <= 0:
            break
        readable, _, _ = select.select([sock], [], [], wait)
        if not readable:
            continue
        # Drain the queue without a select per datagram, but keep an eye on the clock.
        while True:
            try:
                length = recv_into(buffer)
            except (BlockingIOError, ConnectionRefusedError):
                break
            now = clock()
            if not datagrams:
                first = now
            last = now
            datagrams += 1
            total += length
            if now >= deadline:
                break
    return datagrams, total, first, last


# --- send -------------------------------------------------------------------------------------

def run_send(parser, args):
    family, sockaddr = endpoint(parser, args.to, args.port)
    if args.size > MAX_PAYLOAD[family]:
        parser.error(f"--size {args.size} is more than a UDP datagram can carry ({MAX_PAYLOAD[family]})")
    multicast = is_multicast(args.to)
    if args.ifaddr is not None and not multicast:
        parser.error("--ifaddr is for a multicast --to")
    address, index = interface(parser, args.ifaddr, family) if args.ifaddr else (None, 0)

    def work(_):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        configure_sender(sock, family, multicast, address, index, args.ttl)
        sock.connect(sockaddr)
        return send_for(sock, bytes(pattern(args.size)), args.seconds)

    results = run_processes(args.parallel, work, args.seconds + SEND_TIMEOUT_SECONDS)
    datagrams = sum(r["datagrams"] for r in results)
    errors = sum(r["errors"] for r in results)
    total = datagrams * args.size
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results) if results else 0.0
    print(f"datagrams {datagrams} bytes {total} seconds {seconds:.6f} errors {errors}")
    if datagrams and seconds > 0:
        print(f"VALUE {int((total + datagrams * args.overhead) * 8 / seconds)} bits/sec send")
    sys.stdout.flush()
    if not datagrams:
        print("udpbench send: nothing was sent", file=sys.stderr)
        return 1
    return 0


def configure_sender(sock, family, multicast, address, index, ttl):
    # A bounded wait for room in the send buffer: a blocked send returns EAGAIN instead of hanging.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("@ll", 0, int(SEND_TIMEOUT_SECONDS * 1e6)))
    if family == socket.AF_INET:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)  # so a directed broadcast case can send too
        if multicast:
            if address is not None or index:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, ip_mreqn(None, address, index))
            if ttl is not None:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        elif ttl is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    else:
        if multicast:
            if index:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            if ttl is not None:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
        elif ttl is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)


def send_for(sock, payload, seconds):
    send = sock.send
    clock = time.monotonic
    datagrams = errors = 0
    start = clock()
    deadline = start + seconds
    while clock() < deadline:
        # The clock is read once per 64 sends; an error leaves the batch so a slow one cannot overrun.
        for _ in range(64):
            try:
                send(payload)
            except OSError as e:
                if e.errno not in COUNTED_SEND_ERRORS:
                    raise
                errors += 1
                break
            datagrams += 1
    return {"datagrams": datagrams, "errors": errors, "start": start, "end": clock()}


def pattern(size):
    """<size> bytes that are not all zero, so a peer that zeroes or truncates is caught by echo."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


# --- echo -------------------------------------------------------------------------------------

ECHO_HEADER = struct.Struct("!II")  # process number, sequence number: tells a late reply from a wrong one


def run_echo(parser, args):
    family, sockaddr = endpoint(parser, args.to, args.port)
    if args.size > MAX_PAYLOAD[family]:
        parser.error(f"--size {args.size} is more than a UDP datagram can carry ({MAX_PAYLOAD[family]})")
    parallel = min(args.parallel, args.count)
    shares = [args.count // parallel + (1 if i < args.count % parallel else 0) for i in range(parallel)]
    # Once more than this many are lost in one process, 99 % of the count cannot be reached any more.
    allowed_losses = args.count - math.ceil(args.count * 0.99)

    def work(i):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.connect(sockaddr)
        return echo_some(sock, i, shares[i], args.size, args.timeout, allowed_losses)

    start = time.monotonic()
    results = run_processes(parallel, work, max(shares) * args.timeout)
    seconds = time.monotonic() - start
    sent = sum(r["sent"] for r in results)
    received = sum(r["received"] for r in results)
    bad = sum(r["bad"] for r in results)
    print(f"sent {sent} received {received} bad {bad} seconds {seconds:.6f}")
    if received:
        print(f"VALUE {int(received * args.size * 8 / seconds)} bits/sec echo")
    sys.stdout.flush()
    why = []
    if len(results) < parallel:
        why.append(f"{parallel - len(results)} of {parallel} processes failed")
    if received < args.count * 0.99:
        why.append(f"received {received} of {args.count}, less than 99%")
    if bad:
        why.append(f"{bad} replies differed from what was sent")
    if why:
        print("udpbench echo: " + "; ".join(why), file=sys.stderr)
        return 1
    return 0


def echo_payload(process, sequence, size, filler):
    if size < ECHO_HEADER.size:
        return filler
    return ECHO_HEADER.pack(process, sequence) + filler[ECHO_HEADER.size:]


def echo_some(sock, process, count, size, timeout, allowed_losses):
    sock.setblocking(False)
    filler = bytes(pattern(size))
    clock = time.monotonic
    sent = received = bad = lost = 0
    for sequence in range(count):
        if lost > allowed_losses:
            break
        payload = echo_payload(process, sequence, size, filler)
        try:
            sock.send(payload)
        except OSError as e:
            if e.errno not in COUNTED_SEND_ERRORS:
                raise
            lost += 1  # a refused or unreachable peer reported on the send: this one is gone
            continue
        sent += 1
        deadline = clock() + timeout
        while True:
            wait = deadline - clock()
            readable = select.select([sock], [], [], wait)[0] if wait > 0 else []
            if not readable:
                lost += 1
                break
            try:
                reply = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno not in COUNTED_SEND_ERRORS:
                    raise
                lost += 1  # ICMP port or host unreachable: no reply will come
                break
            if reply == payload:
                received += 1
                break
            if is_late(reply, process, sequence, size, filler):
                continue  # the echo of one that timed out earlier: keep waiting for this one
            bad += 1
            if bad == 1:
                print(f"udpbench echo: process {process}: the reply to datagram {sequence} differs: "
                      f"{len(reply)} bytes, {first_difference(reply, payload)}", file=sys.stderr, flush=True)
            break
    return {"sent": sent, "received": received, "bad": bad}


def first_difference(reply, payload):
    for i, (got, wanted) in enumerate(zip(reply, payload)):
        if got != wanted:
            return f"byte {i} is {got:#04x}, not {wanted:#04x}"
    return f"{len(payload)} bytes were sent"


def is_late(reply, process, sequence, size, filler):
    if size < ECHO_HEADER.size or len(reply) != size:
        return False
    their_process, their_sequence = ECHO_HEADER.unpack_from(reply)
    return their_process == process and their_sequence < sequence and reply == echo_payload(process, their_sequence, size, filler)


# --- processes --------------------------------------------------------------------------------

def run_processes(count, work, seconds):
    """
    Runs work(i) for i in 0..count-1, each in a forked process (its own socket, its own source port),
    and returns the dicts they report. A process that fails reports nothing (its error goes to
    stderr); one that is still running <seconds> + grace later is killed, so the whole is bounded.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    children = {}
    for i in range(count):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            child(i, work, write_end, seconds)
        os.close(write_end)
        children[read_end] = (pid, bytearray())

    deadline = time.monotonic() + seconds + GRACE_SECONDS
    open_ends = set(children)
    while open_ends:
        wait = deadline - time.monotonic()
        if wait <= 0:
            break
        for fd in select.select(list(open_ends), [], [], wait)[0]:
            chunk = os.read(fd, 65536)
            if chunk:
                children[fd][1].extend(chunk)
            else:
                open_ends.discard(fd)
    results = []
    for fd, (pid, data) in children.items():
        if fd in open_ends:
            print(f"udpbench: process {pid} overran its time, killed", file=sys.stderr)
            os.kill(pid, signal.SIGKILL)
        os.close(fd)
        os.waitpid(pid, 0)
        if data:
            try:
                results.append(json.loads(data))
            except ValueError:
                print(f"udpbench: process {pid} reported garbage", file=sys.stderr)
    return results


def child(i, work, write_end, seconds):
    code = 1
    try:
        # A backstop of its own, should the parent be gone: SIGALRM ends the process.
        signal.alarm(int(math.ceil(seconds + GRACE_SECONDS)) + 1)
        result = work(i)
        os.write(write_end, json.dumps(result).encode())
        code = 0
    except OSError as e:
        print(f"udpbench: process {i}: {e.strerror or e}", file=sys.stderr)
    except BaseException as e:  # anything else, reported, never a second copy of the parent running on
        print(f"udpbench: process {i}: {e!r}", file=sys.stderr)
    finally:
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
