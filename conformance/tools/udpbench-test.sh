#!/bin/bash
# Tests udpbench.py for real, in network namespaces of its own (root):
#   A: loopback for recv/send over IPv4 and IPv6 and for echo against socat;
#   A <-> B: a veth pair for IPv4 and IPv6 multicast.
# Every command runs under timeout; the namespaces and what runs in them go on exit, also on failure.
# Prints "N passed, N failed" and exits 1 if anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
ub=(python3 "$here/udpbench.py")
a=dpl-ub-$$-a
b=dpl-ub-$$-b
work=$(mktemp -d /tmp/dpl-ub-$$.XXXXXX)
passed=0
failed=0

if [ "$(id -u)" != 0 ]; then
	echo "udpbench-test: needs root (network namespaces)" >&2
	exit 2
fi

cleanup() {
	for ns in "$a" "$b"; do
		# Only processes inside our own namespaces: the receivers and socat we started.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	wait
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_a() { timeout 30 ip netns exec "$a" "$@"; }
in_b() { timeout 30 ip netns exec "$b" "$@"; }
# A server in the background; no subshell around it, which would say "Terminated" when it is ended.
serve() { local ns=$1; shift; timeout 30 ip netns exec "$ns" "$@" & }

pass() { passed=$((passed + 1)); echo "PASS	$1"; }
fail() {
	failed=$((failed + 1)); echo "FAIL	$1: $2"
	for f in "$work"/*.out "$work"/*.err; do
		[ -s "$f" ] && sed "s|^|	$(basename "$f"): |" "$f"
	done
}

# Waits up to 5 s for "ready" in a receiver's output.
wait_ready() {
	for _ in $(seq 50); do
		grep -qx ready "$1" && return 0
		sleep 0.1
	done
	return 1
}

# recv_send NAME NS_RECV NS_SEND "RECV ARGS" "SEND ARGS": a receiver in the background, a sender,
# both must exit 0 and print a VALUE line.
recv_send() {
	local name=$1 rns=$2 sns=$3 rargs=$4 sargs=$5
	rm -f "$work"/*
	# shellcheck disable=SC2086 # the arguments are split on purpose
	timeout 30 ip netns exec "$rns" "${ub[@]}" recv $rargs >"$work/recv.out" 2>"$work/recv.err" &
	local rpid=$!
	if ! wait_ready "$work/recv.out"; then
		kill "$rpid" 2>/dev/null; wait "$rpid"
		fail "$name" "receiver not ready"
		return
	fi
	# shellcheck disable=SC2086 # the arguments are split on purpose
	timeout 30 ip netns exec "$sns" "${ub[@]}" send $sargs >"$work/send.out" 2>"$work/send.err"
	local scode=$?
	wait "$rpid"
	local rcode=$?
	if [ "$scode" != 0 ] || [ "$rcode" != 0 ]; then
		fail "$name" "send exit $scode, recv exit $rcode"
	elif ! grep -Eq '^VALUE [0-9]+ bits/sec send$' "$work/send.out"; then
		fail "$name" "no send VALUE"
	elif ! grep -Eq '^datagrams [0-9]+ bytes [0-9]+ seconds [0-9.]+ errors [0-9]+$' "$work/send.out"; then
		fail "$name" "send summary"
	elif ! grep -Eq '^VALUE [0-9]+ bits/sec recv$' "$work/recv.out"; then
		fail "$name" "no recv VALUE"
	elif ! grep -Eq '^datagrams [0-9]+ bytes [0-9]+ seconds [0-9.]+$' "$work/recv.out"; then
		fail "$name" "recv summary"
	else
		pass "$name ($(grep VALUE "$work/recv.out"))"
	fi
}

# expect NAME CODE REGEX COMMAND...: exit code CODE and a line of stdout matching REGEX (if not empty).
expect() {
	local name=$1 want=$2 regex=$3
	shift 3
	rm -f "$work"/*
	"$@" >"$work/cmd.out" 2>"$work/cmd.err"
	local code=$?
	if [ "$code" != "$want" ]; then
		fail "$name" "exit $code, wanted $want"
	elif [ -n "$regex" ] && ! grep -Eq "$regex" "$work/cmd.out"; then
		fail "$name" "no line like /$regex/"
	else
		pass "$name"
	fi
}

set -e
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link set lo up
ip -n "$b" link set lo up
ip -n "$a" link add ub0 type veth peer name ub1 netns "$b"
ip -n "$a" addr add 10.10.1.1/24 dev ub0
ip -n "$b" addr add 10.10.1.2/24 dev ub1
ip -n "$a" addr add fd99:1::1/64 dev ub0 nodad
ip -n "$b" addr add fd99:1::2/64 dev ub1 nodad
ip -n "$a" link set ub0 up
ip -n "$b" link set ub1 up
set +e

# --- arguments ---
expect "help recv" 0 '^usage: udpbench.py recv' "${ub[@]}" recv --help
expect "help send" 0 '^usage: udpbench.py send' "${ub[@]}" send --help
expect "help echo" 0 '^usage: udpbench.py echo' "${ub[@]}" echo --help
expect "missing --seconds is a usage error" 2 '' "${ub[@]}" recv --port 9000
expect "negative size is a usage error" 2 '' "${ub[@]}" send --to 127.0.0.1 --port 9 --size -1 --seconds 1
expect "a name for --to is a usage error" 2 '' "${ub[@]}" echo --to localhost --port 7 --size 1 --count 1
expect "--ifaddr with a unicast --to is a usage error" 2 '' "${ub[@]}" send --to 127.0.0.1 --port 9 --size 1 --seconds 1 --ifaddr lo

# --- unicast over loopback ---
recv_send "recv/send IPv4 loopback" "$a" "$a" \
	"--bind 127.0.0.1 --port 9000 --seconds 10 --idle 1" "--to 127.0.0.1 --port 9000 --size 1000 --seconds 1"
recv_send "recv/send IPv6 loopback, 4 senders" "$a" "$a" \
	"--bind ::1 --port 9000 --seconds 10 --idle 1" "--to ::1 --port 9000 --size 1400 --seconds 1 --parallel 4"
recv_send "recv/send empty datagrams, wildcard receiver" "$a" "$a" \
	"--port 9000 --seconds 10 --idle 1" "--to 127.0.0.1 --port 9000 --size 0 --seconds 1"
expect "recv of nothing ends after --seconds without a VALUE" 0 '^datagrams 0 bytes 0 seconds 0\.0+$' \
	in_a "${ub[@]}" recv --bind 127.0.0.1 --port 9001 --seconds 1
expect "send to a closed port counts refusals" 0 '^datagrams [1-9][0-9]* bytes [0-9]+ seconds [0-9.]+ errors [1-9][0-9]*$' \
	in_a "${ub[@]}" send --to 127.0.0.1 --port 9002 --size 100 --seconds 1

# --- echo against socat ---
# RECVFROM forks a child per datagram, so parallel clients are fine. LISTEN forks one per client
# and takes only one client at a time: two first datagrams queued together reach one child (cat
# then echoes them as one), so it gets a single client, over the veth pair.
serve "$a" socat -T1 UDP4-RECVFROM:7,fork PIPE
serve "$b" socat -T1 UDP6-LISTEN:7,reuseaddr,fork EXEC:cat
for _ in $(seq 50); do
	[ "$(ip netns exec "$a" ss -Huln 'sport = :7' | wc -l)" = 1 ] &&
		[ "$(ip netns exec "$b" ss -Huln 'sport = :7' | wc -l)" = 1 ] && break
	sleep 0.1
done
expect "echo IPv4 socat recvfrom, 4 processes" 0 '^VALUE [0-9]+ bits/sec echo$' \
	in_a "${ub[@]}" echo --to 127.0.0.1 --port 7 --size 1000 --count 400 --parallel 4
expect "echo IPv6 socat listen over the veth pair" 0 '^sent 200 received 200 bad 0 seconds [0-9.]+$' \
	in_a "${ub[@]}" echo --to fd99:1::2 --port 7 --size 1400 --count 200
expect "echo without a server fails fast" 1 '^sent [0-9]+ received 0 bad 0 seconds [0-9.]+$' \
	in_a "${ub[@]}" echo --to 127.0.0.1 --port 8 --size 10 --count 1000 --timeout 0.1

# An echo server that is slow once (the first reply comes after the next datagram was sent) or
# that changes one byte of the fifth datagram.
odd_echo='
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(20)
held = None
for n in range(1000):
    data, peer = s.recvfrom(65536)
    if sys.argv[2] == "late" and n == 0:
        held = data
        continue
    if sys.argv[2] == "late" and n == 1:
        s.sendto(held, peer)
    if sys.argv[2] == "changed" and n == 4:
        data = data[:-1] + bytes([data[-1] ^ 1])
    s.sendto(data, peer)
'
serve "$a" python3 -c "$odd_echo" 9300 late
serve "$a" python3 -c "$odd_echo" 9301 changed
sleep 0.5
expect "echo ignores a late reply and counts it lost" 0 '^sent 200 received 199 bad 0 seconds [0-9.]+$' \
	in_a "${ub[@]}" echo --to 127.0.0.1 --port 9300 --size 100 --count 200 --timeout 0.2
expect "echo catches a changed reply" 1 '^sent 20 received 19 bad 1 seconds [0-9.]+$' \
	in_a "${ub[@]}" echo --to 127.0.0.1 --port 9301 --size 100 --count 20

# --- bounded while data flows ---
recv_send "recv stops after --seconds while the sender goes on" "$a" "$a" \
	"--bind 127.0.0.1 --port 9400 --seconds 1" "--to 127.0.0.1 --port 9400 --size 100 --seconds 3"

# --- multicast over the veth pair ---
recv_send "multicast IPv4 234.10.1.1" "$b" "$a" \
	"--group 234.10.1.1 --ifaddr 10.10.1.2 --port 9100 --seconds 10 --idle 1" \
	"--to 234.10.1.1 --ifaddr 10.10.1.1 --port 9100 --size 1000 --seconds 1"
recv_send "multicast IPv4, interfaces by name" "$b" "$a" \
	"--group 234.10.1.2 --ifaddr ub1 --port 9100 --seconds 10 --idle 1" \
	"--to 234.10.1.2 --ifaddr ub0 --port 9100 --size 1000 --seconds 1 --ttl 1"
recv_send "multicast IPv6 ff15::10:1, interfaces by name" "$b" "$a" \
	"--group ff15::10:1 --ifaddr ub1 --port 9100 --seconds 10 --idle 1" \
	"--to ff15::10:1 --ifaddr ub0 --port 9100 --size 1000 --seconds 1"
recv_send "multicast IPv6 ff05::10:1, interfaces by address" "$b" "$a" \
	"--group ff05::10:1 --ifaddr fd99:1::2 --port 9100 --seconds 10 --idle 1" \
	"--to ff05::10:1 --ifaddr fd99:1::1 --port 9100 --size 1000 --seconds 1 --parallel 2"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
