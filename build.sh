#!/usr/bin/env bash
# build.sh: build, test, run, benchmark and fuzz the dataplane on Linux (Debian 12 with the .NET SDK).
# Every verb installs what it needs. `./build.sh` alone lists the verbs. A dispatcher: the Debian
# packages and the dotnet commands are here; what runs and judges is code: the test verb's runs,
# summary and binary checks and the fuzz loop (build/Dataplane.Build, dataplane-build), the main job
# and the conformance matrix (conformance/Dataplane.Conformance, dataplane-conformance).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CALLER_DIR=$PWD # where a path given on the command line is relative to
cd "$ROOT"

SOLUTION=Dataplane.sln
CONFIGURATION=Release
OUT=$ROOT/out
CONFORMANCE_PROJECT=conformance/Dataplane.Conformance/Dataplane.Conformance.csproj
CONFORMANCE=conformance/Dataplane.Conformance/bin/$CONFIGURATION/net10.0/dataplane-conformance.dll
BUILD_TOOL_PROJECT=build/Dataplane.Build/Dataplane.Build.csproj
BUILD_TOOL=build/Dataplane.Build/bin/$CONFIGURATION/net10.0/dataplane-build.dll
EXAMPLE_CONFIG=dataplane/Dataplane/examples/dataplane.conf

