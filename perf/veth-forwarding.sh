#!/usr/bin/env bash
# veth-forwarding.sh: packets per second forwarded through real host ports (veth pairs in network
# namespaces) by the dataplane, by DPDK's testpmd and by Linux, in one run on this machine, printed
# as one table of ratios (README.md, "Forwarding through veth").
#
#   gen ns: VG ==== VI  [ DUT ns ]  VO ==== VS : sink ns          (==== a veth pair)
#           10.201.1.1  .2      10.201.2.2  10.201.2.1 -> 10.201.3.0/24 is behind the sink
#
#   generator  dpdk-testpmd --forward-mode=txonly on an af_packet port on VG: 64-byte UDP/IPv4
#              frames to 10.201.3.1 port 9 (UDP checksum 0, IPv4 checksum complete), destination
#              MAC the DUT's VI, 64 flows (--txonly-multi-flow: DPDK 22.11 varies the source
#              address, 10.201.{3,7,11,...,255}.2, not the ports), as fast as one CPU sends them;
#              the same for every DUT
#   sink       the kernel in the sink ns takes the frames in and drops them (10.201.3.0/24 is a
#              blackhole and it does not forward); the Mpps column is VS's rx_packets over the
#              measured interval, the offered column VG's tx_packets over the same interval
#   DUTs       dataplane-afxdp       out/dataplane run: ports 'driver afxdp ifname VI|VO queues 1',
#                                    a route to 10.201.3.0/24 via the sink, 'set cores DUT_CPU'
#                                    (native XDP on veth, copy mode); ARP resolves during warm-up
#              dataplane-afpacket    the same config with 'driver afpacket'
#              testpmd-afxdp-mac     dpdk-testpmd, two net_af_xdp ports (VI, VO; queue 0, 1 queue),
#                                    --forward-mode=mac, peer of VO the sink's MAC
#              testpmd-afxdp-io      the same in io mode (frames sent on untouched)
#              testpmd-afpacket-mac  two net_af_packet ports, mac mode
#              linux                 the kernel of the DUT ns: ip_forward=1, a route and a
#                                    permanent neighbour entry for the sink, offloads as default
#
# CPUs: the generator (testpmd's main and forwarding lcores) runs on GEN_CPU, the DUT on DUT_CPU
# (the dataplane under taskset and 'set cores', testpmd with --lcores, Linux through RPS on VI,
# which moves VI's receive processing to DUT_CPU; the afpacket DUTs' kernel half is there too).
# The sink's receive goes to SINK_CPU (RPS on VS), by default DUT_CPU: a frame sent on VO holds
# its af_packet TX-ring slot (or AF_XDP completion) until the sink has freed it, and with the sink
# on the generator's busy CPU the DUT's transmit waited for it (the dataplane counted "transmit
# drops (the transmit queue stayed full)", the generator offered less); on the DUT's CPU the sink
# frees a frame within the DUT's send, as a NIC completes it, and costs every DUT the same small
# drop per frame. Not movable: a veth transmit runs on the sender's CPU, and so does the NAPI poll
# of a veth with an XDP program (the XDP program and the copy into an AF_XDP socket's UMEM run on
# GEN_CPU for the afxdp DUTs).
#
# Each DUT is measured RUNS times, the DUTs interleaved (run 1 of every DUT, then run 2, ...) so
# that the load of other jobs falls on all of them alike; every run builds the namespaces and veths
# anew, starts the DUT, then the generator, waits WARMUP seconds and counts for MEASURE seconds.
# The table gives the median run of each DUT, its ratios to testpmd-afxdp-mac and to Linux, and
# the share of the counted seconds the DUT's threads ran and waited, ready, for the CPU: on a
# machine shared with other jobs, whether the DUT had its CPU.
#
# usage: perf/veth-forwarding.sh          (or ./build.sh bench-veth, which installs DPDK and publishes)
# Environment:
#   RUNS        runs per DUT (default 3; the median is reported)
#   WARMUP      seconds of traffic before counting (default 2)
#   MEASURE     seconds counted (default 8)
#   FRAME       frame length in bytes without the FCS, 64 to 1514 (default 64)
#   DUTS        the DUTs to run, space separated (default all six, in the order above)
#   GEN_CPU     the generator's CPU (default 0); DUT_CPU the DUT's (default 1)
#   SINK_CPU    the CPU of the sink's receive (default DUT_CPU; see "CPUs" above)
#   NICE        the niceness of the generator and the user-space DUTs (default 0; e.g. -20 on a
#               machine busy with other jobs, which Linux's forwarding, in softirq, preempts anyway)
#   DATAPLANE   the binary (default out/dataplane; ./build.sh publish makes it)
#   OUT         where results go (default out/bench-veth)
# Needs root (namespaces), iproute2, python3, dpdk-testpmd with librte-net-af-xdp23 and
# librte-net-af-packet23. Exit status: 0 with the table; 1 when a part failed (the table shows
# what was measured).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out/bench-veth}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-2}
MEASURE=${MEASURE:-8}
FRAME=${FRAME:-64}
DUTS=${DUTS:-dataplane-afxdp dataplane-afpacket testpmd-afxdp-mac testpmd-afxdp-io testpmd-afpacket-mac linux}
GEN_CPU=${GEN_CPU:-0}
DUT_CPU=${DUT_CPU:-1}
SINK_CPU=${SINK_CPU:-$DUT_CPU}
NICE=${NICE:-0}
DATAPLANE=${DATAPLANE:-$ROOT/out/dataplane}
# The bound of every wait for a process to come up or to stop.
START_TIMEOUT=20
STOP_TIMEOUT=10

