#!/usr/bin/env bash
# forwarding-vs-testpmd.sh: the dataplane's IP forwarding against DPDK's testpmd, in one run on
# this machine (DESIGN.md, "Performance method"), printed as one table.
#
#   dataplane  perf/Dataplane.Benchmarks ForwardingBenchmarks: 64-byte IPv4 and IPv6 frames through
#              the memory driver, the per-core loop and the whole stack, 1,000 routes, 1 and 2 workers
#   testpmd    dpdk-testpmd --forward-mode=io over two net_null ports (64-byte packets), 1 and 2
#              forwarding cores: receive a burst, send it out of the other port, touch no byte
#
# Mpps per core and the ratio are given twice: from the median BenchmarkDotNet iteration and the
# median testpmd period, and from the best of each (which other jobs on a shared machine disturb less).
#
# usage: perf/forwarding-vs-testpmd.sh [BENCHMARKDOTNET ARGS...]   (or ./build.sh bench-forwarding)
#   Default BenchmarkDotNet arguments: --launchCount 1 --warmupCount 3 --iterationCount 10; any
#   given replace them (e.g. --job short for a quick look).
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
# The bound of the benchmark process (4 cases); testpmd runs are stopped by this script.
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
BDN_ARGS=("$@")
[ "${#BDN_ARGS[@]}" -gt 0 ] || BDN_ARGS=(--launchCount 1 --warmupCount 3 --iterationCount 10)
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
rm -rf "$OUT/bdn" "$OUT"/testpmd-*.log "$OUT"/testpmd-*.pps
printf '%s, %s CPUs; load average at the start: %s\n' \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt"

# ---------------------------------------------------------------------------------------------
# The dataplane: BenchmarkDotNet, JSON results.

printf '==> dataplane: ForwardingBenchmarks (%s)\n' "${BDN_ARGS[*]}"
if ! dotnet build perf/Dataplane.Benchmarks/Dataplane.Benchmarks.csproj -c Release -nodeReuse:false -nologo -v:minimal \
    >"$OUT/build.log" 2>&1; then
    tail -n 20 "$OUT/build.log" >&2
    note "forwarding-vs-testpmd: building the benchmarks failed (log: $OUT/build.log)"
    exit 1
fi
status=0
timeout -k 10 "$BENCH_TIMEOUT" dotnet run --no-build --project perf/Dataplane.Benchmarks/Dataplane.Benchmarks.csproj -c Release -- \
    --filter '*ForwardingBenchmarks*' --artifacts "$OUT/bdn" --exporters json "${BDN_ARGS[@]}" \
    >"$OUT/benchmark.log" 2>&1 || status=$?
grep -E '^\|' "$OUT/benchmark.log" | tail -n 6 || true
if [ "$status" -ne 0 ]; then
    note "forwarding-vs-testpmd: the benchmark run failed or timed out (exit $status; log: $OUT/benchmark.log)"
    failed=1
fi
if grep -q 'Exception' "$OUT/benchmark.log"; then
    note "forwarding-vs-testpmd: a benchmark case threw (log: $OUT/benchmark.log):"
    grep -m 3 -A 2 'Exception' "$OUT/benchmark.log" | sed 's/^/    /' >&2
    failed=1
fi

# ---------------------------------------------------------------------------------------------
# The reference: testpmd io forwarding.