# Debian packages the tests and `run` use: namespaces and veth (iproute2), the Linux peers and
# judges (ping, tracepath, traceroute, iperf3, socat, nc, tcpdump, tshark, scapy), hping3 for the
# flood labs (SYN, ACK and reset floods at the dataplane's TCP), afl++ for the fuzz verb, clang and
# zlib for the NativeAOT link (Microsoft's prerequisites; the linker driver takes clang when
# present, gcc otherwise), and ssh and sshd for the conformance runner's remote labs and the test
# that builds one out of namespaces; haproxy, nginx-light and wrk for relay-bench (HAProxy the relay
# the dataplane's is compared with, nginx and wrk the short connections); QEMU and a static busybox
# for the VFIO test guest (its kernel is Debian's too, fetched with apt-get download into .qemu/,
# never installed here: lab/Dataplane.Labs/Guest/).
APT_PACKAGES=(
    iproute2 ethtool tcpdump tshark iperf3 iputils-ping iputils-tracepath traceroute socat
    netcat-openbsd python3-scapy hping3 afl++ file clang zlib1g-dev
    openssh-client openssh-server haproxy nginx-light wrk qemu-system-x86 busybox-static
)
# What bench-forwarding adds: DPDK's testpmd (in dpdk-dev on Debian 12), its net_null and net_ring
# ports and the ring mempool driver, as the reference the dataplane's forwarding is compared with.
BENCH_APT_PACKAGES=(dpdk-dev librte-net-null23 librte-net-ring23 librte-mempool-ring23 python3)
# What bench-instructions adds: callgrind, and objcopy to strip the DWARF 5 valgrind cannot read.
BENCH_INSTRUCTIONS_APT_PACKAGES=(valgrind binutils python3)
# What bench-veth adds: testpmd as the generator (af_packet) and as a DUT (af_xdp, af_packet).
BENCH_VETH_APT_PACKAGES=(dpdk-dev librte-net-af-xdp23 librte-net-af-packet23 librte-mempool-ring23 iproute2 python3)

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
  publish               NativeAOT publish of the dataplane binary to out/dataplane (no warnings allowed),
                        compiled with the static profile pgo makes first, so every verb that publishes
                        trains too (about 10 s; PGO=off: without a profile)
  pgo                   the static profile: the JIT build forwards ('dataplane bench forward') with the
                        runtime writing its PGO counts, made into out/pgo/dataplane.mibc for NativeAOT
  test                  deps, build, every test project, a short fuzz smoke; ends with `N passed, N failed`
  run [CONFIG]          deps, publish, then the lab: ping and iperf3 from a left to a right host
                        through the dataplane and through Linux as the router, side by side
                        (LAB_DURATION=SECONDS per iperf3 test, default 5); CONFIG: the dataplane's
                        config (default the example: tap left, afpacket right; ports on tap,
                        afpacket or afxdp, e.g. dataplane/Dataplane/examples/dataplane-afxdp.conf)
  conformance [FILTER...] [OPTIONS]
                        deps, publish, then the conformance matrix: every test with the dataplane and
                        with Linux between two Linux hosts, per driver; results and the HTML page in
                        conformance/results/ (options: conformance/README.md; e.g. tcp4 --driver tap
                        --seconds 5; 'conformance list' lists the tests, 'conformance page' rewrites the page)
  relay-bench [OPTIONS] deps, publish, then the TCP relay benchmark: iperf3 (1, 2, 4, 10 connections), wrk
                        connections/s and memory per idle pair through Linux forwarding, HAProxy, socat
                        and the dataplane's splice and copy relays (LAB_DURATION=SECONDS per test, default 5;
                        OPTIONS: dataplane-conformance relay-bench --help, e.g. --ipv6 --pairs 2000)
  bench [ARGS...]       BenchmarkDotNet microbenchmarks in perf/ (ARGS go to BenchmarkDotNet, e.g. --filter '*')
  bench-forwarding [ARGS...]
                        forwarding Mpps per core of the shipped NativeAOT binary and of the JIT
                        ('dataplane bench forward') against DPDK testpmd io and mac forwarding over
                        net_null, in one run, as one table (perf/forwarding-vs-testpmd.sh; ARGS go to
                        'bench forward', e.g. --runs 3; installs DPDK's Debian packages as root)
  bench-instructions    instructions per forwarded packet of the shipped binary, IPv4 and IPv6, counted by
                        callgrind inside the timed loop of 'bench forward', with the functions they are spent in:
                        a figure the machine's load does not move (perf/forwarding-instructions.sh;
                        PACKETS=N per family, default 2000000; installs valgrind)
  bench-veth            as root: deps, publish, then Mpps forwarded through veth pairs in namespaces
                        (generator -> DUT -> sink, testpmd txonly as the generator) by the dataplane
                        on afxdp and afpacket, testpmd on af_xdp (mac, io) and af_packet, and Linux,
                        one table with ratios (perf/veth-forwarding.sh, about 4.5 minutes; settings
                        are environment variables: RUNS=3 WARMUP=2 MEASURE=8 FRAME=64 DUTS NICE ...)
  guest [COMMAND...]    deps, publish, then the QEMU test guest (q35, emulated IOMMU, TCG; e1000e, vmxnet3
                        and virtio-net on taps) with its NICs bound to vfio-pci: runs COMMAND in it
                        (default 'dataplane version'), prints the console; exits with COMMAND's status
                        (--before-bind SCRIPT first runs SCRIPT with the NICs on their kernel drivers)
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
# build, publish, and the two programs the other verbs hand over to

cmd_build() {
    step "dotnet build $SOLUTION -c $CONFIGURATION"
    dotnet build "$SOLUTION" -c "$CONFIGURATION" "${MSBUILD_ARGS[@]}" "$@"
}

# The static profile the binary is compiled with (out/pgo/dataplane.mibc): the JIT build forwards
# under tiered PGO and its counts become NativeAOT's, so that the shipped binary gets the layout
# and inlining the JIT's dynamic PGO gives (build/Dataplane.Build/Pgo/). Every publish trains anew
# (about 10 s); PGO=off publishes without.
cmd_pgo() {
    mkdir -p "$OUT"
    step "dotnet build the dataplane (the JIT build that makes the profile)"
    dotnet build dataplane/Dataplane/Dataplane.csproj -c "$CONFIGURATION" "${MSBUILD_ARGS[@]}" >"$OUT/pgo-build.log" 2>&1 || {
        tail -n 20 "$OUT/pgo-build.log" >&2
        die "pgo: the dataplane does not build (log: out/pgo-build.log)"
    }
    build_quietly build-tool "$BUILD_TOOL_PROJECT" || exit 1
    dotnet "$BUILD_TOOL" pgo "$OUT/pgo" || die "pgo: no profile (out/pgo/); PGO=off ./build.sh publish publishes without one"
}

