# shellcheck shell=bash
# lab/lab.sh: network-namespace labs for the dataplane's jobs and tests. Source it, then call
# lab_init once; everything made through these functions is removed again on EXIT, INT and TERM.
#
#   . lab/lab.sh
#   lab_init                                # temp dir, traps; names start with dpl-$$- (or $LAB_ID-)
#   left=$(lab_ns left); lab_netns_add left # namespace dpl-1234-left, loopback up, no DAD
#   lab_veth left eth0 right eth0           # a veth pair made directly inside the two namespaces
#   lab_spawn right "$LAB_DIR/srv.log" iperf3 -s
#   lab_wait 5 "iperf3 listens" lab_listening right 5201
#   lab_run 30 "$LAB_DIR/client.log" left iperf3 -c 10.0.0.2   # bounded; 124 when it timed out
#
# Only what this shell made is touched: the namespaces it added (interfaces made inside them go
# with them) and the processes it started. Every name carries the lab id, so parallel runs and
# tests do not collide; interfaces are only ever created inside the lab's own namespaces.
# Safe under `set -eu`. Needs root (ip netns), iproute2 and coreutils (timeout, env).

LAB_ID=${LAB_ID:-dpl-$$}
LAB_DIR=''           # the lab's temp dir: logs, sockets; kept after the run, removed if empty
LAB_NETNS=()         # full names of the namespaces this shell added, in order
LAB_PIDS=()          # processes this shell started and has not yet reaped
LAB_CLEANED=false

lab_log() { printf 'lab: %s\n' "$*" >&2; }

# lab_init [DIR]: the log dir (DIR, which must be empty or not exist yet; a new temp dir by
# default) and the traps. A signal cleans up and then ends the shell by that same signal, so a
# caller (build.sh, a terminal) sees an interrupted job, not a failed one.
lab_init() {
    if [ -n "${1:-}" ]; then
        if ! mkdir -p "$1" || [ -n "$(ls -A "$1")" ]; then
            lab_log "$1 is not an empty directory"
            return 1
        fi
        LAB_DIR=$(cd "$1" && pwd)
    else
        LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dataplane-lab.XXXXXX")
    fi
    trap 'lab_cleanup' EXIT
    trap 'lab_on_signal INT' INT
    trap 'lab_on_signal TERM' TERM
}

lab_on_signal() {
    lab_log "interrupted (SIG$1); cleaning up"
    lab_cleanup
    [ ! -d "$LAB_DIR" ] || lab_log "logs: $LAB_DIR"
    trap - "$1" EXIT
    kill -s "$1" $$
}

# lab_ns NAME: the full name of the lab's namespace NAME.
lab_ns() { printf '%s-%s' "$LAB_ID" "$1"; }

