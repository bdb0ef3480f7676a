#!/usr/bin/env bash
# Builds the nested Xen Remus lane into .cache/xen-lane/ (idempotent, cached):
#   xen              Debian's Xen 4.17 hypervisor (multiboot ELF), same version as the tools
#   vmlinuz          Debian's 6.1 kernel: dom0 kernel AND the PVH guest's kernel
#   dom0.cpio.zst    dom0's whole root file system as an initramfs: debootstrap
#                    (minbase + xen-utils-4.17, kmod, iproute2, procps, busybox,
#                    dropbear-bin), the few kernel modules dom0 needs, our /init
#                    (scripts/xen-lane/dom0-init.sh), the guest's kernel/ramdisk/config
#   ssh/             the host's client key for dom0 and dom0's host key (known_hosts)
#   kernel.version, xen.version, stamp
# Only Debian's packages are used; nothing is installed on the host except
# debootstrap itself (apt) when missing. The guest is scripts/build-guest.sh's
# busybox initramfs plus an overlay that loads xen-netfront instead of virtio.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
OUT="$ROOT/.cache/xen-lane"
LANE="$ROOT/scripts/xen-lane"
mkdir -p "$OUT"
log() { echo "xen-lane build: $*"; }
die() { echo "xen-lane build: $*" >&2; exit 1; }

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
# libvirt with its Xen (libxl) driver: the agent in dom0 samples the guest
# through xen:///system (no libvirt-daemon-system: no systemd in dom0, /init
# starts virtlogd and libvirtd by hand).
PACKAGES=xen-utils-4.17,kmod,iproute2,procps,busybox,dropbear-bin,libvirt-daemon,libvirt-daemon-driver-xen,libvirt-clients
# dom0 modules (dependencies are added from each module's depends= field).
DOM0_MODULES="xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-netback bridge e1000"
GUEST_MODULES="xen-netfront"

command -v debootstrap >/dev/null || {
  log "installing debootstrap (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
}
for t in cpio zstd dpkg-deb ssh-keygen; do command -v "$t" >/dev/null || die "'$t' is missing"; done

# The guest image (kernel + busybox initramfs) comes from the project's own builder.
bash scripts/build-guest.sh
KPKG=$(cat .cache/guest/kernel.version)
KVER=${KPKG#linux-image-}

STAMP="suite=$SUITE packages=$PACKAGES kernel=$KPKG dom0mods=$DOM0_MODULES guestmods=$GUEST_MODULES \
guest=$(md5sum .cache/guest/initramfs.gz | cut -c1-12) init=$(md5sum "$LANE/dom0-init.sh" | cut -c1-12) \
guestcfg=$(md5sum "$LANE/guest.cfg" | cut -c1-12) script=$(md5sum "$0" | cut -c1-12)"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] && [ -s "$OUT/xen" ] \
   && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/dom0.cpio.zst" ]; then
  log "up to date in $OUT (Xen $(cat "$OUT/xen.version"), $KPKG)"
  exit 0
fi

DL="$OUT/dl"
mkdir -p "$DL"
# apt-get download $1 (NAME or NAME=VERSION) into $DL; prints the .deb's path.
download() {
  local name=${1%%=*} deb
  rm -f "$DL/${name}"_*.deb
  ( cd "$DL" && apt-get download -q "$1" 2>&1 | grep -v 'Download is performed unsandboxed' >&2 ) || true
  deb=$(ls "$DL/${name}"_*.deb 2>/dev/null | head -1 || true)
  [ -n "$deb" ] || die "apt-get download $1 failed"
  echo "$deb"
}

