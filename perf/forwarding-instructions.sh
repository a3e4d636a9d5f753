#!/usr/bin/env bash
# forwarding-instructions.sh: instructions per forwarded packet of the shipped NativeAOT binary,
# counted by callgrind: a figure that, unlike packets per second, does not move with the rest of a
# shared machine's load, so a change to the forwarding path can be judged on a noisy host.
#
#   What runs: 'dataplane bench forward -w 1 -f inet|inet6 --runs 1 --packets N' (the memory driver,
#   the per-core loop, the whole stack, 1,000 routes, 64-byte frames). callgrind collects only inside
#   the timed loop (ForwardingRig.Forward), so the rig's time-bounded warm-up is not counted, and the
#   total divided by N is the cost of one packet, receive to transmit, bursts included.
#   The binary: published like out/dataplane (with the static profile of './build.sh pgo' unless
#   PGO=off), but with its symbols (-p:StripSymbols=false) and then 'objcopy --strip-debug'
#   (valgrind 3.19 cannot read the DWARF 5 the build writes).
#
# usage: perf/forwarding-instructions.sh        (or ./build.sh bench-instructions)
# Environment:
#   PACKETS  packets forwarded under callgrind per family (default 2000000; about a minute each)
#   TOP      functions listed per family, by their own instructions a packet (default 6)
#   OUT      where results go (default out/bench-instructions): the callgrind files and the table
#   PGO      off: the binary without the static profile, as './build.sh publish' makes it with PGO=off
# Exit status: 0 with the table; 1 when a part failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out/bench-instructions}
PACKETS=${PACKETS:-2000000}
TOP=${TOP:-6}
# The one function callgrind counts in (and below): the rig's timed loop, by its NativeAOT symbol.
TIMED=dataplane_Dataplane_Bench_ForwardingRig__Forward

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDDISABLENODEREUSE=1

note() { printf '%s\n' "$*" >&2; }
for tool in valgrind callgrind_annotate objcopy dotnet; do
    command -v "$tool" >/dev/null || { note "forwarding-instructions: $tool is missing (Debian: valgrind, binutils)"; exit 1; }
done

mkdir -p "$OUT"
# The native link's intermediates are shared with the normal publish: clear them on both sides, so
# that neither publish reuses the other's stripped or unstripped binary.
NATIVE_OBJ=dataplane/Dataplane/obj/Release/net10.0/linux-x64/native
rm -rf "$NATIVE_OBJ" "$OUT/publish"
trap 'rm -rf "$ROOT/$NATIVE_OBJ"' EXIT
PROFILE=()
if [ "${PGO:-on}" != off ]; then
    "$ROOT/build.sh" pgo >&2 || { note "no static profile (./build.sh pgo failed)"; exit 1; }
    PROFILE=(-p:DataplaneMibc="$ROOT/out/pgo/dataplane.mibc")
fi
note "==> publish with symbols -> $OUT/publish"
dotnet publish dataplane/Dataplane/Dataplane.csproj -c Release -r linux-x64 -o "$OUT/publish" \
    -p:StripSymbols=false "${PROFILE[@]}" >"$OUT/publish.log" 2>&1 || { tail -n 20 "$OUT/publish.log" >&2; note "publish failed (log: $OUT/publish.log)"; exit 1; }
BINARY=$OUT/dataplane
objcopy --strip-debug "$OUT/publish/dataplane" "$BINARY"

table=$OUT/instructions.md
{
    printf 'Instructions per forwarded packet, callgrind inside the timed loop of '\''dataplane bench forward -w 1'\'' (%s packets a family)\n' "$PACKETS"
    printf 'commit %s, %s\n\n' "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$("$BINARY" version | head -n 1)"
    printf '| family | instructions a packet | where (own instructions a packet) |\n| --- | ---: | --- |\n'
} >"$table"
for family in inet inet6; do
    note "==> callgrind: $family, $PACKETS packets"
    cg=$OUT/callgrind-$family.out
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$TIMED" --callgrind-out-file="$cg" \
        "$BINARY" bench forward -w 1 -f "$family" --runs 1 --packets "$PACKETS" >"$OUT/bench-$family.log" 2>&1 ||
        { tail -n 20 "$OUT/bench-$family.log" >&2; note "callgrind run failed ($family)"; exit 1; }
    # callgrind_annotate's lines: "  123,456 (12.34%)  ???:symbol [binary]", totals first.
    callgrind_annotate --threshold=100 "$cg" 2>/dev/null | python3 -c '
import re, sys
packets, top, family = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
total, parts = None, []
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
    if not m:
        continue
    count, what = int(m.group(1).replace(",", "")) / packets, m.group(2)
    if "PROGRAM TOTALS" in what:
        total = count
    elif count >= 0.5:
        name = re.sub(r"^\?\?\?:|\s*\[.*$", "", what)
        name = re.sub(r"^Dataplane_\w+?_Dataplane_", "", name)
        name = re.sub(r"<[^<>]*(<[^<>]*>)*[^<>]*>", "", name)
        parts.append(f"{name} {count:.0f}")
if total is None:
    sys.exit(f"no totals in callgrind_annotate output ({family})")
where = "; ".join(parts[:top])
print(f"| {family} | {total:.0f} | {where} |")
' "$PACKETS" "$TOP" "$family" >>"$table"
done
printf '\ncallgrind files: %s/callgrind-*.out (callgrind_annotate, or kcachegrind)\n' "$OUT" >>"$table"
cat "$table"
