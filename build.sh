#!/usr/bin/env bash
# build.sh: build, test, run, benchmark and fuzz the dataplane on Linux (Debian 12 with the .NET SDK).
# Every verb installs what it needs. `./build.sh` alone lists the verbs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"

SOLUTION=Dataplane.sln
CONFIGURATION=Release
OUT=$ROOT/out
FUZZ=$ROOT/.fuzz
FUZZ_PROJECT=tests/Dataplane.Fuzz/Dataplane.Fuzz.csproj
# The assemblies SharpFuzz instruments for AFL's coverage map (paths inside the published fuzz harness).
FUZZ_INSTRUMENTED=(Dataplane.Wire.dll)
TEST_PROJECTS=(
    tests/Dataplane.Wire.Tests/Dataplane.Wire.Tests.csproj
    tests/Dataplane.Tests/Dataplane.Tests.csproj
    tests/Dataplane.Generators.Tests/Dataplane.Generators.Tests.csproj
    tests/Dataplane.Native.Tests/Dataplane.Native.Tests.csproj
    tests/Dataplane.Conformance.Tests/Dataplane.Conformance.Tests.csproj
)
CONFORMANCE_PROJECT=conformance/Dataplane.Conformance/Dataplane.Conformance.csproj
CONFORMANCE=conformance/Dataplane.Conformance/bin/$CONFIGURATION/net10.0/dataplane-conformance.dll
EXAMPLE_CONFIG=dataplane/Dataplane/examples/dataplane.conf

# Debian packages the tests and `run` use: namespaces and veth (iproute2), the Linux peers and
# judges (ping, tracepath, traceroute, iperf3, socat, nc, tcpdump, tshark, scapy), afl++ for the
# fuzz verb, clang and zlib for the NativeAOT link (Microsoft's prerequisites; the linker driver
# takes clang when present, gcc otherwise), and ssh and sshd for the conformance runner's remote
# labs and the test that builds one out of namespaces.
APT_PACKAGES=(
    iproute2 ethtool tcpdump tshark iperf3 iputils-ping iputils-tracepath traceroute socat
    netcat-openbsd python3-scapy afl++ file clang zlib1g-dev
    openssh-client openssh-server
)
# What bench-forwarding adds: DPDK's testpmd (in dpdk-dev on Debian 12), its net_null and net_ring
# ports and the ring mempool driver, as the reference the dataplane's forwarding is compared with.
BENCH_APT_PACKAGES=(dpdk-dev librte-net-null23 librte-net-ring23 librte-mempool-ring23 python3)

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1 DOTNET_GENERATE_ASPNET_CERTIFICATE=false
# Also for the builds that tools start on their own (BenchmarkDotNet builds a project per run).
export MSBUILDDISABLENODEREUSE=1

# No MSBuild nodes outlive the command (they would hold memory on a 2-core box); in CI no live
# progress display and no compiler server left running after the job.
MSBUILD_ARGS=(-nodeReuse:false -nologo -v:minimal)
if [ "${CI:-}" = true ]; then
    MSBUILD_ARGS+=(-tl:off -p:UseSharedCompilation=false)
fi