# ---- dom0 root file system (debootstrap, cached on its package list) ----------
RFS="$OUT/rootfs"
RFS_STAMP="$SUITE $PACKAGES"
if [ ! -f "$RFS/.hefery-stamp" ] || [ "$(cat "$RFS/.hefery-stamp")" != "$RFS_STAMP" ]; then
  log "debootstrap $SUITE ($PACKAGES); takes a minute or two"
  # An interrupted debootstrap leaves proc (and sys) mounted in its target:
  # unmount them first, or rm -rf would walk into the host's /proc.
  for d in "$RFS" "$RFS.tmp"; do
    awk -v p="$(realpath -m "$d")/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r \
      | while read -r m; do umount -l "$m" || die "cannot unmount $m (left by an interrupted debootstrap)"; done
  done
  rm -rf --one-file-system "$RFS" "$RFS.tmp"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$RFS.tmp" "$MIRROR" > "$OUT/debootstrap.log" 2>&1 \
    || { tail -20 "$OUT/debootstrap.log" >&2; die "debootstrap failed (log: $OUT/debootstrap.log)"; }
  # A RAM-resident root: drop what dom0 never reads.
  rm -rf "$RFS.tmp"/var/cache/apt/* "$RFS.tmp"/var/lib/apt/lists/* "$RFS.tmp"/usr/share/{doc,man,info,locale}/*
  echo "$RFS_STAMP" > "$RFS.tmp/.hefery-stamp"
  mv "$RFS.tmp" "$RFS"
fi
XEN_VERSION=$(awk '/^Package: xen-utils-4.17$/{p=1} p&&/^Version:/{print $2; exit}' "$RFS/var/lib/dpkg/status")
[ -n "$XEN_VERSION" ] || die "xen-utils-4.17 is not in the debootstrapped root"

# ---- hypervisor: the same version as the tools in dom0 ---------------------
if [ ! -s "$OUT/xen" ] || [ "$(cat "$OUT/xen.version" 2>/dev/null)" != "$XEN_VERSION" ]; then
  log "fetching xen-hypervisor-4.17-amd64 $XEN_VERSION"
  deb=$(download "xen-hypervisor-4.17-amd64=$XEN_VERSION")
  tmp=$(mktemp -d); dpkg-deb -x "$deb" "$tmp"; rm -f "$deb"
  zcat "$tmp/boot/xen-4.17-amd64.gz" > "$OUT/xen.tmp"; rm -rf "$tmp"
  mv "$OUT/xen.tmp" "$OUT/xen"
  echo "$XEN_VERSION" > "$OUT/xen.version"
fi

# ---- kernel modules for dom0 and the guest ----------------------------------
MODS="$OUT/modules"
if [ ! -f "$MODS/.kernel" ] || [ "$(cat "$MODS/.kernel")" != "$KPKG $DOM0_MODULES $GUEST_MODULES" ]; then
  log "extracting modules from $KPKG"
  deb=$(download "$KPKG")
  tmp=$(mktemp -d); dpkg-deb -x "$deb" "$tmp"; rm -f "$deb"
  src="$tmp/lib/modules/$KVER"
  rm -rf "$MODS"; mkdir -p "$MODS/dom0/usr/lib/modules/$KVER" "$MODS/guest"
  # Copies module $1 and, first, what its depends= names (a module's .modinfo section).
  copy_module() {
    local name=$1 dest=$2 f deps d
    [ -e "$dest/.seen.$name" ] && return; touch "$dest/.seen.$name"
    f=$(find "$src/kernel" -name "$name.ko" | head -1)
    if [ -z "$f" ]; then
      grep -q "/$name.ko\$" "$src/modules.builtin" || die "module $name is neither a .ko nor built into $KVER"
      return
    fi
    deps=$(grep -a -o 'depends=[^[:cntrl:]]*' "$f" | head -1 | sed 's/^depends=//; s/,/ /g')
    for d in $deps; do copy_module "$d" "$dest"; done
    mkdir -p "$dest/$(dirname "${f#$src/}")"
    cp "$f" "$dest/${f#$src/}"
    echo "$name" >> "$dest/.order"
  }
  for m in $DOM0_MODULES; do copy_module "$m" "$MODS/dom0/usr/lib/modules/$KVER"; done
  cp "$src"/modules.builtin "$src"/modules.builtin.modinfo "$src"/modules.order "$MODS/dom0/usr/lib/modules/$KVER/"
  rm -f "$MODS/dom0/usr/lib/modules/$KVER"/.seen.* "$MODS/dom0/usr/lib/modules/$KVER/.order"
  for m in $GUEST_MODULES; do copy_module "$m" "$MODS/guest"; done
  rm -f "$MODS/guest"/.seen.*
  cp "$src/../../../boot/vmlinuz-$KVER" "$OUT/vmlinuz"
  rm -rf "$tmp"
  echo "$KPKG $DOM0_MODULES $GUEST_MODULES" > "$MODS/.kernel"
  echo "$KPKG" > "$OUT/kernel.version"
fi

# ---- ssh keys: the host's client key, dom0's host key ------------------------
SSHD="$OUT/ssh"
mkdir -p "$SSHD"; chmod 700 "$SSHD"
[ -s "$SSHD/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C hefery-xen-lane -f "$SSHD/id_ed25519"
if [ ! -s "$SSHD/dropbear_ed25519_host_key" ]; then
  rm -f "$RFS/tmp/hostkey"
  chroot "$RFS" dropbearkey -t ed25519 -f /tmp/hostkey >/dev/null
  mv "$RFS/tmp/hostkey" "$SSHD/dropbear_ed25519_host_key"
fi
cp "$SSHD/dropbear_ed25519_host_key" "$RFS/tmp/hostkey"
pub=$(chroot "$RFS" dropbearkey -y -f /tmp/hostkey | grep '^ssh-ed25519 ' | awk '{print $1" "$2}')
rm -f "$RFS/tmp/hostkey"
[ -n "$pub" ] || die "could not read dom0's host key"
echo "$pub" > "$SSHD/host_key.pub"

# ---- the guest: build-guest's initramfs + an overlay for Xen's netfront ------
G="$OUT/guest"
rm -rf "$G"; mkdir -p "$G/overlay/lib/modules"
for m in $GUEST_MODULES; do cp "$(find "$MODS/guest" -name "$m.ko" | head -1)" "$G/overlay/lib/modules/$m.ko"; done
cp "$MODS/guest/.order" "$G/overlay/lib/modules/order" # replaces the virtio list
# Later archives in an initramfs overwrite earlier files. One gzip stream over
# both archives: libxc inflates a gzip ramdisk itself and reads only one member.
{ zcat .cache/guest/initramfs.gz; ( cd "$G/overlay" && find . -print0 | cpio --null -o -H newc --quiet ); } \
  | gzip -9 > "$G/initramfs.gz"

# ---- dom0 initramfs: rootfs + modules + /init + guest files -------------------
log "packing dom0's initramfs"
STAGE="$OUT/stage"
rm -rf "$STAGE"; mkdir -p "$STAGE"
mkdir -p "$STAGE/usr"; cp -a "$MODS/dom0/usr/lib" "$STAGE/usr/" # /lib is a symlink to usr/lib
install -m 755 "$LANE/dom0-init.sh" "$STAGE/init"
mkdir -p "$STAGE/root/.ssh" "$STAGE/etc/dropbear" "$STAGE/var/lib/hefery/guest"
cp "$SSHD/id_ed25519.pub" "$STAGE/root/.ssh/authorized_keys"
chmod 700 "$STAGE/root/.ssh"; chmod 600 "$STAGE/root/.ssh/authorized_keys"
cp "$SSHD/dropbear_ed25519_host_key" "$STAGE/etc/dropbear/"
cp "$OUT/vmlinuz" "$STAGE/var/lib/hefery/guest/vmlinuz"
cp "$G/initramfs.gz" "$STAGE/var/lib/hefery/guest/initramfs.gz"
cp "$LANE/guest.cfg" "$STAGE/var/lib/hefery/guest/guest.cfg"
# libvirt's libxl driver names the host CPU with a model of its cpu_map and
# refuses to start when none fits (x86Decode: "Cannot find suitable CPU model
# for given data"). Every x86 model needs VME (QEMU's TCG has none) or SEP
# (Xen hides it on AMD CPUs), so the nested CPU gets a model of its own.
mkdir -p "$STAGE/usr/share/libvirt/cpu_map"
cat > "$STAGE/usr/share/libvirt/cpu_map/x86_hefery-nested-tcg.xml" <<'XML'
<cpus>
  <!-- scripts/xen-lane/build.sh: QEMU's TCG CPU under Xen (no vme, no sep) -->
  <model name='hefery-nested-tcg'>
    <decode host='on' guest='off'/>
    <feature name='fpu'/>
    <feature name='pse'/>
  </model>
</cpus>
XML
sed "s|^\( *\)<include filename='x86_486.xml'/>|&\n\1<include filename='x86_hefery-nested-tcg.xml'/>|" \
  "$RFS/usr/share/libvirt/cpu_map/index.xml" > "$STAGE/usr/share/libvirt/cpu_map/index.xml"
grep -q hefery-nested-tcg "$STAGE/usr/share/libvirt/cpu_map/index.xml" || die "could not add the nested CPU model to libvirt's cpu_map"
chroot "$RFS" true # the root must be runnable (an amd64 tree)
# depmod over the staged modules, with the root's own depmod.
mkdir -p "$RFS/lib/modules"; rm -rf "$RFS/lib/modules/$KVER"
cp -a "$STAGE/usr/lib/modules/$KVER" "$RFS/lib/modules/"
chroot "$RFS" depmod -a "$KVER"
cp "$RFS/lib/modules/$KVER"/modules.* "$STAGE/usr/lib/modules/$KVER/"
rm -rf "$RFS/lib/modules/$KVER"
# rootfs first, then the stage on top (same cpio stream would need a merge;
# two concatenated archives let the kernel do it).
( cd "$RFS" && find . -path ./.hefery-stamp -prune -o -print0 | cpio --null -o -H newc --quiet ) | zstd -q -3 -T2 > "$OUT/dom0.cpio.zst.tmp"
( cd "$STAGE" && find . -print0 | cpio --null -o -H newc --quiet ) | zstd -q -3 >> "$OUT/dom0.cpio.zst.tmp"
mv "$OUT/dom0.cpio.zst.tmp" "$OUT/dom0.cpio.zst"
rm -rf "$STAGE"

echo "$STAMP" > "$OUT/stamp"
log "built $OUT (Xen $XEN_VERSION, $KPKG, dom0 initramfs $(du -h "$OUT/dom0.cpio.zst" | cut -f1))"