cmd_publish() {
    local profile=() named
    case "${PGO:-on}" in
        off) note "PGO=off: publishing without the static profile" ;;
        on)
            cmd_pgo
            # Named by its content: the native compile's inputs are its response file, not the
            # profile, so a new profile under the same name would leave a stale binary.
            named="$OUT/pgo/dataplane-$(sha256sum "$OUT/pgo/dataplane.mibc" | cut -c1-16).mibc"
            cp "$OUT/pgo/dataplane.mibc" "$named"
            profile=(-p:DataplaneMibc="$named")
            ;;
        *) die "PGO=${PGO}: on or off" ;;
    esac
    step "NativeAOT publish -> out/dataplane"
    mkdir -p "$OUT"
    rm -rf "$OUT/publish"
    # A trim or AOT warning is a runtime failure waiting to happen: -warnaserror refuses it.
    dotnet publish dataplane/Dataplane/Dataplane.csproj -c "$CONFIGURATION" -r linux-x64 -o "$OUT/publish" \
        "${MSBUILD_ARGS[@]}" "${profile[@]}" -warnaserror 2>&1 | tee "$OUT/publish.log" ||
        die "publish failed or printed warnings (log: out/publish.log); the binary must publish clean"
    cp "$OUT/publish/dataplane" "$OUT/dataplane"
    printf 'out/dataplane: %s bytes\n' "$(stat -c %s "$OUT/dataplane")"
}

# build_quietly NAME PROJECT: builds a tool project, its output in out/NAME-build.log.
build_quietly() {
    step "build $(basename "$2" .csproj)"
    mkdir -p "$OUT"
    dotnet build "$2" -c "$CONFIGURATION" "${MSBUILD_ARGS[@]}" >"$OUT/$1-build.log" 2>&1 || {
        tail -n 20 "$OUT/$1-build.log" >&2
        printf '%sbuild.sh: %s does not build (log: out/%s-build.log)%s\n' "$RED" "$2" "$1" "$RESET" >&2
        return 1
    }
}

# as_root VERB: sudo -n when not root and sudo works without a password; dies when neither.
as_root() {
    AS_ROOT=()
    [ "$(id -u)" -ne 0 ] || return 0
    command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
        die "$1: the lab creates network namespaces and needs root; run ./build.sh $1 as root"
    AS_ROOT=(sudo -n)
}

