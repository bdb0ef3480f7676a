#!/usr/bin/env bash
# Builds Hefery's tiny test guest into .cache/guest/ (idempotent, cached):
#   vmlinuz         Debian's 6.1 kernel (newest linux-image-6.1.0-NN-amd64 apt offers)
#   initramfs.gz    busybox-static userland + virtio modules; /init brings up
#                   eth0 from `hefery.ip=A.B.C.D/NN` on the kernel command line
#                   and serves HTTP with workload CGIs:
#                     /cgi-bin/ok               health check ("ok")
#                     /cgi-bin/cpu?secs=N       busy loop for N s (background)
#                     /cgi-bin/disk?mb=N        writes N MiB to /dev/vda (synchronous)
#                     /cgi-bin/mem?mb=N&secs=S  holds N MiB of RAM for S s (background)
#                     /cgi-bin/blob?kb=N        returns N KiB of data (network load)
#                   and fault CGIs for the failure scenarios (scripts/scenarios/,
#                   docs/scenarios.md); each answers at once, the fault runs on:
#                     /cgi-bin/leak?kb=K&ms=T&panic=P  memory leak: +K KiB every T ms until
#                                               the OOM killer (P=1: panic_on_oom, a crash)
#                     /cgi-bin/runaway?every=S&max=N  one more busy loop every S s, each
#                                               at a higher priority (nice 0, -2, ... -20)
#                     /cgi-bin/diskfill?kb=K&ms=T  writes K KiB every T ms along /dev/vda
#                     /cgi-bin/forkbomb?secs=D  every process forks two, every D s
#                     /cgi-bin/hang?kernel=0|1  0: SIGSTOP to all of user space;
#                                               1: kernel panic, no reboot, no pvpanic
#                     /cgi-bin/crash            kernel panic (pvpanic tells QEMU: crashed)
#   disk.qcow2      a small empty qcow2 base (tests put an overlay on top)
#   kernel.version  which kernel package was used
# Only Debian's packages are used; the kernel package is downloaded, never installed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$PWD/.cache/guest"
STAMP_VERSION=4 # bump when the initramfs layout below changes
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null || { echo "build-guest: '$1' is missing (run scripts/setup-system.sh)" >&2; exit 1; }; }
need cpio; need gzip; need dpkg-deb; need qemu-img; need apt-cache
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] && "$BUSYBOX" --list | grep -x httpd >/dev/null || { echo "build-guest: busybox-static is missing" >&2; exit 1; }
file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }
file_is_static "$BUSYBOX" || { echo "build-guest: $BUSYBOX is not static (install busybox-static)" >&2; exit 1; }

# ---- kernel package -------------------------------------------------------
pick_kernel() {
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null \
    | awk '{print $1}' | sort -V | tail -1
}
PKG=""
if [ -f "$OUT/kernel.version" ] && [ -f "$OUT/vmlinuz" ]; then
  PKG=$(cat "$OUT/kernel.version")
else
  PKG=$(pick_kernel)
  if [ -z "$PKG" ]; then
    apt-get update -q >/dev/null
    PKG=$(pick_kernel)
  fi
  [ -n "$PKG" ] || { echo "build-guest: no linux-image-6.1.0-NN-amd64 package in apt's lists" >&2; exit 1; }
fi
KVER=${PKG#linux-image-}

STAMP="$PKG busybox=$(md5sum "$BUSYBOX" | cut -c1-12) layout=$STAMP_VERSION script=$(md5sum "$0" | cut -c1-12)"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] \
   && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initramfs.gz" ] && [ -s "$OUT/disk.qcow2" ]; then
  echo "build-guest: up to date in $OUT ($PKG)"
  exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hefery-guest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Dependency order; a module missing as .ko must be built in (modules.builtin).
