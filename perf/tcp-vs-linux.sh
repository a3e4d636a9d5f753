#!/usr/bin/env bash
# tcp-vs-linux.sh: the dataplane as a TCP endpoint against Linux in its place, in one run on this
# machine, printed as one table of iperf3 Gbit/s and ratios.
#
#   CLIENT namespace: the stock iperf3 client (pinned to CPU 0), 10.88.0.1/24
#   SERVER side, 10.88.0.2/24, one of:
#     tap       the published dataplane (out/dataplane), one worker on CPU 1, `app iperf3 listen`;
#               its tap device is moved into CLIENT and is the client's NIC
#     afpacket  the same dataplane on an AF_PACKET port over a veth whose peer is the client's NIC
#     linux     Linux's stack and `iperf3 -s` (pinned to CPU 1) in a namespace on that same veth
#               topology, both ends' transmit offload off as the dataplane's (tx off: no TSO/GSO,
#               every frame wire-size with its checksum; the dataplane sends and takes no super-frames)
#     linux-offload  the same with the veth's default offloads (TSO/GSO: 64 KiB super-frames
#               cross the veth unsegmented), for what offloads are worth to Linux
# Each: iperf3 -P 1 and -P 15, normal (client sends) and -R (server sends), -t IPERF_SECONDS.
# The ratio is dataplane/linux of the same driver row and case; the receiver's Gbit/s is taken.
#
# usage: perf/tcp-vs-linux.sh          (as root; ./build.sh publish first builds out/dataplane)
# Environment:
#   IPERF_SECONDS  seconds per iperf3 run (default 5)
#   BINARY         the dataplane binary (default out/dataplane: the NativeAOT binary that ships)
#   OUT            where results go (default out/tcp-vs-linux): iperf3 JSON, logs, the table
# Exit status: 0 with the table; 1 when a run failed (the table shows what was measured).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out/tcp-vs-linux}
BINARY=${BINARY:-$ROOT/out/dataplane}
IPERF_SECONDS=${IPERF_SECONDS:-5}
ID=tcpb$$
CLIENT=$ID-c
SERVER=$ID-s
CLIENT_ADDR=10.88.0.1
SERVER_ADDR=10.88.0.2
CLIENT_CPU=0
SERVER_CPU=$(($(nproc) > 1 ? 1 : 0))

note() { printf '%s\n' "$*" >&2; }
die() { note "tcp-vs-linux: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "the lab is network namespaces; run it as root"
for tool in ip iperf3 ethtool python3 timeout; do
    command -v "$tool" >/dev/null || die "$tool is missing (./build.sh deps installs it)"
done
[ -x "$BINARY" ] || die "no dataplane binary at $BINARY (./build.sh publish builds out/dataplane)"

failed=0
SERVER_PID=''

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -INT "$SERVER_PID" 2>/dev/null || true
        local _
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=''
}

teardown() {
    stop_server
    local ns
    for ns in "$CLIENT" "$SERVER"; do
        if ip netns list | grep -qw "$ns"; then
            # Whatever still runs in it (an iperf3 cut short) goes first; the veths go with it.
            ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}
