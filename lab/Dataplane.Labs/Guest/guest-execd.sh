#!/bin/sh
# guest-execd: one command of the command channel into the QEMU test guest (GuestHost.cs). The
# guest's socat runs it per connection, in a session of its own (so that the caller can stop the
# command and all it started by its process group). It reads the command as one line of base64,
# runs it with dash -c (no input; its errors go the way of its output, onto the connection), then
# ends the output with a record separator (0x1e) and "guest-exit N": the client strips that and
# exits N. A connection that ends without it was cut (the command's group was killed).
IFS= read -r line || exit 2
command=$(printf '%s' "$line" | base64 -d) || exit 2
# A unit separator (0x1f) first says the command arrived and is about to run: before it the
# client may retry the connection without running anything twice.
printf '\037'
# dash, not busybox's sh: that runs its own applets before PATH (ip, sysctl), so a command would
# get busybox's ip, which lacks what the runner asks of iproute2's. /usr/bin/sh is dash too, so a
# command's own "sh -c" stays in dash.
/usr/bin/dash -c "$command" </dev/null 2>&1
printf '\036guest-exit %d\n' $?
