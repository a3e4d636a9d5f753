#!/usr/bin/env bash
# forwarding-vs-testpmd.sh: the dataplane's IP forwarding against DPDK's testpmd, in one run on
# this machine (DESIGN.md, "Performance method"), printed as one table.
#
#   dataplane AOT  out/dataplane bench forward: the shipped NativeAOT binary, 64-byte IPv4 and IPv6
#                  frames through the memory driver, the per-core loop and the whole stack, 1,000
#                  routes, 1 and 2 workers (pinned as testpmd's forwarding cores are)
#   dataplane JIT  the same command and code under the JIT (dotnet dataplane.dll bench forward)
#   testpmd io     dpdk-testpmd --forward-mode=io over two net_null ports (64-byte packets), 1 and 2
#                  forwarding cores: receive a burst, send it out of the other port, touch no byte
#   testpmd mac    --forward-mode=mac: the same, rewriting each frame's MAC addresses
#
# Mpps per core and the ratios are given twice: from the median run and the median testpmd period,
# and from the best of each (which other jobs on a shared machine disturb less).
#
# usage: perf/forwarding-vs-testpmd.sh [BENCH FORWARD OPTIONS...]   (or ./build.sh bench-forwarding)
#   Default options: --runs 10 --packets 10000000; any given replace them (e.g. --runs 3 for a quick look).
# Environment:
#   TESTPMD_SECONDS   seconds each testpmd run forwards (default 10; the first 2 are not counted)
#   TESTPMD_VDEV      null (default) or ring: net_ring ports, which move mbuf pointers through a
#                     ring and never touch the mbufs (started with --tx-first)
#   OUT               where results go (default out/bench-forwarding)
# Exit status: 0 with the table; 1 when a part failed (the table shows what was measured).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out/bench-forwarding}
TESTPMD_SECONDS=${TESTPMD_SECONDS:-10}
TESTPMD_VDEV=${TESTPMD_VDEV:-null}
# The bound of each dataplane run (4 cases); testpmd runs are stopped by this script.
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
BENCH_ARGS=("$@")
[ "${#BENCH_ARGS[@]}" -gt 0 ] || BENCH_ARGS=(--runs 10 --packets 10000000)
# The Debian packages that bring testpmd and the ports it uses (build.sh bench-forwarding installs them).
DPDK_PACKAGES="dpdk-dev librte-net-null23 librte-net-ring23 librte-mempool-ring23"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDDISABLENODEREUSE=1

note() { printf '%s\n' "$*" >&2; }
failed=0
TESTPMD_PID=''
TESTPMD_PREFIX=''

dpdk_runtime_dir() {
    # EAL's runtime directory: /var/run/dpdk for root, $XDG_RUNTIME_DIR/dpdk (or /tmp/dpdk) otherwise.
    if [ "$(id -u)" -eq 0 ]; then
        printf '/var/run/dpdk'
    else
        printf '%s/dpdk' "${XDG_RUNTIME_DIR:-/tmp}"
    fi
}

stop_testpmd() {
    [ -n "$TESTPMD_PID" ] || return 0
    if kill -0 "$TESTPMD_PID" 2>/dev/null; then
        # SIGTERM is testpmd's orderly stop (as SIGINT, which a background job of a script ignores):
        # it prints its totals, stops and closes the ports.
        kill -TERM "$TESTPMD_PID" 2>/dev/null || true
        local _
        for _ in $(seq 100); do
            kill -0 "$TESTPMD_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$TESTPMD_PID" 2>/dev/null; then
            note "testpmd (pid $TESTPMD_PID) did not stop on SIGTERM; killing it"
            kill -KILL "$TESTPMD_PID" 2>/dev/null || true
        fi
    fi
    wait "$TESTPMD_PID" 2>/dev/null || true
    TESTPMD_PID=''
    if [ -n "$TESTPMD_PREFIX" ]; then
        rm -rf "$(dpdk_runtime_dir)/${TESTPMD_PREFIX:?}"
        rmdir "$(dpdk_runtime_dir)" 2>/dev/null || true
        TESTPMD_PREFIX=''
    fi
}
trap stop_testpmd EXIT
trap 'stop_testpmd; exit 130' INT TERM

mkdir -p "$OUT"
rm -rf "$OUT"/dataplane-*.txt "$OUT"/testpmd-*.log "$OUT"/testpmd-*.pps
printf '%s, %s CPUs; load average at the start: %s\n' \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt"

# ---------------------------------------------------------------------------------------------
# The dataplane: the shipped binary's own benchmark, then the same under the JIT.

