#!/usr/bin/env bash
# Boots (and tears down) the nested Xen lane built by scripts/xen-lane/build.sh.
#
#   boot.sh start [PAYLOAD_DIR]  boot Xen + dom0 in QEMU (TCG) inside the network
#                                namespace hefery-xl; PAYLOAD_DIR's tree is added
#                                to dom0's root (e.g. /opt/hefery/...)
#   boot.sh guest [xl|libvirt]   create the PVH guest hefery-g1 (with xl, or through
#                                libvirtd's libxl driver) and wait for its httpd
#   boot.sh ssh CMD...           run CMD in dom0 (stdin/stdout/stderr passed through)
#   boot.sh http [PATH [SECS]]   GET http://GUEST_IP/PATH from the namespace
#   boot.sh stop                 kill QEMU (pid file), delete the namespace
#   boot.sh status               running or not
#
# Network: namespace hefery-xl holds a tap (10.214.0.1/24) that is QEMU's e1000;
# dom0 bridges it as xenbr0 (10.214.0.2), the guest's vif joins xenbr0
# (10.214.0.3). Nothing leaves the namespace. Run files (pid, console log and
# socket) are in .cache/xen-lane/run/.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="$PWD/.cache/xen-lane"
RUN="$OUT/run"
NS=hefery-xl
TAP=xltap0
HOST_IP=10.214.0.1
DOM0_IP=10.214.0.2
GUEST_IP=10.214.0.3
QEMU_MEM=${HEFERY_XL_MEM:-2048}
DOM0_MEM=${HEFERY_XL_DOM0_MEM:-1024}
BOOT_TIMEOUT=${HEFERY_XL_BOOT_TIMEOUT:-600}
# The recipe's CPU (no SMAP/SMEP/PKU/LA57/RDTSCP for Xen under TCG) minus the
# AVX family, whose TCG emulation is new in QEMU 7.2 (see docs/xen-lane.md, log).
CPU=${HEFERY_XL_CPU:-max,-smap,-smep,-pku,-la57,-rdtscp,-avx,-avx2,-fma,-f16c}
# dom0 gets one vCPU pinned to the first CPU; guest.cfg puts guests on the
# second, so dom0's checkpoint work and the guest do not starve each other.
DOM0_VCPUS=${HEFERY_XL_DOM0_VCPUS:-1}
log() { echo "xen-lane: $*" >&2; }
die() { echo "xen-lane: $*" >&2; exit 1; }

running() { [ -s "$RUN/qemu.pid" ] && kill -0 "$(cat "$RUN/qemu.pid")" 2>/dev/null; }

ssh_dom0() {
  ip netns exec "$NS" ssh -q -i "$OUT/ssh/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$OUT/ssh/known_hosts" -o StrictHostKeyChecking=yes \
    -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=6 \
    "root@$DOM0_IP" "$@"
}

# Waits until $1 (a command) succeeds, at most $2 seconds; $3 names what for the error.
wait_for() {
  local cmd=$1 secs=$2 what=$3 t0=$SECONDS
  until eval "$cmd" >/dev/null 2>&1; do
    running || { tail -40 "$RUN/console.log" >&2 2>/dev/null; die "QEMU exited while waiting for $what"; }
    [ $((SECONDS - t0)) -lt "$secs" ] || { tail -40 "$RUN/console.log" >&2 2>/dev/null; die "timed out after ${secs}s waiting for $what"; }
    sleep 2
  done
}

