#!/usr/bin/env python3
"""guest-exec ADDRESS PORT COMMAND: runs COMMAND (a line for sh -c) in the QEMU test guest through
its command channel (guest-execd there, GuestHost.cs here); prints its output and errors as they
come and exits with its exit status. 255 when the channel cannot be reached or takes no command
within a minute; 143 when the
connection ends without a status (the command's process group was stopped)."""
import base64
import socket
import sys
import time

MARK = b"\x1eguest-exit "
ACK = b"\x1f"


def connect(address, port):
    # The channel's socat forks a child per connection; under TCG a busy guest may be slow to accept.
    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.create_connection((address, port), timeout=10)
        except OSError as e:
            if time.monotonic() > deadline:
                sys.stderr.write(f"guest-exec: the guest's command channel {address}:{port}: {e}\n")
                sys.exit(255)
            time.sleep(0.2)


def start(address, port, command):
    """A connection on which guest-execd has taken the command (its 0x1f came back). A connection
    that takes it within 20 s is given up and another one made, 60 s at most; nothing ran on it."""
    deadline = time.monotonic() + 60
    while True:
        s = connect(address, port)
        s.settimeout(20)
        try:
            s.sendall(base64.b64encode(command.encode()) + b"\n")
            first = s.recv(1)
        except OSError:
            first = b""
        if first == ACK:
            s.settimeout(None)
            return s
        s.close()
        if time.monotonic() > deadline:
            sys.stderr.write(f"guest-exec: the guest's command channel {address}:{port} takes no command\n")
            sys.exit(255)
        time.sleep(0.5)


def main():
    address, port, command = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = start(address, port, command)
    out = sys.stdout.buffer
    held = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            out.write(held)
            out.flush()
            return 143
        held += chunk
        at = held.find(MARK)
        if at >= 0:
            out.write(held[:at])
            out.flush()
            rest = held[at + len(MARK):]
            while b"\n" not in rest:
                more = s.recv(64)
                if not more:
                    break
                rest += more
            try:
                return int(rest.split(b"\n")[0])
            except ValueError:
                return 255
        # Keep back only what could be the start of the status mark (it starts with 0x1e, which
        # output hardly holds), so that a line such as a server's "ready" is passed on at once.
        keep = 0
        for k in range(min(len(MARK) - 1, len(held)), 0, -1):
            if MARK.startswith(held[-k:]):
                keep = k
                break
        out.write(held[:len(held) - keep])
        out.flush()
        held = held[len(held) - keep:]


if __name__ == "__main__":
    sys.exit(main())