# Worker w on the CPU testpmd gives forwarding lcore w + 1: CPU 1, then CPU 0.
CORES=1,0
[ "$(nproc)" -ge 2 ] || CORES=0,0
printf '==> build: NativeAOT out/dataplane and the JIT dataplane.dll\n'
if ! "$ROOT/build.sh" publish >"$OUT/publish.log" 2>&1 ||
    ! dotnet build dataplane/Dataplane/Dataplane.csproj -c Release -nodeReuse:false -nologo -v:minimal >"$OUT/build.log" 2>&1; then
    tail -n 20 "$OUT/publish.log" "$OUT/build.log" >&2
    note "forwarding-vs-testpmd: building the dataplane failed (logs: $OUT/publish.log, $OUT/build.log)"
    exit 1
fi
# run_dataplane NAME COMMAND...: bench forward, its table in $OUT/dataplane-NAME.txt.
run_dataplane() {
    local name=$1
    shift
    printf '==> dataplane %s: %s bench forward --cores %s %s\n' "$name" "$*" "$CORES" "${BENCH_ARGS[*]}"
    local status=0
    timeout -k 10 "$BENCH_TIMEOUT" "$@" bench forward --cores "$CORES" "${BENCH_ARGS[@]}" \
        >"$OUT/dataplane-$name.txt" 2>"$OUT/dataplane-$name.err" || status=$?
    cat "$OUT/dataplane-$name.txt"
    if [ "$status" -ne 0 ]; then
        note "forwarding-vs-testpmd: the $name run failed or timed out (exit $status):"
        sed 's/^/    /' "$OUT/dataplane-$name.err" >&2
        failed=1
    fi
}
run_dataplane aot "$ROOT/out/dataplane"
run_dataplane jit dotnet "$ROOT/dataplane/Dataplane/bin/Release/net10.0/dataplane.dll"

# ---------------------------------------------------------------------------------------------
# The reference: testpmd io and mac forwarding.

# run_testpmd MODE CORES: one bounded run with CORES forwarding cores; per-period Tx-pps of both ports in $OUT/testpmd-MODE-CORES.pps.
run_testpmd() {
    local mode=$1 cores=$2 cpus map k
    cpus=$(nproc)
    # lcore 0 is testpmd's main thread (asleep but for a stats line a second), on CPU 0; forwarding
    # lcore k runs on CPU k mod CPUs, so that one core forwards on CPU 1 and two share both CPUs.
    map="0@0"
    for ((k = 1; k <= cores; k++)); do
        map+=",$k@$((k % cpus))"
    done
    local vdevs=() extra=()
    if [ "$TESTPMD_VDEV" = ring ]; then
        vdevs=(--vdev net_ring0 --vdev net_ring1)
        extra=(--tx-first) # a ring port starts empty: send a first burst for the loop to carry
    else
        vdevs=(--vdev 'net_null0,size=64' --vdev 'net_null1,size=64')
    fi
    TESTPMD_PREFIX="dataplane-bench-$$-$mode-$cores"
    local log=$OUT/testpmd-$mode-$cores.log
    printf '==> testpmd: %s forwarding over net_%s, %s forwarding core(s), %ss (lcores %s)\n' "$mode" "$TESTPMD_VDEV" "$cores" "$TESTPMD_SECONDS" "$map"
    dpdk-testpmd --lcores "$map" --no-huge -m 512 --no-pci --no-shconf \
        --file-prefix "$TESTPMD_PREFIX" "${vdevs[@]}" -- \
        --forward-mode="$mode" --total-num-mbufs=32768 --nb-cores="$cores" --rxq="$cores" --txq="$cores" \
        --stats-period 1 -a "${extra[@]}" </dev/null >"$log" 2>&1 &
    TESTPMD_PID=$!
    local waited=0
    while [ "$waited" -lt "$TESTPMD_SECONDS" ] && kill -0 "$TESTPMD_PID" 2>/dev/null; do
        sleep 1
        waited=$((waited + 1))
    done
    if ! kill -0 "$TESTPMD_PID" 2>/dev/null; then
        wait "$TESTPMD_PID" 2>/dev/null || true
        TESTPMD_PID=''
        note "testpmd exited early; last lines of $log:"
        tail -n 15 "$log" | sed 's/^/    /' >&2
        stop_testpmd
        return 1
    fi
    stop_testpmd
    # Every stats period prints one Tx-pps line per port.
    sed -n 's/^ *Tx-pps: *\([0-9]*\).*/\1/p' "$log" >"$OUT/testpmd-$mode-$cores.pps"
    if [ "$(wc -l <"$OUT/testpmd-$mode-$cores.pps")" -lt 4 ]; then
        note "testpmd printed too few statistics (log: $log)"
        return 1
    fi
}