if [ "${CI:-}" != true ] && [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    BOLD=$'\e[1m' RED=$'\e[31m' GREEN=$'\e[32m' YELLOW=$'\e[33m' RESET=$'\e[0m'
else
    BOLD='' RED='' GREEN='' YELLOW='' RESET=''
fi

step() { printf '%s==> %s%s\n' "$BOLD" "$*" "$RESET"; }
note() { printf '%s%s%s\n' "$YELLOW" "$*" "$RESET"; }
die() { printf '%sbuild.sh: %s%s\n' "$RED" "$*" "$RESET" >&2; exit 1; }

usage() {
    cat <<'EOF'
usage: ./build.sh VERB [ARGS]

  deps                  install the Linux tools the tests and `run` need (apt-get; quiet when present)
  build                 dotnet build Dataplane.sln -c Release
  publish               NativeAOT publish of the dataplane binary to out/dataplane (no warnings allowed)
  test                  deps, build, every test project, a short fuzz smoke; ends with `N passed, N failed`
  run                   deps, publish, then the lab: ping and iperf3 from a left to a right host
                        through the dataplane and through Linux as the router, side by side
                        (LAB_DURATION=SECONDS per iperf3 test, default 5)
  conformance [FILTER...] [OPTIONS]
                        deps, publish, then the conformance matrix: every test with the dataplane and
                        with Linux between two Linux hosts, per driver; results and the HTML page in
                        conformance/results/ (options: conformance/README.md; e.g. tcp4 --driver tap
                        --seconds 5; 'conformance list' lists the tests, 'conformance page' rewrites the page)
  bench [ARGS...]       BenchmarkDotNet microbenchmarks in perf/ (ARGS go to BenchmarkDotNet, e.g. --filter '*')
  bench-forwarding [ARGS...]
                        forwarding Mpps per core (ForwardingBenchmarks) against DPDK testpmd io
                        forwarding over net_null, in one run, as one table (perf/forwarding-vs-testpmd.sh;
                        ARGS go to BenchmarkDotNet; installs DPDK's Debian packages as root)
  fuzz [SECONDS] [TARGET...]
                        AFL++ on every fuzz target (or the named ones), SECONDS each (default 60);
                        findings in .fuzz/TARGET/; exits 1 if a crash was found
  clean                 remove bin/ obj/ out/ .fuzz/
EOF
}

# ---------------------------------------------------------------------------------------------
# deps

# missing_packages [PACKAGE...]: those not installed of the packages named (the test deps by default).
missing_packages() {
    local package status
    [ $# -gt 0 ] || set -- "${APT_PACKAGES[@]}"
    for package in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || printf '%s\n' "$package"
    done
}

# cmd_deps [PACKAGE...]: installs what is missing of the packages named (the test deps by default).
cmd_deps() {
    [ $# -gt 0 ] || set -- "${APT_PACKAGES[@]}"
    command -v dpkg-query >/dev/null || die "deps: this is not a Debian system; install by hand: $*"
    local missing
    missing=$(missing_packages "$@" | tr '\n' ' ')
    missing=${missing% }
    [ -n "$missing" ] || return 0

    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "deps: missing Debian packages: $missing
    install them as root:  sudo apt-get install --no-install-recommends $missing"
        fi
    fi

    step "installing Debian packages: $missing"
    mkdir -p "$OUT"
    # Answer the two questions these packages ask: no setuid dumpcap group, no iperf3 daemon.
    printf '%s\n' \
        'wireshark-common wireshark-common/install-setuid boolean false' \
        'iperf3 iperf3/start_daemon boolean false' | "${sudo[@]}" debconf-set-selections
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Use-Pty=0 $missing >"$OUT/deps.log" 2>&1 || {
        tail -n 30 "$OUT/deps.log" >&2
        die "deps: apt-get install failed (log: out/deps.log)"
    }
    missing=$(missing_packages "$@" | tr '\n' ' ')
    [ -z "$missing" ] || die "deps: still missing after apt-get install: $missing"
}

# ---------------------------------------------------------------------------------------------
# build, publish

cmd_restore() {
    dotnet restore "$SOLUTION" "${MSBUILD_ARGS[@]}"
}

cmd_build() {
    step "dotnet build $SOLUTION -c $CONFIGURATION"
    dotnet build "$SOLUTION" -c "$CONFIGURATION" "${MSBUILD_ARGS[@]}" "$@"
}

cmd_publish() {
    local stage=$OUT/publish log=$OUT/publish.log
    step "NativeAOT publish -> out/dataplane"
    mkdir -p "$OUT"
    rm -rf "$stage"
    local status=0
    dotnet publish dataplane/Dataplane/Dataplane.csproj -c "$CONFIGURATION" -r linux-x64 -o "$stage" \
        "${MSBUILD_ARGS[@]}" 2>&1 | tee "$log" || status=$?
    [ "$status" -eq 0 ] || die "publish failed (log: out/publish.log)"
    # A trim or AOT warning is a runtime failure waiting to happen: refuse it. ("0 Warning(s)" is
    # MSBuild's summary, not a warning.)
    if grep -qE 'warning [A-Z]+[0-9]+:' "$log"; then
        die "publish printed warnings (log: out/publish.log); the binary must publish clean"
    fi
    cp "$stage/dataplane" "$OUT/dataplane"
    printf 'out/dataplane: %s bytes\n' "$(stat -c %s "$OUT/dataplane")"
}

cmd_run() {
    # The lab needs root for its network namespaces: say so before a minute of publishing.
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            die "run: the lab creates network namespaces and needs root; run ./build.sh run as root"
        fi
    fi
    cmd_deps
    cmd_publish
    build_conformance
    step "lab: left host -> router -> right host; Linux, then the dataplane, as the router"
    local status=0
    "${as_root[@]}" env LAB_DURATION="${LAB_DURATION:-5}" dotnet "$CONFORMANCE" main-job \
        --binary "$OUT/dataplane" --config "$ROOT/$EXAMPLE_CONFIG" || status=$?
    [ "$status" -eq 0 ] || die "run: the lab exited $status: a cell of the table did not pass, or the lab could not start (see above)"
}

# build_conformance: the conformance runner, which also runs the main job.
build_conformance() {
    step "build the conformance runner"
    mkdir -p "$OUT"
    dotnet build "$CONFORMANCE_PROJECT" -c "$CONFIGURATION" "${MSBUILD_ARGS[@]}" >"$OUT/conformance-build.log" 2>&1 || {
        tail -n 20 "$OUT/conformance-build.log" >&2
        die "the conformance runner does not build (log: out/conformance-build.log)"
    }
}

cmd_conformance() {
    local verb=run
    if [ $# -gt 0 ] && [[ $1 =~ ^(list|page|run)$ ]]; then
        verb=$1
        shift
    fi
    if [ "$verb" = run ]; then
        [ "$(id -u)" -eq 0 ] || die "conformance: the labs are network namespaces; run it as root"
        cmd_deps
        cmd_publish
    fi
    build_conformance
    [ "$verb" != run ] || step "conformance matrix (conformance/results/index.html)"
    dotnet "$CONFORMANCE" "$verb" "$@"
}

cmd_bench() {
    step "BenchmarkDotNet (perf/Dataplane.Benchmarks, $CONFIGURATION)"
    # Build with the MSBuild switches, then run without them: `dotnet run` would hand them to the app.
    dotnet build perf/Dataplane.Benchmarks/Dataplane.Benchmarks.csproj -c "$CONFIGURATION" "${MSBUILD_ARGS[@]}"
    dotnet run --no-build --project perf/Dataplane.Benchmarks/Dataplane.Benchmarks.csproj -c "$CONFIGURATION" -- "$@"
}

cmd_bench_forwarding() {
    # Without DPDK the script still measures the dataplane, says what to install, and fails.
    (cmd_deps "${BENCH_APT_PACKAGES[@]}") || note "bench-forwarding: could not install DPDK; the testpmd column will be missing"
    step "forwarding: dataplane against testpmd (perf/forwarding-vs-testpmd.sh)"
    perf/forwarding-vs-testpmd.sh "$@"
}

cmd_clean() {
    find "$ROOT" -path "$ROOT/.git" -prune -o -type d \( -name bin -o -name obj \) -prune -print0 |
        xargs -0 rm -rf
    rm -rf "$OUT" "$FUZZ"
}

# ---------------------------------------------------------------------------------------------
# fuzz: SharpFuzz + AFL++
#
# The recipe: publish the harness (framework-dependent: SharpFuzz rewrites IL, so no NativeAOT) to
# .fuzz/bin; let `dotnet sharpfuzz` add AFL edge coverage to Dataplane.Wire.dll in place there; run
# afl-fuzz on the harness's apphost. The harness is its own fork server (SharpFuzz speaks AFL's
# protocol on fds 198/199 and runs every input in the same process), so AFL_SKIP_BIN_CHECK is needed:
# the apphost carries no AFL marker. An exception escaping a target is reported as a crash.

FUZZ_RUNNER=''   # the uninstrumented harness, for --list and --replay

fuzz_prepare() {
    command -v afl-fuzz >/dev/null || die "fuzz: afl-fuzz not found (./build.sh deps installs afl++)"
    dotnet tool restore >/dev/null || die "fuzz: dotnet tool restore failed (SharpFuzz.CommandLine)"
    rm -rf "${FUZZ:?}/bin" "$FUZZ/pcap-seeds"
    dotnet publish "$FUZZ_PROJECT" -c "$CONFIGURATION" -o "$FUZZ/bin" "${MSBUILD_ARGS[@]}" >"$FUZZ/publish.log" 2>&1 || {
        cat "$FUZZ/publish.log" >&2
        die "fuzz: building the harness failed"
    }
    FUZZ_RUNNER=$ROOT/tests/Dataplane.Fuzz/bin/$CONFIGURATION/net10.0/Dataplane.Fuzz
    local dll
    for dll in "${FUZZ_INSTRUMENTED[@]}"; do
        dotnet sharpfuzz "$FUZZ/bin/$dll" >"$FUZZ/instrument.log" 2>&1 || {
            cat "$FUZZ/instrument.log" >&2
            die "fuzz: dotnet sharpfuzz $dll failed"
        }
    done
}

fuzz_stat() { sed -n "s/^$1 *: *//p" "$2" 2>/dev/null | head -n 1; }

# fuzz_target TARGET SECONDS: one bounded afl-fuzz run; prints one result line; returns 1 on a crash
# or when AFL could not run.
fuzz_target() {
    local target=$1 seconds=$2
    local dir=$FUZZ/$target
    rm -rf "$dir"
    mkdir -p "$dir/in"
    if [ -d "tests/Dataplane.Fuzz/Seeds/$target" ]; then
        find "tests/Dataplane.Fuzz/Seeds/$target" -maxdepth 1 -type f ! -name 'README*' -exec cp {} "$dir/in/" \;
    fi
    if [ -n "${FUZZ_SEEDS_FROM_PCAP:-}" ]; then
        # Each frame cut at its layers: the IPv4 packets seed "ipv4", the TCP segments "transport", ...
        if [ ! -d "$FUZZ/pcap-seeds" ]; then
            "$FUZZ_RUNNER" --seeds "$FUZZ_SEEDS_FROM_PCAP" "$FUZZ/pcap-seeds" 32 >/dev/null ||
                die "fuzz: cannot take seeds from $FUZZ_SEEDS_FROM_PCAP"
        fi
        if [ -d "$FUZZ/pcap-seeds/$target" ]; then
            cp "$FUZZ/pcap-seeds/$target"/* "$dir/in/"
        fi
    fi
    [ -n "$(ls -A "$dir/in")" ] || printf '0' >"$dir/in/zero"

    # -V bounds the fuzzing time; `timeout` bounds the whole run (calibration included) in case
    # AFL itself stalls. AFL_NO_AFFINITY: the cores are shared with the build and other jobs.
    local status=0
    AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_FAST_CAL=1 AFL_NO_CRASH_README=1 \
        timeout -k 10 $((seconds + 120)) \
        afl-fuzz -i "$dir/in" -o "$dir" -V "$seconds" -t 5000 -m none -- "$FUZZ/bin/Dataplane.Fuzz" "$target" \
        >"$dir/afl.log" 2>&1 || status=$?

    local stats=$dir/default/fuzzer_stats
    if [ "$status" -ne 0 ] || [ ! -f "$stats" ]; then
        printf '%s%s: afl-fuzz failed (exit %s); last lines of %s:%s\n' "$RED" "$target" "$status" "${dir#"$ROOT"/}/afl.log" "$RESET"
        sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b(B//g' "$dir/afl.log" | grep -v '^\s*$' | tail -n 8 | sed 's/^/    /'
        return 1
    fi
    local crashes hangs
    crashes=$(find "$dir/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
    hangs=$(find "$dir/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
    printf '%s: %s execs in %ss, %s inputs in corpus, stability %s, %s crashes, %s hangs\n' "$target" \
        "$(fuzz_stat execs_done "$stats")" "$seconds" "$(fuzz_stat corpus_count "$stats")" \
        "$(fuzz_stat stability "$stats")" "$crashes" "$hangs"
    if [ "$crashes" -gt 0 ]; then
        printf '%s%s: crashing inputs in %s; the first, replayed:%s\n' "$RED" "$target" "${dir#"$ROOT"/}/default/crashes/" "$RESET"
        "$FUZZ_RUNNER" --replay "$target" "$(find "$dir/default/crashes" -type f -name 'id:*' | sort | head -n 1)" |
            head -n 12 | sed 's/^/    /' || true
        return 1
    fi
}

# fuzz_replay TARGET: the committed seeds and regression inputs of TARGET, run without AFL.
fuzz_replay() {
    local target=$1 paths=()
    local dir
    for dir in tests/Dataplane.Fuzz/Seeds/"$target" tests/Dataplane.Fuzz/Regressions/"$target"; do
        [ -d "$dir" ] && paths+=("$dir")
    done
    [ "${#paths[@]}" -gt 0 ] || return 0
    "$FUZZ_RUNNER" --replay "$target" "${paths[@]}" | tail -n 20
}

# fuzz_all SECONDS [TARGET...]
fuzz_all() {
    local seconds=$1
    shift
    local targets=("$@")
    if [ "${#targets[@]}" -eq 0 ]; then
        mapfile -t targets < <("$FUZZ_RUNNER" --list)
    fi
    local target failed=0
    for target in "${targets[@]}"; do
        "$FUZZ_RUNNER" --list | grep -qxF "$target" || die "fuzz: unknown target '$target' (targets: $("$FUZZ_RUNNER" --list | tr '\n' ' '))"
    done
    for target in "${targets[@]}"; do
        fuzz_replay "$target" >"$FUZZ/replay.log" 2>&1 || {
            cat "$FUZZ/replay.log"
            failed=1
        }
        fuzz_target "$target" "$seconds" || failed=1
    done
    return "$failed"
}

cmd_fuzz() {
    local seconds=60
    if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
        seconds=$1
        shift
    fi
    [ "$seconds" -gt 0 ] || die "fuzz: SECONDS must be positive"
    cmd_deps
    mkdir -p "$FUZZ"
    step "fuzz: instrumenting the harness"
    fuzz_prepare
    step "fuzz: ${seconds}s per target"
    fuzz_all "$seconds" "$@" || die "fuzz: crashes found (or AFL failed); see above"
}

# ---------------------------------------------------------------------------------------------
# test

PASSED=0 FAILED=0 SKIPPED=0
RESULTS=()

record() { # NAME PASSED FAILED SKIPPED [NOTE]
    PASSED=$((PASSED + $2)) FAILED=$((FAILED + $3)) SKIPPED=$((SKIPPED + $4))
    RESULTS+=("$(printf '%-28s %s passed, %s failed, %s skipped%s' "$1" "$2" "$3" "$4" "${5:+  ($5)}")")
}

# count_trx FILE [OUTCOME...]: how many test results in a VSTest TRX file have one of the
# outcomes; with none named, how many results there are, whatever their outcome.
count_trx() {
    local file=$1
    shift
    local pattern='[^"]*'
    if [ $# -gt 0 ]; then
        pattern=$(printf '|%s' "$@")
        pattern="(${pattern:1})"
    fi
    grep -o '<UnitTestResult [^>]*>' "$file" | grep -cE " outcome=\"${pattern}\"" || true
}

# The outcomes a TRX result counts under: everything else (PassedButRunAborted, Warning,
# Blocked, Disconnected, InProgress, Pending, Completed, ...) is a run that did not end in a
# verdict, and counts as failed.
TRX_PASSED=(Passed)
TRX_FAILED=(Failed Error Timeout Aborted)
TRX_SKIPPED=(NotExecuted Inconclusive NotRunnable)

# trx_other_outcomes FILE: the outcomes in FILE that are none of the above, with their counts.
trx_other_outcomes() {
    local known
    known=$(printf '|%s' "${TRX_PASSED[@]}" "${TRX_FAILED[@]}" "${TRX_SKIPPED[@]}")
    grep -o '<UnitTestResult [^>]*>' "$1" | grep -oE ' outcome="[^"]*"' | sed -E 's/ outcome="(.*)"/\1/' |
        grep -vxE "(${known:1})" | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }'
}

run_test_project() {
    local project=$1 results=$2
    local name
    name=$(basename "$project" .csproj)
    local trx=$results/$name.trx status=0
    step "test $name"
    dotnet test "$project" -c "$CONFIGURATION" --no-build --no-restore \
        --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
        --blame-hang-timeout 15m --blame-hang-dump-type none \
        "${MSBUILD_ARGS[@]}" || status=$?
    if [ ! -f "$trx" ]; then
        record "$name" 0 1 0 "no results: the test run did not complete, exit $status"
        return
    fi
    local total passed failed skipped other notes=()
    total=$(count_trx "$trx")
    passed=$(count_trx "$trx" "${TRX_PASSED[@]}")
    failed=$(count_trx "$trx" "${TRX_FAILED[@]}")
    skipped=$(count_trx "$trx" "${TRX_SKIPPED[@]}")
    if [ "$total" -eq 0 ]; then
        # Nothing discovered, or a filter that matches nothing: dotnet test calls that a success.
        record "$name" 0 1 0 "no test ran: none was discovered or a filter matched none (exit $status)"
        return
    fi
    other=$((total - passed - failed - skipped))
    if [ "$other" -gt 0 ]; then
        failed=$((failed + other))
        notes+=("$other with no verdict: $(trx_other_outcomes "$trx")")
    fi
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        # The runner failed with no failing test recorded: a crashed or aborted test host.
        failed=1
        notes+=("test run aborted, exit $status")
    fi
    local note=''
    [ "${#notes[@]}" -eq 0 ] || note=$(printf '; %s' "${notes[@]}")
    record "$name" "$passed" "$failed" "$skipped" "${note:2}"
}

# binary_checks: publish the NativeAOT binary with no warnings, then use it as a new user would.
binary_checks() {
    step "NativeAOT binary"
    if ! (cmd_publish) >"$OUT/binary.log" 2>&1; then
        tail -n 20 "$OUT/binary.log" | sed 's/^/    /'
        record "binary" 0 1 0 "publish failed or printed warnings"
        return
    fi
    local passed=0 failed=0 bad=$OUT/three-mistakes.conf errors status
    check() { # DESCRIPTION COMMAND...: one check of the binary
        local what=$1
        shift
        if "$@" >>"$OUT/binary.log" 2>&1; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            printf '    %sFAILED: %s%s\n' "$RED" "$what" "$RESET"
        fi
    }
    if command -v file >/dev/null; then
        check "file says one ELF executable" bash -c "file '$OUT/dataplane' | grep -q 'ELF 64-bit LSB pie executable'"
    else
        check "the binary starts with the ELF magic" bash -c "head -c4 '$OUT/dataplane' | grep -q 'ELF'"
    fi
    check "--help exits 0" "$OUT/dataplane" --help
    check "check --help exits 0" "$OUT/dataplane" check --help
    check "version exits 0" "$OUT/dataplane" version
    check "the example config checks clean" "$OUT/dataplane" check -c "$EXAMPLE_CONFIG"
    printf '%s\n' 'port left driver tap ifname dpl0' 'inet left 10.0.0.300/24' 'port right driver afpacket' \
        'inet right 10.0.2.1/24' 'mtu left 70000' >"$bad"
    status=0
    errors=$("$OUT/dataplane" check -c "$bad" 2>&1) || status=$?
    check "three mistakes: exit 2" test "$status" -eq 2
    check "three mistakes: three FILE:LINE errors" test "$(grep -cE "^$bad:[0-9]+: " <<<"$errors")" -eq 3
    # run on memory ports, stopped by SIGINT as Ctrl-C would: exit 0 with the final counters. (A
    # background job of a script starts with SIGINT ignored; python puts the default back first.)
    printf '%s\n' 'port m0 driver memory queues 2' 'set cores 0-1' >"$OUT/memory.conf"
    check "run stops cleanly on SIGINT and prints counters" bash -c "
        python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \\
            '$OUT/dataplane' run -c '$OUT/memory.conf' >'$OUT/run.log' 2>&1 & pid=\$!
        for _ in \$(seq 600); do grep -q 'running:' '$OUT/run.log' && break; sleep 0.1; done
        kill -INT \$pid
        for _ in \$(seq 600); do kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
        if kill -0 \$pid 2>/dev/null; then kill -KILL \$pid; wait \$pid; exit 1; fi
        status=0; wait \$pid || status=\$?
        test \$status -eq 0 && grep -q 'stopped; counters' '$OUT/run.log'"
    # run serves ctl on its socket while it runs.
    check "ctl ifconfig and stats --json answer from a running dataplane" bash -c "
        '$OUT/dataplane' run -c '$OUT/memory.conf' -s '$OUT/ctl.sock' >'$OUT/run-ctl.log' 2>&1 & pid=\$!
        # The socket file appears at bind, a moment before it listens: wait for an answer.
        for _ in \$(seq 600); do '$OUT/dataplane' ctl -s '$OUT/ctl.sock' ifconfig >/dev/null 2>&1 && break; sleep 0.1; done
        ok=0
        '$OUT/dataplane' ctl -s '$OUT/ctl.sock' ifconfig | grep -q '^m0: flags=' &&
            '$OUT/dataplane' ctl -s '$OUT/ctl.sock' stats --json | python3 -c 'import json, sys; json.load(sys.stdin)' && ok=1
        kill -TERM \$pid; wait \$pid
        test \$ok -eq 1 && test ! -e '$OUT/ctl.sock'"
    printf '    %s checks of out/dataplane passed, %s failed\n' "$passed" "$failed"
    record "binary" "$passed" "$failed" 0
}

# lab_check: the main job's Linux-router phase, 1 s per iperf3 test, under its own lab id: it
# prints a table of six passing rows and leaves no namespace behind. (The dataplane phase needs
# the stack; `./build.sh run` runs it.)
lab_check() {
    step "lab: main job, Linux-router phase"
    if [ "$(id -u)" -ne 0 ]; then
        record "lab (linux router)" 0 0 1 "needs root for network namespaces"
        return
    fi
    local tool
    for tool in ip ss ping iperf3; do
        if ! command -v "$tool" >/dev/null; then
            record "lab (linux router)" 0 0 1 "$tool not installed"
            return
        fi
    done
    local id=dpl-test-$$ log=$OUT/lab.log status=0 passed=0 failed=0
    rm -rf "$OUT/lab-logs"
    timeout -k 5 300 dotnet "$CONFORMANCE" main-job --id "$id" --linux-only --duration 1 --logs "$OUT/lab-logs" \
        >"$log" 2>&1 || status=$?
    lab_expect() { # DESCRIPTION COMMAND...
        local what=$1
        shift
        if "$@"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            printf '    %sFAILED: lab: %s%s\n' "$RED" "$what" "$RESET"
        fi
    }
    lab_expect "exits 0 (exit $status)" test "$status" -eq 0
    lab_expect "prints six PASS rows" test "$(grep -cE '^(icmp[46] ping|(tcp|udp)[46] iperf3) +\| PASS ' "$log")" -eq 6
    lab_expect "leaves no namespace $id-*" bash -c "! ip netns list | grep -q '^$id-'"
    if [ "$failed" -gt 0 ]; then
        tail -n 25 "$log" | sed 's/^/    /'
    else
        grep -E '^(icmp|tcp|udp)[46] ' "$log" | sed 's/^/    /'
    fi
    record "lab (linux router)" "$passed" "$failed" 0
}

# conformance_check: the quick subset of the conformance matrix (a few tests, 2 s each, the first
# driver of the namespace lab), with the dataplane and with Linux; each result counts once.
conformance_check() {
    step "conformance matrix, quick subset"
    if [ "$(id -u)" -ne 0 ]; then
        record "conformance (quick)" 0 0 1 "needs root for network namespaces"
        return
    fi
    if [ ! -x "$OUT/dataplane" ] || [ ! -f "$CONFORMANCE" ]; then
        record "conformance (quick)" 0 1 0 "no binary or no runner (see above)"
        return
    fi
    local log=$OUT/conformance-quick.log status=0
    rm -rf "$OUT/conformance-quick"
    timeout -k 10 300 dotnet "$CONFORMANCE" run --quick --results "$OUT/conformance-quick" --binary "$OUT/dataplane" \
        >"$log" 2>&1 || status=$?
    sed 's/^/    /' "$log" | grep -v '^    $' | tail -n 40
    local line passed failed skipped
    line=$(grep -E '^conformance: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        record "conformance (quick)" 0 1 0 "no summary: exit $status"
        return
    fi
    passed=$(sed -E 's/^conformance: ([0-9]+) passed.*/\1/' <<<"$line")
    failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    skipped=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
    skipped=${skipped:-0}
    if [ $((passed + failed + skipped)) -eq 0 ]; then
        record "conformance (quick)" 0 1 0 "no test ran (exit $status)"
        return
    fi
    local id
    id=$(grep -oE 'namespaces dplc[0-9]+-' "$log" | head -n 1 | sed 's/^namespaces //')
    if [ -z "$id" ] || ip netns list | grep -q "^$id"; then
        failed=$((failed + 1))
        printf '    %sFAILED: the conformance runner left a namespace %s* behind (or did not say its prefix)%s\n' "$RED" "$id" "$RESET"
    fi
    record "conformance (quick)" "$passed" "$failed" "$skipped" "page: out/conformance-quick/index.html"
}

fuzz_smoke() {
    step "fuzz smoke"
    if ! command -v afl-fuzz >/dev/null; then
        record "fuzz smoke" 0 0 1 "afl-fuzz not installed"
        return
    fi
    mkdir -p "$FUZZ"
    local log=$FUZZ/smoke.log status=0
    (
        fuzz_prepare
        mapfile -t targets < <("$FUZZ_RUNNER" --list)
        [ "${#targets[@]}" -gt 0 ] || die "fuzz: the harness lists no targets"
        # About a minute of fuzzing in all, at most 5 s and at least 2 s per target.
        seconds=$((60 / ${#targets[@]}))
        [ "$seconds" -le 5 ] || seconds=5
        [ "$seconds" -ge 2 ] || seconds=2
        fuzz_all "$seconds" "${targets[@]}"
    ) >"$log" 2>&1 || status=$?
    sed 's/^/    /' "$log"
    if [ "$status" -eq 0 ]; then
        record "fuzz smoke" 1 0 0
    else
        record "fuzz smoke" 0 1 0 "see .fuzz/"
    fi
}

cmd_test() {
    # A failed install is one failure, not the end: the summary line must still come last. As a
    # user who cannot install, the tests that need the missing tools skip and say so.
    if [ "$(id -u)" -ne 0 ] && ! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; } && [ -n "$(missing_packages)" ]; then
        note "not root: not installing $(missing_packages | tr '\n' ' '); tests that need them skip"
        record "deps" 0 0 1 "not root, packages missing"
    else
        (cmd_deps) || record "deps" 0 1 0 "Debian packages missing; see above"
    fi
    local results=$OUT/test-results
    rm -rf "$results"
    mkdir -p "$results"

    step "restore"
    local build_ok=true
    cmd_restore || build_ok=false
    if $build_ok; then
        cmd_build --no-restore || build_ok=false
    fi
    if ! $build_ok; then
        record "build $SOLUTION" 0 1 0 "does not build"
    fi

    # The binary first: the conformance tests start it in their labs (the ssh lab's system under test).
    binary_checks

    local project
    for project in "${TEST_PROJECTS[@]}"; do
        if ! $build_ok; then
            # The solution does not build: still run the test projects that do.
            step "build $(basename "$project" .csproj) alone"
            dotnet build "$project" -c "$CONFIGURATION" "${MSBUILD_ARGS[@]}" || {
                record "$(basename "$project" .csproj)" 0 1 0 "does not build"
                continue
            }
        fi
        run_test_project "$project" "$results"
    done

    lab_check
    conformance_check
    fuzz_smoke

    step "results"
    printf '%s\n' "${RESULTS[@]}"
    local summary="$PASSED passed, $FAILED failed"
    [ "$SKIPPED" -eq 0 ] || summary+=", $SKIPPED skipped"
    if [ "$FAILED" -eq 0 ]; then
        printf '%s%s%s\n' "$GREEN" "$summary" "$RESET"
    else
        printf '%s%s%s\n' "$RED" "$summary" "$RESET"
        exit 1
    fi
}

# ---------------------------------------------------------------------------------------------

verb=${1:-}
[ $# -eq 0 ] || shift
case "$verb" in
    deps) cmd_deps ;;
    build) cmd_build "$@" ;;
    publish) cmd_publish ;;
    test) cmd_test ;;
    run) cmd_run ;;
    conformance) cmd_conformance "$@" ;;
    bench) cmd_bench "$@" ;;
    bench-forwarding) cmd_bench_forwarding "$@" ;;
    fuzz) cmd_fuzz "$@" ;;
    clean) cmd_clean ;;
    '' | help | -h | --help) usage ;;
    *)
        printf 'build.sh: unknown verb "%s"\n\n' "$verb" >&2
        usage >&2
        exit 2
        ;;
esac