# Names with a per-run prefix: namespaces vbPID-gen, -dut, -sink; veth ends vbPIDg, i, o, s
# (15 characters at most for an interface name).
P=vb$$
NS_GEN=$P-gen NS_DUT=$P-dut NS_SINK=$P-sink
VG=${P}g VI=${P}i VO=${P}o VS=${P}s
GEN_IP=10.201.1.1 DUT_IN_IP=10.201.1.2 DUT_OUT_IP=10.201.2.2 SINK_IP=10.201.2.1
BEHIND_SINK=10.201.3.0/24 DEST_IP=10.201.3.1

note() { printf '%s\n' "$*" >&2; }
failed=0
PIDS=()         # the processes this script started and has not stopped yet
DPDK_PREFIXES=() # testpmd --file-prefix names, whose runtime directories are removed at the end

dpdk_runtime_dir() {
    # EAL's runtime directory: /var/run/dpdk for root, $XDG_RUNTIME_DIR/dpdk (or /tmp/dpdk) otherwise.
    if [ "$(id -u)" -eq 0 ]; then
        printf '/var/run/dpdk'
    else
        printf '%s/dpdk' "${XDG_RUNTIME_DIR:-/tmp}"
    fi
}

# stop_pid PID: SIGTERM (testpmd's and the dataplane's orderly stop: they print their totals and
# give the ports back), SIGKILL after STOP_TIMEOUT seconds; forgets PID.
stop_pid() {
    local pid=$1 _
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq $((STOP_TIMEOUT * 10))); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            note "pid $pid did not stop on SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    local kept=() p
    for p in "${PIDS[@]}"; do
        [ "$p" = "$pid" ] || kept+=("$p")
    done
    PIDS=("${kept[@]}")
}

