#!/usr/bin/env bash
# After the test suites (scripts/test.sh): did any test leave something
# behind? Test guests (QEMU processes, libvirt domains), the fixtures'
# network namespaces, bridges and veths, or processes still working in a
# test's temp dir (sshd, agents, code-server, Chromium). Prints each and
# exits 1 when there is any. The opt-in Xen lane (scripts/test-xen.sh) is
# not part of the suites: its namespace, QEMU and wrk are not looked for.
set -uo pipefail
TMP=${TMPDIR:-/tmp}

check() {
  local found=0 line d ns l p pid cmd
  say() { echo "leftover: $*"; found=1; }
  while read -r line; do [ -n "$line" ] && say "test guest process: $line"; done \
    < <(pgrep -af 'qemu-system.*guest=(hefery|hfrt)-' | cut -c1-200)
  if virsh -q -c qemu:///system list --all --name >/dev/null 2>&1; then
    while read -r d; do [ -n "$d" ] && say "libvirt domain: $d"; done \
      < <(virsh -q -c qemu:///system list --all --name | grep -E '^(hefery|hfrt)-')
  fi
  while read -r ns _; do [ -n "$ns" ] && say "network namespace: $ns"; done < <(ip netns list 2>/dev/null | grep -E '^hefery-t')
  while read -r l; do [ -n "$l" ] && say "network link: $l"; done < <(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(hfbr|hfv)')
  # Processes working in a test's temp dir (their command line names it).
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    cmd=$({ tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
    case "$cmd" in
      *"$TMP/hefery-wrk-"*|*leftovers.sh*) ;; # wrk of the opt-in Xen lane (test/xen/wrk.ts)
      *"$TMP/hefery-"*) say "process $pid: ${cmd:0:200}" ;;
    esac
  done
  return $found
}

# A process may still be on its way out (a guest being destroyed, a browser
# closing): what is still there after 10 s is a leftover.
for attempt in 1 2 3 4 5; do
  check >/dev/null && exit 0
  sleep 2
done
check