have_testpmd=true
if ! command -v dpdk-testpmd >/dev/null; then
    have_testpmd=false
    note "forwarding-vs-testpmd: dpdk-testpmd is not installed, so there is no reference column."
    note "    Debian 12: apt-get install --no-install-recommends $DPDK_PACKAGES"
    note "    (./build.sh bench-forwarding installs them when run as root)"
    failed=1
elif ! ls /usr/lib/*/dpdk/pmds-*/librte_net_"$TESTPMD_VDEV".so* >/dev/null 2>&1; then
    have_testpmd=false
    note "forwarding-vs-testpmd: DPDK's net_$TESTPMD_VDEV driver is missing: apt-get install librte-net-$TESTPMD_VDEV""23"
    failed=1
fi
if $have_testpmd; then
    for mode in io mac; do
        for cores in 1 2; do
            run_testpmd "$mode" "$cores" || failed=1
        done
    done
fi

# ---------------------------------------------------------------------------------------------
# One table.

status=0
dpdk_version=$(dpkg-query -W -f='${Version}' dpdk-dev 2>/dev/null || true)
python3 - "$OUT" "$TESTPMD_VDEV" "${dpdk_version:-unknown}" <<'EOF' || status=$?
import glob, json, os, statistics, sys

out, vdev, dpdk = sys.argv[1], sys.argv[2], sys.argv[3]

# The dataplane: per build and case, Mpps per core (median and best run) and bytes allocated per packet.
def dataplane(name):
    rows = {}
    path = os.path.join(out, f"dataplane-{name}.txt")
    if os.path.exists(path):
        for line in open(path):
            fields = line.split()
            if len(fields) == 5 and fields[0] in ("inet", "inet6") and fields[1].isdigit():
                rows[(fields[0], int(fields[1]))] = (float(fields[2]), float(fields[3]), float(fields[4]))
    return rows

aot, jit = dataplane("aot"), dataplane("jit")

def testpmd(mode, cores):
    """Mpps per core of the 1 s stats periods (both ports' Tx-pps added; the first two periods are warm-up): (median, best)."""
    path = os.path.join(out, f"testpmd-{mode}-{cores}.pps")
    if not os.path.exists(path):
        return None, None
    values = [int(v) for v in open(path).read().split()]
    periods = [values[i] + values[i + 1] for i in range(0, len(values) - 1, 2)]
    periods = periods[2:] if len(periods) > 4 else periods
    if not periods:
        return None, None
    return statistics.median(periods) / cores / 1e6, max(periods) / cores / 1e6

def number(x):
    return "n/a" if x is None else f"{x:.2f}"

def ratio(a, b):
    return number(a / b if a and b else None)

lines = [
    f"Forwarding of 64-byte frames, Mpps per core, one run on {open(os.path.join(out, 'machine.txt')).read().strip()}",
    "dataplane: 'dataplane bench forward' (memory driver, whole stack, 1,000 routes), the NativeAOT binary and the same under the JIT; median and best run",
    f"testpmd: DPDK {dpdk}, io and mac forwarding over net_{vdev}; median and best 1 s period",
    "",
    "| family | cores | AOT | JIT | AOT/JIT | testpmd io | testpmd mac | AOT/io | AOT/mac | best: AOT | best: JIT | best: io | best: mac | best: AOT/io | best: AOT/mac | AOT B/packet |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
missing = False
for family in ("inet", "inet6"):
    for cores in (1, 2):
        io, mac = testpmd("io", cores), testpmd("mac", cores)
        a, j = aot.get((family, cores)), jit.get((family, cores))
        missing |= a is None or j is None
        a_med, a_best, a_alloc = a or (None, None, None)
        j_med, j_best, _ = j or (None, None, None)
        lines.append(f"| {family} | {cores} | {number(a_med)} | {number(j_med)} | {ratio(a_med, j_med)} | {number(io[0])} | {number(mac[0])} "
                     f"| {ratio(a_med, io[0])} | {ratio(a_med, mac[0])} | {number(a_best)} | {number(j_best)} | {number(io[1])} | {number(mac[1])} "
                     f"| {ratio(a_best, io[1])} | {ratio(a_best, mac[1])} | {'n/a' if a_alloc is None else f'{a_alloc:.3f}'} |")
with open("/proc/loadavg") as f:
    lines += ["", f"load average at the end: {' '.join(f.read().split()[:3])}"]
text = "\n".join(lines) + "\n"
print("\n" + text)
with open(os.path.join(out, "forwarding-vs-testpmd.md"), "w") as f:
    f.write(text)
sys.exit(1 if missing else 0)
EOF
[ "$status" -eq 0 ] || failed=1
printf 'table: %s\n' "${OUT#"$ROOT"/}/forwarding-vs-testpmd.md"
exit "$failed"
