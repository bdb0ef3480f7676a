#!/usr/bin/env bash
# Starts / stops the hypervisor daemons Hefery's tests and demo need, by hand
# (these machines have no systemd):
#   bash scripts/services.sh start [RUNDIR]   virtlogd + libvirtd, waits for qemu:///system
#   bash scripts/services.sh stop  [RUNDIR]   stops what `start` started (listed in RUNDIR/started, by pid file)
#   bash scripts/services.sh status [RUNDIR]  exit 0 when qemu:///system answers
# RUNDIR (default .cache/services) holds the pid files and the daemons' logs.
# `start` prints "started" when it started libvirtd, "running" when one already
# answered (then `stop` leaves it alone: it only stops daemons `start` started).
#
# QEMU must run as root here (no libvirt-qemu user access to the work tree, no
# SELinux/AppArmor, no cgroup delegation): `start` keeps a marked block in
# /etc/libvirt/qemu.conf that says so. It is idempotent and CI runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
CMD=${1:-}
RUNDIR=${2:-$PWD/.cache/services}
URI=qemu:///system
QEMU_CONF=/etc/libvirt/qemu.conf
MARK_BEGIN='# >>> hefery: QEMU as root, no security driver, no cgroups (scripts/services.sh)'
MARK_END='# <<< hefery'

answers() { virsh -q -c "$URI" list --all >/dev/null 2>&1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

configure_qemu() {
  [ -w "$QEMU_CONF" ] || { echo "services: cannot write $QEMU_CONF (run as root)" >&2; exit 1; }
  if ! grep -qF "$MARK_BEGIN" "$QEMU_CONF"; then
    {
      echo "$MARK_BEGIN"
      echo 'user = "root"'
      echo 'group = "root"'
      echo 'dynamic_ownership = 0'
      echo 'remember_owner = 0'
      echo 'security_driver = "none"'
      echo 'cgroup_controllers = [ ]'
      echo 'namespaces = [ ]'
      echo "$MARK_END"
    } >> "$QEMU_CONF"
  fi
}

wait_until() { # seconds, command...
  local n=$(( $1 * 10 )); shift
  while (( n-- > 0 )); do "$@" && return 0; sleep 0.1; done
  return 1
}

start() {
  mkdir -p "$RUNDIR"
  if answers; then echo running; return 0; fi
  # What `start` starts is listed in $RUNDIR/started (kept across a restart of
  # libvirtd alone); `stop` stops only those and clears the list, so a virtlogd
  # someone else started (and still uses) is left alone.
  command -v libvirtd >/dev/null || { echo "services: libvirtd is missing (run scripts/setup-system.sh)" >&2; exit 1; }
  configure_qemu
  mkdir -p /run/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu
  if ! pid_alive "$RUNDIR/virtlogd.pid" && ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d -p "$RUNDIR/virtlogd.pid"
    grep -qsx virtlogd "$RUNDIR/started" || echo virtlogd >> "$RUNDIR/started"
    wait_until 10 test -S /run/libvirt/virtlogd-sock || { echo "services: virtlogd did not come up" >&2; exit 1; }
  fi
  if ! pid_alive "$RUNDIR/libvirtd.pid"; then
    # A stale pid file of a dead libvirtd would make the new one refuse to start.
    rm -f /run/libvirtd.pid
    LIBVIRT_LOG_OUTPUTS="3:file:$RUNDIR/libvirtd.log" libvirtd -d -p "$RUNDIR/libvirtd.pid"
    grep -qsx libvirtd "$RUNDIR/started" || echo libvirtd >> "$RUNDIR/started"
  fi
  if ! wait_until 30 answers; then
    echo "services: libvirtd does not answer on $URI; its log:" >&2
    tail -20 "$RUNDIR/libvirtd.log" >&2 || true
    exit 1
  fi
  echo started
}

stop_one() { # name
  local pf="$RUNDIR/$1.pid"
  [ -f "$pf" ] || return 0
  local pid; pid=$(cat "$pf")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait_until 15 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pf"
}

stop() {
  local list="$RUNDIR/started"
  if [ -f "$list" ]; then
    grep -qx libvirtd "$list" && stop_one libvirtd
    grep -qx virtlogd "$list" && stop_one virtlogd
    rm -f "$list"
  fi
  echo stopped
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|status [RUNDIR]" >&2; exit 2 ;;
esac