cmd_run() {
    [ $# -le 1 ] || die "run: one config at most (default $EXAMPLE_CONFIG)"
    local config=$ROOT/$EXAMPLE_CONFIG
    [ $# -eq 0 ] || config=$(cd "$CALLER_DIR" && realpath -e -- "$1" 2>/dev/null) || die "run: no config at $1"
    as_root run # before a minute of publishing
    cmd_deps
    cmd_publish
    build_quietly conformance "$CONFORMANCE_PROJECT" || exit 1
    step "lab: left host -> router -> right host; Linux, then the dataplane, as the router"
    local status=0
    "${AS_ROOT[@]}" env LAB_DURATION="${LAB_DURATION:-5}" dotnet "$CONFORMANCE" main-job \
        --binary "$OUT/dataplane" --config "$config" || status=$?
    [ "$status" -eq 0 ] || die "run: the lab exited $status: a cell of the table did not pass, or the lab could not start (see above)"
}

cmd_relay_bench() {
    as_root relay-bench # before a minute of publishing
    cmd_deps
    cmd_publish
    build_quietly conformance "$CONFORMANCE_PROJECT" || exit 1
    step "relay benchmark: left host -> router -> right host; Linux, HAProxy, socat, the dataplane's relays"
    local status=0
    "${AS_ROOT[@]}" env LAB_DURATION="${LAB_DURATION:-5}" dotnet "$CONFORMANCE" relay-bench \
        --binary "$OUT/dataplane" "$@" || status=$?
    [ "$status" -eq 0 ] || die "relay-bench: exited $status: a runnable cell failed, or the lab could not start (see above)"
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
    build_quietly conformance "$CONFORMANCE_PROJECT" || exit 1
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

cmd_bench_instructions() {
    [ $# -eq 0 ] || die "bench-instructions: no arguments; the settings are environment variables (perf/forwarding-instructions.sh)"
    cmd_deps "${BENCH_INSTRUCTIONS_APT_PACKAGES[@]}"
    step "instructions per forwarded packet (perf/forwarding-instructions.sh)"
    OUT="$OUT/bench-instructions" perf/forwarding-instructions.sh
}

cmd_bench_veth() {
    [ $# -eq 0 ] || die "bench-veth: no arguments; the settings are environment variables (perf/veth-forwarding.sh)"
    as_root bench-veth # before a minute of publishing
    cmd_deps "${BENCH_VETH_APT_PACKAGES[@]}"
    cmd_publish
    step "forwarding through veth: the dataplane, testpmd and Linux (perf/veth-forwarding.sh)"
    # The script's settings as given (through sudo too); its results always in out/bench-veth.
    local settings=() name
    for name in RUNS WARMUP MEASURE FRAME DUTS GEN_CPU DUT_CPU SINK_CPU NICE; do
        [ -z "${!name+x}" ] || settings+=("$name=${!name}")
    done
    "${AS_ROOT[@]}" env "${settings[@]}" OUT="$OUT/bench-veth" DATAPLANE="$OUT/dataplane" perf/veth-forwarding.sh
}

cmd_fuzz() {
    cmd_deps
    build_quietly build-tool "$BUILD_TOOL_PROJECT" || exit 1
    dotnet "$BUILD_TOOL" fuzz "$@"
}

cmd_guest() {
    [ "$(id -u)" -eq 0 ] || die "guest: QEMU's NICs are taps; run it as root"
    cmd_deps
    cmd_publish >/dev/null
    build_quietly build-tool "$BUILD_TOOL_PROJECT" || exit 1
    dotnet "$BUILD_TOOL" guest "$@"
}

cmd_test() {
    # A failed install is one failure, not the end: the summary line must still come last. As a
    # user who cannot install, the tests that need the missing tools skip and say so.
    local deps=ok
    if [ "$(id -u)" -ne 0 ] && ! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; } && [ -n "$(missing_packages)" ]; then
        note "not root: not installing $(missing_packages | tr '\n' ' '); tests that need them skip"
        deps=skipped
    else
        (cmd_deps) || deps=failed
    fi
    if ! build_quietly build-tool "$BUILD_TOOL_PROJECT"; then
        printf '%s0 passed, 1 failed%s\n' "$RED" "$RESET"
        exit 1
    fi
    dotnet "$BUILD_TOOL" test --deps "$deps"
}

cmd_clean() {
    find "$ROOT" -path "$ROOT/.git" -prune -o -type d \( -name bin -o -name obj \) -prune -print0 |
        xargs -0 rm -rf
    rm -rf "$OUT" "$ROOT/.fuzz" # .qemu/ stays: the guest kernel, a 70 MB download
}

# ---------------------------------------------------------------------------------------------

verb=${1:-}
[ $# -eq 0 ] || shift
case "$verb" in
    deps) cmd_deps ;;
    build) cmd_build "$@" ;;
    publish) cmd_publish ;;
    pgo) cmd_pgo ;;
    test) cmd_test ;;
    run) cmd_run "$@" ;;
    relay-bench) cmd_relay_bench "$@" ;;
    conformance) cmd_conformance "$@" ;;
    bench) cmd_bench "$@" ;;
    bench-forwarding) cmd_bench_forwarding "$@" ;;
    bench-instructions) cmd_bench_instructions "$@" ;;
    bench-veth) cmd_bench_veth "$@" ;;
    fuzz) cmd_fuzz "$@" ;;
    guest) cmd_guest "$@" ;;
    clean) cmd_clean ;;
    '' | help | -h | --help) usage ;;
    *)
        printf 'build.sh: unknown verb "%s"\n\n' "$verb" >&2
        usage >&2
        exit 2
        ;;
esac
