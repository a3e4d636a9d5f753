#!/bin/sh
# /init of the dataplane's QEMU test guest (lab/Dataplane.Labs/Guest/GuestImage.cs builds the
# initramfs, QemuGuest.cs boots it). It loads the modules, reports the IOMMU and the NICs, runs
# /etc/guest/before-bind with the NICs on their kernel drivers, binds the NICs of $GUEST_VFIO to
# vfio-pci, reports their groups, runs /etc/guest/run, and powers off, also when a step failed.
# Every line meant for the harness starts with "GUEST " (the markers are listed in QemuGuest.cs);
# the per-boot files (/etc/guest/env, before-bind, run, and any the test adds) come in a second
# cpio archive the harness appends to the image.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/hugepages /tmp /run /root
mount -t devpts devpts /dev/pts
mount -t hugetlbfs hugetlbfs /dev/hugepages

say() { echo "GUEST $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
link_of() { basename "$(readlink "$1" 2>/dev/null)" 2>/dev/null; }

say "init $(uptime_s) kernel $(uname -r)"
# count GLOB...: how many of the paths exist (an unmatched glob stays itself).
count() { n=0; for p in "$@"; do [ -e "$p" ] && n=$((n + 1)); done; echo $n; }

GUEST_VFIO=
# shellcheck source=/dev/null # written per boot by QemuGuest
[ -f /etc/guest/env ] && . /etc/guest/env

while read -r m; do
    if insmod "/lib/modules/$m.ko"; then say "insmod $m ok"; else say "insmod $m failed"; fi
done </etc/guest/modules
# The NIC drivers bind as their modules load (no udev): wait until every network function has
# its driver (and a virtio one its net device), 5 s at most, rather than a fixed pause.
unbound() {
    n=0
    for d in /sys/bus/pci/devices/*; do
        case "$(cat "$d/class")" in 0x02*) ;; *) continue ;; esac
        if [ ! -e "$d/driver" ] || [ "$(count "$d"/net/* "$d"/virtio*/net/*)" -eq 0 ]; then n=$((n + 1)); fi
    done
    echo $n
}
i=0
while [ "$(unbound)" -gt 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

dmesg | grep -E 'DMAR|IOMMU|iommu: ' | grep -v 'Adding to iommu group' | sed 's/^/GUEST dmesg /'
if [ "$(count /sys/class/iommu/*)" -gt 0 ]; then
    units=
    for u in /sys/class/iommu/*; do units="$units${u##*/} "; done
    say "iommu ${units}groups $(count /sys/kernel/iommu_groups/*)"
else
    say "iommu none"
fi
for d in /sys/bus/pci/devices/*; do
    case "$(cat "$d/class")" in 0x02*) ;; *) continue ;; esac
    # A virtio NIC's interface hangs off its virtio device: 0000:00:05.0/virtio2/net/eth2.
    net=
    for n in "$d"/net/* "$d"/virtio*/net/*; do
        if [ -e "$n" ]; then net=${n##*/}; break; fi
    done
    queues=0
    [ -n "$net" ] && queues=$(count "/sys/class/net/$net"/queues/rx-*)
    say "nic ${d##*/} $(cat "$d/vendor"):$(cat "$d/device") driver=$(link_of "$d/driver") group=$(link_of "$d/iommu_group") net=${net:-none} queues=$queues"
done

if [ -f /etc/guest/before-bind ]; then
    say "before-bind start"
    sh /etc/guest/before-bind
    say "before-bind exit $?"
fi

for b in $GUEST_VFIO; do
    guest-bind "$b" vfio-pci
    g=$(link_of "/sys/bus/pci/devices/$b/iommu_group")
    say "vfio-group $b ${g:-none}"
    if [ -n "$g" ] && [ -c "/dev/vfio/$g" ]; then say "dev /dev/vfio/$g present"; else say "dev /dev/vfio/${g:-none} missing"; fi
    # Viable as VFIO means it: every device of the group on vfio-pci or on no driver.
    viable=yes
    for m in "/sys/kernel/iommu_groups/$g"/devices/*; do
        case "$(link_of "$m/driver")" in vfio-pci | "" | pcieport) ;; *) viable="no (${m##*/} on $(link_of "$m/driver"))" ;; esac
    done
    say "group $g viable $viable"
done
[ -c /dev/vfio/vfio ] && say "dev /dev/vfio/vfio present"

if [ -f /etc/guest/run ]; then
    say "run start"
    sh /etc/guest/run
    say "run exit $?"
fi
say "done $(uptime_s)"
sync
poweroff -f