start() {
  local payload=${1:-}
  [ -s "$OUT/dom0.cpio.zst" ] && [ -s "$OUT/xen" ] || die "not built: run scripts/xen-lane/build.sh"
  running && die "already running (pid $(cat "$RUN/qemu.pid")); run 'boot.sh stop' first"
  teardown_net
  mkdir -p "$RUN"
  rm -f "$RUN"/console.log "$RUN"/console.sock "$RUN"/qemu.pid
  echo "$DOM0_IP $(cat "$OUT/ssh/host_key.pub")" > "$OUT/ssh/known_hosts"

  # dom0's initramfs: the built root, then the payload on top (concatenated archives).
  local initrd="$OUT/dom0.cpio.zst"
  if [ -n "$payload" ]; then
    [ -d "$payload" ] || die "payload directory $payload does not exist"
    initrd="$RUN/dom0+payload.cpio.zst"
    cp "$OUT/dom0.cpio.zst" "$initrd.tmp"
    ( cd "$payload" && find . -print0 | cpio --null -o -H newc --quiet ) | zstd -q -3 -T2 >> "$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
  fi

  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip -n "$NS" tuntap add dev "$TAP" mode tap
  ip -n "$NS" addr add "$HOST_IP/24" dev "$TAP"
  ip -n "$NS" link set "$TAP" up

  log "booting Xen $(cat "$OUT/xen.version") + dom0 in QEMU (TCG), console log $RUN/console.log"
  # Xen's options: serial console, a fixed dom0 size (the rest is for guests),
  # no reboot on panic (the log keeps the reason). QEMU's multiboot loader
  # takes the modules comma-separated: dom0 kernel with its command line, initramfs.
  ip netns exec "$NS" qemu-system-x86_64 -accel tcg -cpu "$CPU" \
    -m "$QEMU_MEM" -smp 2 -display none -monitor none -no-reboot \
    -chardev "socket,id=con,path=$RUN/console.sock,server=on,wait=off,logfile=$RUN/console.log" \
    -serial chardev:con \
    -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" -device e1000,netdev=n0 \
    -kernel "$OUT/xen" \
    -append "console=com1 com1=115200,8n1 dom0_mem=${DOM0_MEM}M,max:${DOM0_MEM}M dom0_max_vcpus=$DOM0_VCPUS dom0_vcpus_pin loglvl=all guest_loglvl=all noreboot" \
    -initrd "$OUT/vmlinuz console=hvc0 earlyprintk=xen hefery.ip=$DOM0_IP/24,$initrd" \
    -pidfile "$RUN/qemu.pid" -daemonize
  wait_for "grep -q 'hefery-dom0: ready' '$RUN/console.log'" "$BOOT_TIMEOUT" "dom0's init"
  wait_for "ssh_dom0 true" 120 "ssh to dom0"
  log "dom0 up after ${SECONDS}s: $(ssh_dom0 'xl info | grep -E "^(xen_version|free_memory)"' | tr -s ' ' | tr '\n' ' ')"
}

# $1: xl (default) or libvirt. libvirt's libxl driver only sees the domains it
# started itself (an `xl create`d guest is not in `virsh list`), so a guest the
# agent samples through xen:///system is created by libvirtd, from the same xl
# config converted by `virsh domxml-from-native xen-xl`.
guest() {
  running || die "not running"
  case "${1:-xl}" in
    xl) ssh_dom0 'xl list hefery-g1 >/dev/null 2>&1 || xl create /var/lib/hefery/guest/guest.cfg' ;;
    libvirt) ssh_dom0 'xl list hefery-g1 >/dev/null 2>&1 || { virsh -q -c xen:///system domxml-from-native xen-xl /var/lib/hefery/guest/guest.cfg > /run/hefery-g1.xml && virsh -q -c xen:///system create /run/hefery-g1.xml; }' ;;
    *) die "guest: expected xl or libvirt, got $1" ;;
  esac
  wait_for "http_ok $GUEST_IP" 600 "the guest's httpd"
  log "guest hefery-g1 answers at $GUEST_IP"
}

# GET http://$1$2 from the namespace, response (head and body) on stdout;
# bash's /dev/tcp, so no HTTP client is needed. $3 seconds at most (5).
http_get() {
  ip netns exec "$NS" timeout "${3:-5}" bash -c 'exec 3<>"/dev/tcp/$1/80" && printf "GET %s HTTP/1.0\r\n\r\n" "$2" >&3 && cat <&3' _ "$1" "$2"
}
http_ok() { http_get "$1" /cgi-bin/ok | grep -q '^ok'; }

teardown_net() {
  ip netns del "$NS" 2>/dev/null || true
}

stop() {
  if running; then
    local pid; pid=$(cat "$RUN/qemu.pid")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    log "stopped QEMU (pid $pid)"
  fi
  rm -f "$RUN/qemu.pid" "$RUN/console.sock" "$RUN/dom0+payload.cpio.zst"
  teardown_net
}

case "${1:-}" in
  start) shift; start "$@" ;;
  guest) guest "${2:-xl}" ;;
  ssh) shift; ssh_dom0 "$@" ;;
  http) http_get "$GUEST_IP" "${2:-/cgi-bin/ok}" "${3:-5}" ;;
  stop) stop ;;
  status) if running; then echo "running (pid $(cat "$RUN/qemu.pid"))"; else echo "stopped"; exit 1; fi ;;
  *) die "usage: boot.sh start [PAYLOAD_DIR] | guest [xl|libvirt] | ssh CMD... | http [PATH [SECS]] | stop | status" ;;
esac
