#!/bin/sh
# /init of dom0 on the nested Xen lane (PID 1, root file system in RAM).
# Brings up what a Xen dom0 needs without systemd: the Xen kernel modules,
# xenfs, xenstored, xen-init-dom0, xenconsoled; then the bridge xenbr0 over
# the emulated NIC (address from `hefery.ip=A.B.C.D/NN` on the kernel command
# line), dropbear for the host's control connection, and libvirt (virtlogd,
# libvirtd with the libxl driver) for the agent. Ends in a root shell on
# the console (the serial port of the outer QEMU, through Xen's console).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
say() { echo "hefery-dom0: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/xen /run/lock /var/log/xen/console /var/lib/xen /tmp
hostname hefery-dom0

for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-netback bridge e1000; do
  modprobe "$m" || say "modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen || say "mount xenfs failed"

XENBIN=/usr/lib/xen-4.17/bin
"$XENBIN/xenstored" --pid-file /run/xen/xenstored.pid || say "xenstored failed"
i=0; while [ ! -s /run/xen/xenstored.pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
"$XENBIN/xen-init-dom0" || say "xen-init-dom0 failed"
"$XENBIN/xenconsoled" --pid-file=/run/xen/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console \
  || say "xenconsoled failed"

ip link set lo up
addr=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^hefery\.ip=//p')
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link add xenbr0 type bridge
ip link set xenbr0 type bridge stp_state 0 forward_delay 0
ip link set eth0 master xenbr0
ip link set eth0 up
ip link set xenbr0 up
[ -n "$addr" ] && ip addr add "$addr" dev xenbr0

dropbear -r /etc/dropbear/dropbear_ed25519_host_key -p 22 -s -P /run/dropbear.pid || say "dropbear failed"

# libvirt with its Xen (libxl) driver, for the agent (xen:///system). No
# systemd: virtlogd and libvirtd started by hand, warnings to their logs.
if [ -x /usr/sbin/libvirtd ]; then
  mkdir -p /run/libvirt /var/log/libvirt /var/lib/libvirt /var/lib/libvirt/libxl
  # libvirt-daemon brings the QEMU driver, whose start-up fails here ("Failed
  # to parse user 'libvirt-qemu'") and takes libvirtd down with it: dom0 runs
  # only the Xen one (the root is in RAM, the file is gone until the next boot).
  rm -f /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so
  LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/virtlogd.log" virtlogd -d || say "virtlogd failed"
  LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" libvirtd -d -p /run/libvirtd.pid || say "libvirtd failed"
  i=0; while ! virsh -q -c xen:///system version >/dev/null 2>&1 && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done
  virsh -q -c xen:///system version >/dev/null 2>&1 && libvirt=up || { libvirt=down; say "libvirtd does not answer on xen:///system"; }
fi

say "ready addr=${addr:-none} libvirt=${libvirt:-none} xen=$(cat /sys/hypervisor/version/major 2>/dev/null).$(cat /sys/hypervisor/version/minor 2>/dev/null)"
while :; do
  setsid -c sh </dev/hvc0 >/dev/hvc0 2>&1
  sleep 1
done