# lab_netns_add NAME: add the namespace, bring its loopback up and switch duplicate address
# detection off (addresses usable at once; the lab's addresses are unique by construction).
lab_netns_add() {
    local ns
    ns=$(lab_ns "$1")
    LAB_NETNS+=("$ns") # first: an interrupt between the two still removes it
    ip netns add "$ns" &&
        ip -n "$ns" link set lo up &&
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# lab_netns_del NAME: delete one of the lab's namespaces now (what is inside goes with it).
lab_netns_del() {
    local ns i
    ns=$(lab_ns "$1")
    for i in "${!LAB_NETNS[@]}"; do
        [ "${LAB_NETNS[$i]}" = "$ns" ] && unset 'LAB_NETNS[i]'
    done
    LAB_NETNS=("${LAB_NETNS[@]}")
    ip netns del "$ns" 2>/dev/null || true
}

# lab_veth NS1 IF1 NS2 IF2: a veth pair, IF1 in NS1 and IF2 in NS2, both up.
lab_veth() {
    local a b
    a=$(lab_ns "$1") b=$(lab_ns "$3")
    ip -n "$a" link add "$2" type veth peer name "$4" netns "$b" &&
        ip -n "$a" link set "$2" up &&
        ip -n "$b" link set "$4" up
}

# The set-up functions return non-zero (and ip says why) when a step fails.

# lab_addr NS IF ADDRESS/LEN...: addresses on an interface (IPv6 ones without DAD).
lab_addr() {
    local ns=$1 ifname=$2 address
    shift 2
    for address in "$@"; do
        if [[ $address == *:* ]]; then
            ip -n "$(lab_ns "$ns")" -6 addr add "$address" dev "$ifname" nodad || return 1
        else
            ip -n "$(lab_ns "$ns")" addr add "$address" dev "$ifname" || return 1
        fi
    done
}

# lab_route NS PREFIX GATEWAY: a route inside the namespace.
lab_route() {
    if [[ $2 == *:* ]]; then
        ip -n "$(lab_ns "$1")" -6 route add "$2" via "$3"
    else
        ip -n "$(lab_ns "$1")" route add "$2" via "$3"
    fi
}

# lab_spawn NS LOG CMD...: start CMD in the background inside NS with SIGINT at its default (a
# background job of a script starts with SIGINT ignored), output to LOG. Its pid is in LAB_PID.
# `ip netns exec` and `env` both exec, so the pid is CMD's own.
LAB_PID=''
lab_spawn() {
    local ns log=$2
    ns=$(lab_ns "$1")
    shift 2
    ip netns exec "$ns" env --default-signal=INT "$@" >>"$log" 2>&1 &
    LAB_PID=$!
    LAB_PIDS+=("$LAB_PID")
}

lab_forget() { # PID: no longer ours to stop
    local i
    for i in "${!LAB_PIDS[@]}"; do
        [ "${LAB_PIDS[$i]}" = "$1" ] && unset 'LAB_PIDS[i]'
    done
    LAB_PIDS=("${LAB_PIDS[@]}")
}

# lab_stop PID [SECONDS]: stop a process this shell started: SIGINT, then SIGTERM, then SIGKILL,
# SECONDS (default 5) for each to work. Returns its exit status (128+N if a signal ended it).
lab_stop() {
    local pid=$1 seconds=${2:-5} signal status=0
    for signal in INT TERM KILL; do
        kill -0 "$pid" 2>/dev/null || break
        kill -s "$signal" "$pid" 2>/dev/null || true
        lab_wait_quiet "$seconds" lab_dead "$pid" || true
    done
    wait "$pid" 2>/dev/null || status=$?
    lab_forget "$pid"
    return "$status"
}

# Whether PID is gone (a zombie of ours counts as gone; `wait` reaps it).
lab_dead() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
    stat=${stat##*) } # after the command name, which may hold anything
    [[ $stat == Z* ]]
}

# lab_run SECONDS LOG NS CMD...: run CMD inside NS (NS "-" for here), output to LOG, bounded:
# SIGTERM after SECONDS, SIGKILL 2 s later. Returns CMD's exit status, 124 when it timed out (137
# when it had to be killed). It runs as a tracked background job: a signal to the job is handled
# at once instead of after CMD ends.
lab_run() {
    local seconds=$1 log=$2 ns=$3 pid status=0
    shift 3
    if [ "$ns" = - ]; then
        timeout -k 2 "$seconds" "$@" >"$log" 2>&1 &
    else
        timeout -k 2 "$seconds" ip netns exec "$(lab_ns "$ns")" "$@" >"$log" 2>&1 &
    fi
    pid=$!
    LAB_PIDS+=("$pid")
    wait "$pid" || status=$?
    lab_forget "$pid"
    return "$status"
}

# lab_wait SECONDS WHAT CMD...: poll CMD every 0.1 s until it succeeds; after SECONDS, say what
# did not happen and return 1.
lab_wait() {
    local seconds=$1 what=$2
    shift 2
    lab_wait_quiet "$seconds" "$@" && return 0
    lab_log "timed out after ${seconds}s waiting for: $what"
    return 1
}

lab_wait_quiet() {
    local tries=$(($1 * 10))
    shift
    while ! "$@" >/dev/null 2>&1; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.1
    done
}

# Conditions for lab_wait.
lab_link_exists() { ip -n "$(lab_ns "$1")" link show dev "$2" >/dev/null 2>&1; } # NS IF
lab_link_gone() { ! lab_link_exists "$@"; }                                        # NS IF
lab_listening() { # NS PORT [tcp|udp]: something listens on PORT inside NS
    local kind=-t
    [ "${3:-tcp}" = udp ] && kind=-u
    [ -n "$(ip netns exec "$(lab_ns "$1")" ss -Hln "$kind" "sport = :$2" 2>/dev/null)" ]
}
lab_alive() { kill -0 "$1" 2>/dev/null && ! lab_dead "$1"; } # PID

# lab_cleanup: stop the processes this shell started, delete the namespaces it added, say what
# could not be removed. Runs once (the EXIT trap after a signal's cleanup finds nothing to do);
# a second Ctrl-C while it runs does not cut it short.
lab_cleanup() {
    $LAB_CLEANED && return 0
    LAB_CLEANED=true
    trap '' INT TERM
    local pid ns left
    for pid in "${LAB_PIDS[@]}"; do
        lab_stop "$pid" 3 >/dev/null 2>&1 || true
    done
    for ns in "${LAB_NETNS[@]}"; do
        left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        [ -z "$left" ] || lab_log "warning: processes not started by the lab still in $ns: $left"
        ip netns del "$ns" 2>/dev/null || true
        ! ip netns list | grep -qE "^$ns( |\$)" || lab_log "warning: could not delete namespace $ns"
    done
    LAB_NETNS=()
    if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
        find "$LAB_DIR" -maxdepth 1 -type s -delete 2>/dev/null || true
        rmdir "$LAB_DIR" 2>/dev/null || true
    fi
    trap - INT TERM
}