# pvpanic + pvpanic-mmio: the ISA pvpanic device (found through ACPI) tells QEMU of a panic.
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net virtio_blk virtio_balloon pvpanic pvpanic-mmio"
if [ ! -s "$OUT/vmlinuz" ] || [ ! -d "$OUT/modules" ] || [ "$(cat "$OUT/kernel.version" 2>/dev/null)" != "$PKG" ] \
   || [ "$(cat "$OUT/modules/wanted" 2>/dev/null)" != "$MODULES" ]; then
  echo "build-guest: fetching $PKG"
  ( cd "$WORK" && apt-get download -q "$PKG" 2>&1 | grep -v '^W: Download is performed unsandboxed' ) || true
  DEB=$(ls "$WORK"/"$PKG"_*.deb 2>/dev/null | head -1)
  [ -n "$DEB" ] || { echo "build-guest: apt-get download $PKG failed" >&2; exit 1; }
  dpkg-deb -x "$DEB" "$WORK/k"
  rm -f "$DEB"
  cp "$WORK/k/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
  rm -rf "$OUT/modules"; mkdir -p "$OUT/modules"
  MODDIR="$WORK/k/lib/modules/$KVER"
  : > "$OUT/modules/order"
  for m in $MODULES; do
    f=$(find "$MODDIR/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
    if [ -z "$f" ]; then
      if grep -q "/$m.ko\$" "$MODDIR/modules.builtin" 2>/dev/null; then
        echo "build-guest: $m is built in"; continue
      fi
      echo "build-guest: module $m neither a .ko nor built into $KVER" >&2; exit 1
    fi
    case "$f" in
      *.xz) xz -dc "$f" > "$OUT/modules/$m.ko" ;;
      *.zst) zstd -qdc "$f" > "$OUT/modules/$m.ko" ;;
      *) cp "$f" "$OUT/modules/$m.ko" ;;
    esac
    echo "$m" >> "$OUT/modules/order"
  done
  rm -rf "$WORK/k"
  echo "$MODULES" > "$OUT/modules/wanted"
  echo "$PKG" > "$OUT/kernel.version"
fi

