# TcpAbuseLab.py: a TCP peer written with scapy that owns a connection to the dataplane's echo app
# and abuses it, one step per line read from standard input; TcpAbuseLabTests.cs drives it and
# checks the dataplane's counters between steps.
#
# usage: TcpAbuseLab.py IFACE NAMES-JSON   (DPMAC, FAKEMAC, FAKE4, FAKE6, DP4, DP6, PORT)
#
# The peer is a host that does not exist: addresses FAKE4 and FAKE6 at FAKEMAC, which this script
# alone answers for (ARP and neighbour discovery, from a sniffer thread), so the kernel of the
# namespace it runs in never sees the connection and never resets it: no host setting changes.
#
# Each step writes one line, "STEP ok DETAIL" or "STEP fail DETAIL": ok when the dataplane
# answered on the wire as RFC 9293 / RFC 5961 / RFC 7323 / RFC 2883 say. Steps:
#   open 4|6          handshake (MSS, SACK-permitted, timestamps, window scale), "hello\n" echoed
#   rst-in-window     RST inside the window, not at RCV.NXT: a challenge ACK (RFC 5961 3.2)
#   syn               SYN on the established connection: a challenge ACK (RFC 5961 4.2)
#   data-beyond       data 2^30 past RCV.NXT: an ACK at RCV.NXT, nothing taken (RFC 9293 3.10.7.4)
#   data-old          data received already: an ACK with a DSACK block for it (RFC 2883)
#   paws              data at RCV.NXT with an old timestamp: an ACK, nothing taken (RFC 7323 5.3)
#   ack-unsent        data acknowledging bytes never sent: an ACK, nothing taken (RFC 5961 5.2)
#   flight            20000 bytes, their echo left unacknowledged: data in flight from the dataplane
#   sack-invalid      an ACK with 3 bad SACK blocks: beyond SND.NXT, inverted, far below SND.UNA
#   sack-tiny         60 ACKs with 3 one-byte (and overlapping) SACK blocks each inside the flight
#   ack-all           everything echoed is acknowledged; the stream so far is what was sent
#   echo              "still alive\n" comes back; the whole stream is exactly what was sent
#   rst-exact         RST at RCV.NXT: the connection is gone, nothing answers
import json
import queue
import random
import socket
import sys
import threading
import time

from scapy.all import (ARP, IP, TCP, AsyncSniffer, Ether, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, IPv6, Raw)

iface, names = sys.argv[1], json.loads(sys.argv[2])
DPMAC, FAKEMAC, PORT = names['DPMAC'], names['FAKEMAC'], int(names['PORT'])
FAKE4, FAKE6, DP4, DP6 = names['FAKE4'], names['FAKE6'], names['DP4'], names['DP6']
FAKE6_BYTES = socket.inet_pton(socket.AF_INET6, FAKE6)

wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
wire.bind((iface, 0))
segments = queue.Queue()  # TCP segments from the dataplane to the fake host


def on_frame(p):
    """The sniffer: answers ARP and ND for the fake host, queues the dataplane's segments to it."""
    if ARP in p and p[ARP].op == 1 and p[ARP].pdst == FAKE4:
        wire.send(bytes(Ether(dst=p[ARP].hwsrc, src=FAKEMAC) /
                        ARP(op=2, hwsrc=FAKEMAC, psrc=FAKE4, hwdst=p[ARP].hwsrc, pdst=p[ARP].psrc)))
    elif ICMPv6ND_NS in p and socket.inet_pton(socket.AF_INET6, p[ICMPv6ND_NS].tgt) == FAKE6_BYTES:
        wire.send(bytes(Ether(dst=p[Ether].src, src=FAKEMAC) / IPv6(src=FAKE6, dst=p[IPv6].src) /
                        ICMPv6ND_NA(tgt=FAKE6, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=FAKEMAC)))
    elif TCP in p and p[Ether].dst == FAKEMAC and p[TCP].sport == PORT:
        segments.put(p)


