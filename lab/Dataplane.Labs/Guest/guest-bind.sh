#!/bin/sh
# guest-bind BDF DRIVER|kernel: moves PCI device BDF (0000:00:03.0) to DRIVER (vfio-pci) by
# driver_override, or with "kernel" back to the driver the kernel picks for it (e1000e, vmxnet3,
# virtio-pci). Prints "GUEST driver BDF NAME" (none when nothing took it); exits 0 when it landed.
b=$1 to=$2 d=/sys/bus/pci/devices/$1
if [ ! -d "$d" ] || [ -z "$to" ]; then
    echo "GUEST error guest-bind: no device '$b' or no driver"
    exit 2
fi
[ -e "$d/driver" ] && echo "$b" > "$d/driver/unbind"
if [ "$to" = kernel ]; then echo > "$d/driver_override"; else echo "$to" > "$d/driver_override"; fi
echo "$b" > /sys/bus/pci/drivers_probe
now=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
echo "GUEST driver $b ${now:-none}"
if [ "$to" = kernel ]; then [ -n "$now" ] && [ "$now" != vfio-pci ]; else [ "$now" = "$to" ]; fi