trap teardown EXIT
trap 'teardown; exit 130' INT TERM

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log "$OUT"/*.conf "$OUT"/tcp-vs-linux.md
printf '%s, %s CPUs; load average at the start: %s\n' \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt"

# fresh_namespaces: an empty CLIENT and SERVER, loopback up.
fresh_namespaces() {
    teardown
    ip netns add "$CLIENT"
    ip netns add "$SERVER"
    ip -n "$CLIENT" link set lo up
    ip -n "$SERVER" link set lo up
}

# client_nic IFNAME: addresses and raises the client's NIC; its transmit checksum offload off (and with
# it TSO and GSO), so that it sends wire-size frames with complete checksums, as the conformance lab does.
client_nic() {
    ip -n "$CLIENT" addr add "$CLIENT_ADDR/24" dev "$1"
    ip -n "$CLIENT" link set "$1" up
    ip netns exec "$CLIENT" ethtool -K "$1" tx off >/dev/null
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
    local what=$1 tenths=$(($2 * 10))
    shift 2
    local i
    for ((i = 0; i < tenths; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    note "tcp-vs-linux: timed out waiting for $what"
    return 1
}

# start_dataplane DRIVER: the dataplane in SERVER with one port of DRIVER; the client's NIC ready.
start_dataplane() {
    local driver=$1 ifname
    fresh_namespaces
    if [ "$driver" = tap ]; then
        ifname=tbtap0
    else
        ifname=tbdp0
        ip -n "$SERVER" link add "$ifname" type veth peer name tbcl0 netns "$CLIENT"
        ip -n "$SERVER" link set "$ifname" up
    fi
    cat >"$OUT/dataplane-$driver.conf" <<CONF
# perf/tcp-vs-linux.sh: the dataplane as an iperf3 server on one $driver port, one worker.
port p0 driver $driver ifname $ifname queues 1
inet p0 $SERVER_ADDR/24
set cores $SERVER_CPU
# No super-frames: the stack neither cuts nor takes them yet (as the lab of build.sh run).
set tso off
set lro off
app iperf3 listen $SERVER_ADDR:5201
CONF
    ip netns exec "$SERVER" "$BINARY" run -c "$OUT/dataplane-$driver.conf" -s "$OUT/dataplane-$driver.sock" \
        </dev/null >"$OUT/dataplane-$driver.log" 2>&1 &
    SERVER_PID=$!
    wait_for "the dataplane to start ($OUT/dataplane-$driver.log)" 30 grep -q 'dataplane: running:' "$OUT/dataplane-$driver.log" || return 1
    if [ "$driver" = tap ]; then
        # The tap is the client's NIC; the dataplane keeps working on its descriptor after the move.
        ip -n "$SERVER" link set "$ifname" netns "$CLIENT"
        client_nic "$ifname"
    else
        client_nic tbcl0
    fi
}

# start_linux OFFLOADS: Linux's iperf3 -s in SERVER on a veth to the client; OFFLOADS=off sets both
# ends' transmit offload off (the client's NIC as in the dataplane runs, the server's as the
# dataplane sends), on leaves the veth's defaults on both ends.
start_linux() {
    fresh_namespaces
    ip -n "$SERVER" link add tbsv0 type veth peer name tbcl0 netns "$CLIENT"
    ip -n "$SERVER" addr add "$SERVER_ADDR/24" dev tbsv0
    ip -n "$SERVER" link set tbsv0 up
    if [ "$1" = off ]; then
        ip netns exec "$SERVER" ethtool -K tbsv0 tx off >/dev/null
        client_nic tbcl0
    else
        ip -n "$CLIENT" addr add "$CLIENT_ADDR/24" dev tbcl0
        ip -n "$CLIENT" link set tbcl0 up
    fi
    ip netns exec "$SERVER" iperf3 -s -A "$SERVER_CPU" </dev/null >"$OUT/iperf3-server-linux-$1.log" 2>&1 &
    SERVER_PID=$!
    wait_for "iperf3 -s to listen" 10 sh -c "ip netns exec $SERVER ss -ltnH | grep -q ':5201'"
}

# run_case TARGET STREAMS DIRECTION: one bounded iperf3 run; JSON in $OUT.
run_case() {
    local target=$1 streams=$2 direction=$3 reverse=()
    [ "$direction" = reverse ] && reverse=(-R)
    local name="$target-P$streams-$direction"
    # The first ping also resolves the neighbours before the clock starts.
    if ! wait_for "$SERVER_ADDR to answer ping" 10 ip netns exec "$CLIENT" ping -c 1 -W 1 "$SERVER_ADDR"; then
        failed=1
        return
    fi
    printf '==> %-14s -P %-2s %-7s ' "$target" "$streams" "$direction"
    local status=0
    timeout -k 5 $((IPERF_SECONDS + 25)) ip netns exec "$CLIENT" iperf3 -c "$SERVER_ADDR" -t "$IPERF_SECONDS" -P "$streams" "${reverse[@]}" \
        -A "$CLIENT_CPU" --connect-timeout 5000 -J >"$OUT/$name.json" 2>"$OUT/$name.log" || status=$?
    if [ "$status" -ne 0 ]; then
        printf 'failed (exit %s; %s)\n' "$status" "$OUT/$name.json"
        failed=1
        return
    fi
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]; print("%.2f Gbit/s" % (e["sum_received"]["bits_per_second"] / 1e9))' "$OUT/$name.json" || failed=1
}

run_all() {
    local target=$1 streams direction
    for streams in 1 15; do
        for direction in normal reverse; do
            run_case "$target" "$streams" "$direction"
        done
    done
}

for driver in tap afpacket; do
    if start_dataplane "$driver"; then
        run_all "$driver"
        ip netns exec "$SERVER" "$BINARY" ctl -s "$OUT/dataplane-$driver.sock" netstat -s >"$OUT/dataplane-$driver-netstat.log" 2>&1 || true
    else
        failed=1
    fi
    stop_server
done
for offloads in off on; do
    target=linux
    [ "$offloads" = on ] && target=linux-offload
    if start_linux "$offloads"; then
        run_all "$target"
    else
        failed=1
    fi
    stop_server
done
teardown

# ---------------------------------------------------------------------------------------------
# One table.

status=0
python3 - "$OUT" "$IPERF_SECONDS" <<'PY' || status=$?
import json, os, sys

out, seconds = sys.argv[1], sys.argv[2]

def result(target, streams, direction):
    """(Gbit/s at the receiver, retransmits) of one run, or None."""
    path = os.path.join(out, f"{target}-P{streams}-{direction}.json")
    try:
        end = json.load(open(path))["end"]
        return end["sum_received"]["bits_per_second"] / 1e9, end["sum_sent"].get("retransmits")
    except (OSError, ValueError, KeyError):
        return None

def cell(r):
    return "n/a" if r is None else f"{r[0]:.2f}"

def ratio(a, b):
    return "n/a" if a is None or b is None or b[0] == 0 else f"{a[0] / b[0]:.2f}"

lines = [
    f"iperf3 (stock client, {seconds} s per run) to and from a TCP endpoint, Gbit/s at the receiver; one run on "
    + open(os.path.join(out, "machine.txt")).read().strip(),
    "dataplane: the published NativeAOT binary, one worker on its own CPU, `app iperf3 listen`, tso and lro off; the client's NIC tx offload off."
    " linux: iperf3 -s on a veth, tx offload off at both ends (wire-size frames, as the dataplane); linux-offload: the veth's default offloads",
    "normal: the client sends; reverse (-R): the server sends. ratio = dataplane / linux.",
    "",
    "| streams | direction | tap | afpacket | linux | linux-offload | tap/linux | afpacket/linux | tap/linux-offload | afpacket/linux-offload | retransmits tap / afpacket / linux |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
]
missing = False
for streams in (1, 15):
    for direction in ("normal", "reverse"):
        tap, afp, lin, off = (result(t, streams, direction) for t in ("tap", "afpacket", "linux", "linux-offload"))
        missing |= None in (tap, afp, lin, off)
        retrans = " / ".join("n/a" if r is None or r[1] is None else str(r[1]) for r in (tap, afp, lin))
        lines.append(f"| {streams} | {direction} | {cell(tap)} | {cell(afp)} | {cell(lin)} | {cell(off)} | {ratio(tap, lin)} | {ratio(afp, lin)} "
                     f"| {ratio(tap, off)} | {ratio(afp, off)} | {retrans} |")
with open("/proc/loadavg") as f:
    lines += ["", f"load average at the end: {' '.join(f.read().split()[:3])}"]
text = "\n".join(lines) + "\n"
print("\n" + text)
with open(os.path.join(out, "tcp-vs-linux.md"), "w") as f:
    f.write(text)
sys.exit(1 if missing else 0)
PY
[ "$status" -eq 0 ] || failed=1
printf 'table: %s\n' "${OUT#"$ROOT"/}/tcp-vs-linux.md"
exit "$failed"