# ---- initramfs --------------------------------------------------------------
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,mem,www/cgi-bin,lib/modules,etc}
cp "$BUSYBOX" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
cp "$OUT"/modules/*.ko "$OUT/modules/order" "$R/lib/modules/"

cat > "$R/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s
mount -t tmpfs -o size=100m mem /mem
mount -t tmpfs tmp /tmp
while read -r m; do insmod "/lib/modules/$m.ko" || echo "hefery-guest: insmod $m failed"; done < /lib/modules/order
hostname hefery-guest
ip link set lo up
addr=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^hefery\.ip=//p')
gw=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^hefery\.gw=//p')
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
if [ -n "$addr" ]; then
  ip addr add "$addr" dev eth0
  ip link set eth0 up
  [ -n "$gw" ] && ip route add default via "$gw"
fi
httpd -h /www -p 80
echo "hefery-guest: ready addr=${addr:-none}"
exec sh -c 'while :; do sleep 3600; done'
EOF
chmod 755 "$R/init"

echo '<html><body>hefery test guest</body></html>' > "$R/www/index.html"

# Shared helper: `param NAME DEFAULT` reads NAME from QUERY_STRING (digits only).
cat > "$R/bin/cgi-param" <<'EOF'
#!/bin/sh
v=$(echo "$QUERY_STRING" | tr '&' '\n' | sed -n "s/^$1=\([0-9][0-9]*\)\$/\1/p" | head -1)
echo "${v:-$2}"
EOF
chmod 755 "$R/bin/cgi-param"

cat > "$R/www/cgi-bin/ok" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nok\n'
EOF

cat > "$R/www/cgi-bin/cpu" <<'EOF'
#!/bin/sh
secs=$(cgi-param secs 5)
timeout -s KILL "$secs" sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\r\n\r\ncpu %s s started\n' "$secs"
EOF

cat > "$R/www/cgi-bin/disk" <<'EOF'
#!/bin/sh
mb=$(cgi-param mb 16)
seek=$(cgi-param seek 0)
if dd if=/dev/urandom of=/dev/vda bs=1048576 count="$mb" seek="$seek" conv=fsync 2>/tmp/dd.err; then
  printf 'Content-Type: text/plain\r\n\r\ndisk %s MiB written\n' "$mb"
else
  printf 'Status: 500\r\nContent-Type: text/plain\r\n\r\n'; cat /tmp/dd.err
fi
EOF

cat > "$R/www/cgi-bin/mem" <<'EOF'
#!/bin/sh
mb=$(cgi-param mb 32)
secs=$(cgi-param secs 10)
f=/mem/hold.$$
sh -c "dd if=/dev/zero of=$f bs=1048576 count=$mb 2>/dev/null; sleep $secs; rm -f $f" </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\r\n\r\nmem %s MiB for %s s started\n' "$mb" "$secs"
EOF

cat > "$R/www/cgi-bin/blob" <<'EOF'
#!/bin/sh
kb=$(cgi-param kb 256)
printf 'Content-Type: application/octet-stream\r\n\r\n'
dd if=/dev/zero bs=1024 count="$kb" 2>/dev/null
EOF

# ---- fault CGIs (failure scenarios) -------------------------------------------
# Each answers at once and leaves the fault running in the background, detached
# from httpd, so the scenario runner controls when it starts.
cat > "$R/www/cgi-bin/leak" <<'EOF'
#!/bin/sh
kb=$(cgi-param kb 1024)
ms=$(cgi-param ms 1000)
[ "$(cgi-param panic 0)" = 1 ] && echo 1 > /proc/sys/vm/panic_on_oom
# The shell paces, awk keeps every chunk (a distinct string each, so really allocated).
sh -c "while :; do echo; usleep $((ms * 1000)); done | awk -v kb=$kb 'BEGIN { s = sprintf(\"%\" kb * 1024 \"s\", \"\") } { a[NR] = s NR }'" </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\r\n\r\nleak %s KiB every %s ms started\n' "$kb" "$ms"
EOF

cat > "$R/www/cgi-bin/runaway" <<'EOF'
#!/bin/sh
every=$(cgi-param every 10)
max=$(cgi-param max 11)
sh -c "i=0; while [ \$i -lt $max ]; do sh -c 'while :; do :; done' & renice -\$((i * 2 > 20 ? 20 : i * 2)) -p \$! >/dev/null; i=\$((i + 1)); sleep $every; done; wait" </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\r\n\r\nrunaway: one more busy loop every %s s, up to %s\n' "$every" "$max"
EOF

cat > "$R/www/cgi-bin/diskfill" <<'EOF'
#!/bin/sh
kb=$(cgi-param kb 1024)
ms=$(cgi-param ms 1000)
n=$(( (kb + 63) / 64 ))
sh -c "i=0; while dd if=/dev/zero of=/dev/vda bs=65536 count=$n seek=\$((i * $n)) conv=notrunc,fsync 2>/dev/null; do i=\$((i + 1)); usleep $((ms * 1000)); done" </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\r\n\r\ndiskfill %s KiB every %s ms started\n' "$kb" "$ms"
EOF

cat > "$R/www/cgi-bin/forkbomb" <<'EOF'
#!/bin/sh
secs=$(cgi-param secs 2)
sh -c "b() { sleep $secs; b & b & wait; }; b" </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\r\n\r\nforkbomb doubling every %s s started\n' "$secs"
EOF

cat > "$R/www/cgi-bin/hang" <<'EOF'
#!/bin/sh
if [ "$(cgi-param kernel 0)" = 1 ]; then
  # Panic and wait forever, without pvpanic telling QEMU: the domain stays "running".
  sh -c "sleep 1; echo 0 > /proc/sys/kernel/panic; rmmod pvpanic-mmio; echo c > /proc/sysrq-trigger" </dev/null >/dev/null 2>&1 &
else
  # kill -1 spares init and the sender: every other process, httpd included, stops.
  sh -c "sleep 1; kill -STOP -1" </dev/null >/dev/null 2>&1 &
fi
printf 'Content-Type: text/plain\r\n\r\nhang in 1 s\n'
EOF

cat > "$R/www/cgi-bin/crash" <<'EOF'
#!/bin/sh
sh -c "sleep 1; echo c > /proc/sysrq-trigger" </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\r\n\r\ncrash in 1 s\n'
EOF
chmod 755 "$R"/www/cgi-bin/*

( cd "$R" && find . -print0 | cpio --null -o -H newc --quiet ) | gzip -9 > "$OUT/initramfs.gz.tmp"
mv "$OUT/initramfs.gz.tmp" "$OUT/initramfs.gz"

[ -s "$OUT/disk.qcow2" ] || qemu-img create -q -f qcow2 "$OUT/disk.qcow2" 64M

echo "$STAMP" > "$OUT/stamp"
echo "build-guest: built $OUT ($PKG, initramfs $(du -h "$OUT/initramfs.gz" | cut -f1))"