# run_testpmd CORES: one bounded run with CORES forwarding cores; per-period Tx-pps of both ports in $OUT/testpmd-CORES.pps.
run_testpmd() {
    local cores=$1 cpus map k
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
    TESTPMD_PREFIX="dataplane-bench-$$-$cores"
    local log=$OUT/testpmd-$cores.log
    printf '==> testpmd: io forwarding over net_%s, %s forwarding core(s), %ss (lcores %s)\n' "$TESTPMD_VDEV" "$cores" "$TESTPMD_SECONDS" "$map"
    dpdk-testpmd --lcores "$map" --no-huge -m 512 --no-pci --no-shconf \
        --file-prefix "$TESTPMD_PREFIX" "${vdevs[@]}" -- \
        --forward-mode=io --total-num-mbufs=32768 --nb-cores="$cores" --rxq="$cores" --txq="$cores" \
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
    sed -n 's/^ *Tx-pps: *\([0-9]*\).*/\1/p' "$log" >"$OUT/testpmd-$cores.pps"
    if [ "$(wc -l <"$OUT/testpmd-$cores.pps")" -lt 4 ]; then
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
    for cores in 1 2; do
        run_testpmd "$cores" || failed=1
    done
fi

# ---------------------------------------------------------------------------------------------
# One table.

status=0
dpdk_version=$(dpkg-query -W -f='${Version}' dpdk-dev 2>/dev/null || true)
python3 - "$OUT" "$TESTPMD_VDEV" "${dpdk_version:-unknown}" <<'EOF' || status=$?
import glob, json, os, statistics, sys

out, vdev, dpdk = sys.argv[1], sys.argv[2], sys.argv[3]

# The dataplane: per case, ns per packet of BenchmarkDotNet's iterations (median and best).
rows = {}
for path in glob.glob(os.path.join(out, "bdn", "results", "*ForwardingBenchmarks*.json")):
    with open(path) as f:
        for b in json.load(f).get("Benchmarks", []):
            params = dict(p.split("=", 1) for p in b.get("Parameters", "").split("&") if "=" in p)
            stats = b.get("Statistics") or {}
            if "Median" not in stats:
                continue
            memory = b.get("Memory") or {}
            rows[(params.get("Family"), int(params.get("Workers", "0")))] = (stats["Median"], stats["Min"], memory.get("BytesAllocatedPerOperation"))

def testpmd(cores):
    """Mpps per core of the 1 s stats periods (both ports' Tx-pps added; the first two periods are warm-up): (median, best)."""
    path = os.path.join(out, f"testpmd-{cores}.pps")
    if not os.path.exists(path):
        return None
    values = [int(v) for v in open(path).read().split()]
    periods = [values[i] + values[i + 1] for i in range(0, len(values) - 1, 2)]
    periods = periods[2:] if len(periods) > 4 else periods
    if not periods:
        return None
    return statistics.median(periods) / cores / 1e6, max(periods) / cores / 1e6

def number(x):
    return "n/a" if x is None else f"{x:.2f}"

lines = [
    f"Forwarding of 64-byte frames, Mpps per core, one run on {open(os.path.join(out, 'machine.txt')).read().strip()}",
    "dataplane: ForwardingBenchmarks (BenchmarkDotNet, .NET JIT), memory driver, whole stack, 1,000 routes; median and best iteration",
    f"testpmd: DPDK {dpdk}, io forwarding over net_{vdev}; median and best 1 s period",
    "",
    "| family | cores | dataplane ns/packet | dataplane Mpps/core | testpmd Mpps/core | ratio | best: dataplane | best: testpmd | best: ratio | allocated |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
missing = False
for family in ("Ipv4", "Ipv6"):
    for cores in (1, 2):
        reference = testpmd(cores) or (None, None)
        row = rows.get((family, cores))
        if row is None:
            missing = True
            ns, mpps, best, alloc = "n/a", None, None, "n/a"
        else:
            median_ns, best_ns, allocated = row
            ns = f"{median_ns:.1f}"
            mpps = 1000.0 / median_ns / cores
            best = 1000.0 / best_ns / cores
            alloc = "n/a" if allocated is None else f"{allocated} B"
        ratio = mpps / reference[0] if mpps and reference[0] else None
        best_ratio = best / reference[1] if best and reference[1] else None
        lines.append(f"| {family.replace('Ipv', 'IPv')} | {cores} | {ns} | {number(mpps)} | {number(reference[0])} | {number(ratio)} "
                     f"| {number(best)} | {number(reference[1])} | {number(best_ratio)} | {alloc} |")
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