class Peer:
    """One connection: our SND.NXT (seq), our RCV.NXT (ack), the timestamps, what came back."""

    def __init__(self, family):
        self.v6 = family == '6'
        self.src, self.dst = (FAKE6, DP6) if self.v6 else (FAKE4, DP4)
        self.mss = 1500 - (40 if self.v6 else 20) - 20 - 12  # our segments' payload: the link's MTU less headers and timestamps
        self.sport = random.randint(20000, 60000)
        self.iss = random.getrandbits(32)
        self.seq = self.iss
        self.ack = 0
        self.ts = random.randint(1 << 20, 1 << 30)  # our timestamp clock: +1 a segment
        self.ts_recent = 0
        self.sent = b''  # the bytes the echo should send back, in order
        self.parts = {}  # what came back, by sequence number (retransmissions overwrite)
        self.received = b''
        self.irs = 0

    def send(self, flags, seq=None, ack=None, data=b'', tsval=None, sack=None, window=502):
        self.ts += 1
        options = [('NOP', None), ('NOP', None), ('Timestamp', ((self.ts if tsval is None else tsval) % (1 << 32), self.ts_recent))]
        if sack:
            options += [('NOP', None), ('NOP', None), ('SAck', tuple(x % (1 << 32) for b in sack for x in b))]
        ip = IPv6(src=self.src, dst=self.dst) if self.v6 else IP(src=self.src, dst=self.dst)
        tcp = TCP(sport=self.sport, dport=PORT, flags=flags, window=window, options=options,
                  seq=(self.seq if seq is None else seq) % (1 << 32), ack=(self.ack if ack is None else ack) % (1 << 32))
        wire.send(bytes(Ether(dst=DPMAC, src=FAKEMAC) / ip / tcp / data))

    def take(self, t):
        """Notes a segment from the dataplane: its timestamp, its data; RCV.NXT moves over what is contiguous."""
        for kind, value in t.options:
            if kind == 'Timestamp':
                self.ts_recent = value[0]
        data = bytes(t.payload) if Raw in t else b''
        if data:
            self.parts[(t.seq - self.irs - 1) % (1 << 32)] = data
            while True:
                at = len(self.received)
                more = [d[at - o:] for o, d in self.parts.items() if o <= at < o + len(d)]
                if not more:
                    break
                self.received += max(more, key=len)
            self.ack = self.irs + 1 + len(self.received)

    def wait(self, match, timeout=5.0):
        """The first segment of this connection that match() accepts within timeout, or None; notes all."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                t = segments.get(timeout=left)[TCP]
            except queue.Empty:
                return None
            if t.dport != self.sport:
                continue  # an earlier connection's
            self.take(t)
            if match(t):
                return t
        return None

    def quiet(self, period=0.3, limit=5.0):
        """Takes what the dataplane sends until it has been quiet for period (limit at most)."""
        end = time.monotonic() + limit
        while time.monotonic() < end and self.wait(lambda t: True, period) is not None:
            pass

    def challenge(self, what, check=lambda t: None):
        """Waits for the ACK the dataplane owes: at our SND.NXT, neither SYN nor RST, no data; check() may object."""
        reply = self.wait(lambda t: t.flags.A and not (t.flags.R or t.flags.S) and t.ack == self.seq % (1 << 32) and Raw not in t)
        if reply is None:
            return False, f'{what}: no ACK at {self.seq % (1 << 32)} came back'
        objection = check(reply)
        return objection is None, f'{what}: ACK seq={reply.seq} ack={reply.ack} options={reply.options}' + (f': {objection}' if objection else '')

    def push(self, data):
        """Sends data in MSS-sized segments."""
        for i in range(0, len(data), self.mss):
            self.send('PA' if i + self.mss >= len(data) else 'A', data=data[i:i + self.mss])
            self.seq += len(data[i:i + self.mss])
        self.sent += data

    def echo(self, data, timeout=10.0):
        """Sends data and waits until its echo came back (not acknowledged yet): whether all of it did."""
        self.push(data)
        self.wait(lambda t: len(self.received) >= len(self.sent), timeout)
        return self.received == self.sent


def step_open(peer):
    peer.ts += 1
    syn_options = [('MSS', peer.mss + 12), ('SAckOK', b''), ('Timestamp', (peer.ts, 0)), ('NOP', None), ('WScale', 7)]
    ip = IPv6(src=peer.src, dst=peer.dst) if peer.v6 else IP(src=peer.src, dst=peer.dst)
    wire.send(bytes(Ether(dst=DPMAC, src=FAKEMAC) / ip / TCP(sport=peer.sport, dport=PORT, flags='S', seq=peer.iss, window=65535, options=syn_options)))
    synack = peer.wait(lambda t: t.flags.S and t.flags.A and t.ack == (peer.iss + 1) % (1 << 32))
    if synack is None:
        return False, 'no SYN-ACK'
    options = dict(synack.options)
    if 'Timestamp' not in options or 'SAckOK' not in options:
        return False, f'the SYN-ACK lacks timestamps or SACK-permitted: {synack.options}'
    peer.irs, peer.seq = synack.seq, peer.iss + 1
    peer.ack = synack.seq + 1
    peer.ts_recent = options['Timestamp'][0]
    peer.send('A')
    if not peer.echo(b'hello\n'):
        return False, f'"hello" did not come back: {peer.received!r}'
    peer.send('A')
    peer.quiet()
    return True, f'port {peer.sport}, options {synack.options}'


def step_rst_in_window(peer):
    peer.send('R', seq=peer.seq + 1000)
    return peer.challenge('RST at RCV.NXT+1000')


def step_syn(peer):
    peer.send('S', seq=peer.seq + 100)
    return peer.challenge('SYN at RCV.NXT+100')


def step_data_beyond(peer):
    peer.send('PA', seq=peer.seq + (1 << 30), data=b'B' * 100)
    return peer.challenge('100 bytes at RCV.NXT+2^30')


def step_data_old(peer):
    peer.send('PA', seq=peer.seq - 6, data=peer.sent[-6:])
    dsack = ((peer.seq - 6) % (1 << 32), peer.seq % (1 << 32))

    def first_block(t):
        blocks = [v for k, v in t.options if k == 'SAck']
        return None if blocks and tuple(blocks[0][:2]) == dsack else f'no DSACK block {dsack} first'
    return peer.challenge('the last 6 bytes again', first_block)


def step_paws(peer):
    peer.send('PA', data=b'PAWS!', tsval=peer.ts - (1 << 28))
    return peer.challenge('5 bytes at RCV.NXT, timestamp 2^28 old')


def step_ack_unsent(peer):
    peer.send('PA', ack=peer.ack + 0x10000, data=b'NEVR')
    return peer.challenge('4 bytes acknowledging 64 KiB never sent')


FLIGHT = bytes(random.getrandbits(8) for _ in range(20000))


def step_flight(peer):
    base = len(peer.received)
    peer.una = peer.ack  # the dataplane's SND.UNA: all we acknowledge from here on
    peer.push(FLIGHT)
    # Its first window comes back and waits for our ACK; its loss probes and retransmissions may follow.
    peer.wait(lambda t: len(peer.received) > base)
    peer.quiet(0.2, 2.0)
    if len(peer.received) == base:
        return False, 'nothing of the 20000 bytes came back'
    return True, f'{len(peer.received) - base} of 20000 bytes came back, SND.UNA {peer.una % (1 << 32)}'


def step_sack_invalid(peer):
    una, nxt = peer.una, peer.ack
    peer.send('A', ack=una, sack=[(nxt + 1000, nxt + 2000), (una + 2000, una + 1000), (una - (1 << 30), una - (1 << 30) + 100)])
    peer.quiet(0.1, 1.0)
    return True, 'blocks beyond SND.NXT, inverted, below SND.UNA'


def step_sack_tiny(peer):
    una, nxt = peer.una, peer.ack
    span = (nxt - una) % (1 << 32)
    for i in range(60):
        at = una + 1 + (i * 331) % max(span - 4, 1)
        peer.send('A', ack=una, sack=[(at, at + 1), (at + 1, at + 3), (at, at + 2)])
    peer.quiet(0.1, 1.0)
    return True, f'60 ACKs with 3 one-byte or overlapping blocks in {span} bytes of flight'


def step_ack_all(peer):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(peer.received) < len(peer.sent):
        peer.send('A')  # each ACK opens the window for more
        peer.wait(lambda t: Raw in t, 1.0)
    peer.send('A')
    peer.quiet()
    if peer.received != peer.sent:
        return False, f'{len(peer.received)} of {len(peer.sent)} bytes back, or different ones'
    return True, f'all {len(peer.sent)} bytes back in order'


def step_echo(peer):
    if not peer.echo(b'still alive\n'):
        return False, f'the stream back differs from what was sent ({len(peer.received)} of {len(peer.sent)} bytes)'
    peer.send('A')
    peer.quiet()
    return peer.received == peer.sent, f'all {len(peer.sent)} bytes back, nothing of the dropped segments among them'


def step_rst_exact(peer):
    peer.send('R')
    reply = peer.wait(lambda t: True, 0.5)
    return reply is None, 'nothing answered' if reply is None else f'answered: {reply.flags} seq={reply.seq} ack={reply.ack}'


STEPS = {
    'rst-in-window': step_rst_in_window, 'syn': step_syn, 'data-beyond': step_data_beyond,
    'data-old': step_data_old, 'paws': step_paws, 'ack-unsent': step_ack_unsent,
    'flight': step_flight, 'sack-invalid': step_sack_invalid, 'sack-tiny': step_sack_tiny,
    'ack-all': step_ack_all, 'echo': step_echo, 'rst-exact': step_rst_exact,
}

ready = threading.Event()
sniffer = AsyncSniffer(iface=iface, prn=on_frame, store=False, started_callback=ready.set)
sniffer.start()
ready.wait(30)
print('ready.', flush=True)
peer = None
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    try:
        if words[0] == 'open':
            peer = Peer(words[1])
            ok, detail = step_open(peer)
        else:
            ok, detail = STEPS[words[0]](peer)
    except Exception as e:  # a broken step says so; the test fails on it
        ok, detail = False, f'{type(e).__name__}: {e}'
    print(f"{words[0]} {'ok' if ok else 'fail'} {detail}", flush=True)