# remove_topology: the three namespaces (deleting a namespace deletes the veth ends in it).
remove_topology() {
    local ns
    for ns in "$NS_GEN" "$NS_DUT" "$NS_SINK"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

cleanup() {
    local pid prefix
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    remove_topology
    for prefix in "${DPDK_PREFIXES[@]}"; do
        rm -rf "$(dpdk_runtime_dir)/${prefix:?}"
    done
    rmdir "$(dpdk_runtime_dir)" 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# What this needs.

[ "$(id -u)" -eq 0 ] || { note "veth-forwarding: needs root (network namespaces)"; exit 1; }
have_testpmd=true
if ! command -v dpdk-testpmd >/dev/null; then
    have_testpmd=false
elif ! ls /usr/lib/*/dpdk/pmds-*/librte_net_af_packet.so* /usr/lib/*/dpdk/pmds-*/librte_net_af_xdp.so* >/dev/null 2>&1; then
    have_testpmd=false
fi
if ! $have_testpmd; then
    # The generator is testpmd: without it nothing can be measured.
    note "veth-forwarding: dpdk-testpmd with its af_packet and af_xdp ports is not installed."
    note "    Debian 12: apt-get install --no-install-recommends dpdk-dev librte-net-af-xdp23 librte-net-af-packet23 librte-mempool-ring23"
    note "    (./build.sh bench-veth installs them when run as root)"
    exit 1
fi
if [ ! -x "$DATAPLANE" ]; then
    note "veth-forwarding: no dataplane binary at $DATAPLANE (./build.sh publish); its rows will be missing"
    failed=1
fi
if [ "$(nproc)" -lt 2 ]; then
    note "veth-forwarding: one CPU: the generator and the DUT share it"
    GEN_CPU=0 DUT_CPU=0 SINK_CPU=0
fi

mkdir -p "$OUT"
rm -rf "$OUT"/runs.tsv "$OUT"/*.log "$OUT"/*.conf "$OUT"/netstat-*.txt "$OUT"/links-*.txt "$OUT"/*.sock
printf '%s, %s CPUs, kernel %s; load average at the start: %s\n' \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt"

# ---------------------------------------------------------------------------------------------
# The topology, made anew for every run.

mac_of() { # mac_of NS IF
    ip -n "$1" -j link show dev "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])'
}

make_topology() {
    remove_topology
    ip netns add "$NS_GEN"
    ip netns add "$NS_DUT"
    ip netns add "$NS_SINK"
    # Made in their namespaces at once: no name in the host's namespace, even for a moment.
    ip link add "$VG" netns "$NS_GEN" type veth peer name "$VI" netns "$NS_DUT"
    ip link add "$VO" netns "$NS_DUT" type veth peer name "$VS" netns "$NS_SINK"
    local ns
    for ns in "$NS_GEN" "$NS_DUT" "$NS_SINK"; do
        # No IPv6 (no DAD, no router solicitations on the wires) and no forwarding: a new namespace
        # inherits the host's IPv4 settings (net.core.devconf_inherit_init_net). Only the Linux DUT
        # forwards.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
            net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        ip -n "$ns" link set lo up
    done
    ip -n "$NS_GEN" link set "$VG" up
    ip -n "$NS_DUT" link set "$VI" up
    ip -n "$NS_DUT" link set "$VO" up
    ip -n "$NS_SINK" link set "$VS" up
    # The sink answers ARP for its address and drops what it is sent beyond it.
    ip -n "$NS_SINK" addr add "$SINK_IP/24" dev "$VS"
    ip -n "$NS_SINK" route add blackhole "$BEHIND_SINK"
    # RPS: VI's receive (netif_rx from the generator's veth_xmit) on the DUT's CPU, VS's (the
    # sink's work) on SINK_CPU, by default the DUT's as well: the generator's CPU generates.
    ip netns exec "$NS_DUT" sh -c "printf '%x' $((1 << DUT_CPU)) >/sys/class/net/$VI/queues/rx-0/rps_cpus"
    ip netns exec "$NS_SINK" sh -c "printf '%x' $((1 << SINK_CPU)) >/sys/class/net/$VS/queues/rx-0/rps_cpus"
    VG_MAC=$(mac_of "$NS_GEN" "$VG")
    VI_MAC=$(mac_of "$NS_DUT" "$VI")
    VS_MAC=$(mac_of "$NS_SINK" "$VS")
    [ -n "$VG_MAC" ] && [ -n "$VI_MAC" ] && [ -n "$VS_MAC" ]
}

counter() { # counter NS IF NAME: /sys/class/net/IF/statistics/NAME in NS
    ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

# task_times PID: the nanoseconds PID's threads have run and have waited on a run queue (ready,
# with another task on the CPU), summed: "RUN WAIT" (/proc/PID/task/TID/schedstat); "0 0" for none.
task_times() {
    [ -n "$1" ] || { echo '0 0'; return; }
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ run += $1; wait += $2 } END { printf "%.0f %.0f\n", run, wait }'
}

# ---------------------------------------------------------------------------------------------
# Processes: testpmd (generator and DUT) and the dataplane, each started in a namespace.

# start_testpmd NAME NS CPU LOG TESTPMD-OPTIONS...: testpmd with a main and a forwarding lcore on
# CPU, its vdevs given as --vdev options before '--'; sets STARTED_PID and waits for its first
# statistics (forwarding has begun), START_TIMEOUT seconds at most.
start_testpmd() {
    local name=$1 ns=$2 cpu=$3 log=$4
    shift 4
    local prefix="$P-$name"
    DPDK_PREFIXES+=("$prefix")
    # `ip netns exec` execs testpmd: $! is testpmd's PID. With --stats-period testpmd does not read
    # stdin; SIGTERM stops it.
    ip netns exec "$ns" nice -n "$NICE" dpdk-testpmd --lcores "0@$cpu,1@$cpu" --no-huge -m 512 --no-pci --no-shconf \
        --file-prefix "$prefix" "$@" --total-num-mbufs=32768 --nb-cores=1 --stats-period 1 -a \
        </dev/null >"$log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    local deadline=$((SECONDS + START_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        grep -qs 'Port statistics' "$log" && return 0
        kill -0 "$STARTED_PID" 2>/dev/null || break
        sleep 0.1
    done
    note "testpmd $name did not start forwarding; last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /' >&2
    return 1
}

start_generator() { # start_generator LOG
    # txonly: --txpkts the frame length, --tx-ip source and destination, --eth-peer the destination
    # MAC, --txonly-multi-flow varies the source address per packet (the destination's address
    # with the third byte ORed with a counter, plus the lcore: never the DUT's own addresses) so
    # that the flows spread over a multi-queue DUT's queues.
    start_testpmd gen "$NS_GEN" "$GEN_CPU" "$1" --vdev "net_af_packet0,iface=$VG" -- \
        --forward-mode=txonly --txpkts="$FRAME" --tx-ip="$GEN_IP,$DEST_IP" --eth-peer="0,$VI_MAC" \
        --txonly-multi-flow
}

# start_dut DUT RUN: configures the DUT ns for DUT and starts it; sets DUT_PID ('' for Linux).
start_dut() {
    local dut=$1 run=$2 log=$OUT/$1-$2.log
    DUT_PID=''
    case "$dut" in
        dataplane-*)
            local driver=${dut#dataplane-} config=$OUT/$dut.conf
            DUT_SOCKET=$OUT/$dut.sock
            cat >"$config" <<EOF
# perf/veth-forwarding.sh: the DUT of the $dut rows.
port in  driver $driver ifname $VI queues 1
port out driver $driver ifname $VO queues 1
inet in  $DUT_IN_IP/24
inet out $DUT_OUT_IP/24
route add $BEHIND_SINK $SINK_IP
set forwarding on
set cores $DUT_CPU
EOF
            rm -f "$DUT_SOCKET"
            ip netns exec "$NS_DUT" nice -n "$NICE" taskset -c "$DUT_CPU" "$DATAPLANE" run -c "$config" -s "$DUT_SOCKET" \
                </dev/null >"$log" 2>&1 &
            DUT_PID=$!
            PIDS+=("$DUT_PID")
            # ctl gives up after 10 s on a socket that does not answer; the deadline bounds the whole.
            local deadline=$((SECONDS + START_TIMEOUT))
            while [ "$SECONDS" -lt "$deadline" ]; do
                "$DATAPLANE" ctl -s "$DUT_SOCKET" ifconfig >/dev/null 2>&1 && return 0
                kill -0 "$DUT_PID" 2>/dev/null || break
                sleep 0.1
            done
            note "$dut did not start; last lines of $log:"
            tail -n 15 "$log" | sed 's/^/    /' >&2
            return 1
            ;;
        testpmd-*)
            local vdev=${dut#testpmd-}
            local mode=${vdev##*-}
            vdev=${vdev%-*}
            local vdevs=()
            if [ "$vdev" = afxdp ]; then
                vdevs=(--vdev "net_af_xdp0,iface=$VI,start_queue=0,queue_count=1"
                    --vdev "net_af_xdp1,iface=$VO,start_queue=0,queue_count=1")
            else
                vdevs=(--vdev "net_af_packet0,iface=$VI" --vdev "net_af_packet1,iface=$VO")
            fi
            # Port 0 (VI) forwards to port 1 (VO); in mac mode port 1's frames go to the sink's
            # MAC, from VO's.
            start_testpmd "$dut" "$NS_DUT" "$DUT_CPU" "$log" "${vdevs[@]}" -- \
                --forward-mode="$mode" --eth-peer="0,$VG_MAC" --eth-peer="1,$VS_MAC" || return 1
            DUT_PID=$STARTED_PID
            ;;
        linux)
            ip -n "$NS_DUT" addr add "$DUT_IN_IP/24" dev "$VI"
            ip -n "$NS_DUT" addr add "$DUT_OUT_IP/24" dev "$VO"
            ip -n "$NS_DUT" route add "$BEHIND_SINK" via "$SINK_IP"
            ip -n "$NS_DUT" neigh replace "$SINK_IP" lladdr "$VS_MAC" dev "$VO" nud permanent
            ip netns exec "$NS_DUT" sysctl -qw net.ipv4.ip_forward=1
            ;;
        *)
            note "veth-forwarding: unknown DUT '$dut' (DUTS)"
            return 1
            ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# One run of one DUT: a line of runs.tsv (DUT RUN SINK-PACKETS OFFERED-PACKETS NANOSECONDS
# DUT-RUN-NANOSECONDS DUT-WAIT-NANOSECONDS).

measure() { # measure DUT RUN
    local dut=$1 run=$2
    if ! make_topology; then
        note "veth-forwarding: could not make the namespaces and veths"
        return 1
    fi
    if ! start_dut "$dut" "$run"; then
        return 1
    fi
    if ! start_generator "$OUT/gen-$dut-$run.log"; then
        return 1
    fi
    local gen_pid=$STARTED_PID
    sleep "$WARMUP"
    local t0 s0 g0 t1 s1 g1 d0 d1
    t0=$(date +%s%N)
    s0=$(counter "$NS_SINK" "$VS" rx_packets)
    g0=$(counter "$NS_GEN" "$VG" tx_packets)
    d0=$(task_times "$DUT_PID")
    sleep "$MEASURE"
    s1=$(counter "$NS_SINK" "$VS" rx_packets)
    g1=$(counter "$NS_GEN" "$VG" tx_packets)
    d1=$(task_times "$DUT_PID")
    t1=$(date +%s%N)
    # What the kernels counted on every port, for a reader who asks where frames went.
    {
        ip -n "$NS_GEN" -s -s link show dev "$VG"
        ip -n "$NS_DUT" -s -s link show dev "$VI"
        ip -n "$NS_DUT" -s -s link show dev "$VO"
        ip -n "$NS_SINK" -s -s link show dev "$VS"
    } >"$OUT/links-$dut-$run.txt" 2>&1 || true
    local ok=true
    if [ -n "$DUT_PID" ] && ! kill -0 "$DUT_PID" 2>/dev/null; then
        note "$dut exited during the run (log: $OUT/$dut-$run.log)"
        ok=false
    fi
    if ! kill -0 "$gen_pid" 2>/dev/null; then
        note "the generator exited during the run (log: $OUT/gen-$dut-$run.log)"
        ok=false
    fi
    if [[ $dut == dataplane-* ]]; then
        # Every drop under its name: where to look first when it forwarded nothing.
        "$DATAPLANE" ctl -s "$DUT_SOCKET" netstat -s >"$OUT/netstat-$dut-$run.txt" 2>&1 || true
        "$DATAPLANE" ctl -s "$DUT_SOCKET" arp -a >>"$OUT/netstat-$dut-$run.txt" 2>&1 || true
        # The ports' counters, the kernel's socket drops (rx_dropped, rx_ring_full) among them.
        "$DATAPLANE" ctl -s "$DUT_SOCKET" ifconfig >>"$OUT/netstat-$dut-$run.txt" 2>&1 || true
    fi
    stop_pid "$gen_pid"
    [ -z "$DUT_PID" ] || stop_pid "$DUT_PID"
    remove_topology
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$dut" "$run" $((s1 - s0)) $((g1 - g0)) $((t1 - t0)) \
        $((${d1% *} - ${d0% *})) $((${d1#* } - ${d0#* })) >>"$OUT/runs.tsv"
    awk -v d="$dut" -v r="$run" -v s=$((s1 - s0)) -v g=$((g1 - g0)) -v t=$((t1 - t0)) \
        'BEGIN { printf "    %s run %s: %.3f Mpps at the sink, %.3f offered\n", d, r, s * 1e3 / t, g * 1e3 / t }'
    if [ $((s1 - s0)) -eq 0 ]; then
        note "$dut forwarded nothing in run $run"
        ok=false
    fi
    $ok
}

printf '==> %s run(s) of: %s; %s-byte frames, %ss warm-up, %ss counted; generator on CPU %s, DUT on CPU %s, sink on CPU %s\n' \
    "$RUNS" "$DUTS" "$FRAME" "$WARMUP" "$MEASURE" "$GEN_CPU" "$DUT_CPU" "$SINK_CPU"
for run in $(seq "$RUNS"); do
    for dut in $DUTS; do
        if [[ $dut == dataplane-* ]] && [ ! -x "$DATAPLANE" ]; then
            continue
        fi
        if ! measure "$dut" "$run"; then
            note "veth-forwarding: $dut run $run failed"
            failed=1
            for pid in "${PIDS[@]}"; do
                stop_pid "$pid"
            done
            remove_topology
        fi
    done
done

# ---------------------------------------------------------------------------------------------
# One table.

status=0
dpdk_version=$(dpkg-query -W -f='${Version}' dpdk-dev 2>/dev/null || true)
python3 - "$OUT" "$DUTS" "$RUNS" "$FRAME" "$WARMUP" "$MEASURE" "$GEN_CPU" "$DUT_CPU" "$SINK_CPU" "${dpdk_version:-unknown}" <<'EOF' || status=$?
import os, statistics, sys

out, duts, runs, frame, warmup, measure, gen_cpu, dut_cpu, sink_cpu, dpdk = sys.argv[1:]
duts = duts.split()

# Per DUT: (sink Mpps, offered Mpps, share of the interval the DUT's threads ran, share they
# waited for the CPU) of each run; the shares are None for Linux, which is no process.
results = {d: [] for d in duts}
path = os.path.join(out, "runs.tsv")
if os.path.exists(path):
    for line in open(path):
        dut, run, sink, offered, ns, ran, waited = line.split("\t")
        ns = int(ns)
        if dut in results and ns > 0:
            busy = dut != "linux"
            results[dut].append((int(sink) * 1e3 / ns, int(offered) * 1e3 / ns,
                                 int(ran) / ns if busy else None, int(waited) / ns if busy else None))

def median(values):
    return statistics.median(values) if values else None

sink = {d: median([r[0] for r in results[d]]) for d in duts}
offered = {d: median([r[1] for r in results[d]]) for d in duts}
ran = {d: median([r[2] for r in results[d] if r[2] is not None]) for d in duts}
waited = {d: median([r[3] for r in results[d] if r[3] is not None]) for d in duts}
# Mpps per second the DUT's threads ran: what a run gets out of the CPU it was given.
per_cpu = {d: median([r[0] / r[2] for r in results[d] if r[2]]) for d in duts}

def number(x, digits=3):
    return "n/a" if x is None else f"{x:.{digits}f}"

def ratio(a, b):
    return number(a / b if a is not None and b else None, 2)

def percent(x):
    return "n/a" if x is None else f"{100 * x:.0f}%"

reference, linux = sink.get("testpmd-afxdp-mac"), sink.get("linux")
lines = [
    f"Forwarding through veth, {frame}-byte UDP/IPv4 frames, one run on {open(os.path.join(out, 'machine.txt')).read().strip()}",
    f"generator: DPDK {dpdk} testpmd txonly on af_packet, CPU {gen_cpu}; DUT on CPU {dut_cpu}; sink on CPU {sink_cpu}; median of {runs} run(s) of {measure} s after {warmup} s of warm-up",
    "DUT ran / waited: the share of the counted seconds the DUT's threads were on the CPU / ready but waiting for it (other jobs, softirq); Linux forwards in softirq, no process",
    "Mpps per DUT CPU-second: Mpps at the sink over the share the DUT ran (its threads' time only; not the kernel's work in softirq or on the generator's CPU)",
    "",
    "| DUT | Mpps at the sink | runs | offered Mpps | sink/offered | / testpmd af_xdp mac | / Linux | DUT ran | DUT waited | Mpps per DUT CPU-second |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
missing = False
for d in duts:
    r = results[d]
    missing |= len(r) < int(runs)
    lines.append(f"| {d} | {number(sink[d])} | {' '.join(number(x[0]) for x in r) or 'n/a'} | {number(offered[d])} "
                 f"| {ratio(sink[d], offered[d])} | {ratio(sink[d], reference)} | {ratio(sink[d], linux)} "
                 f"| {percent(ran[d])} | {percent(waited[d])} | {number(per_cpu[d])} |")
with open("/proc/loadavg") as f:
    lines += ["", f"load average at the end: {' '.join(f.read().split()[:3])}"]
text = "\n".join(lines) + "\n"
print("\n" + text)
with open(os.path.join(out, "veth-forwarding.md"), "w") as f:
    f.write(text)
sys.exit(1 if missing else 0)
EOF
[ "$status" -eq 0 ] || failed=1
printf 'table: %s\n' "${OUT#"$ROOT"/}/veth-forwarding.md"
exit "$failed"
