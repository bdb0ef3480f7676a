// The agent's own check of who connected (defence in depth on top of the
// socket file's 0660 mode and group): the peer's uid, gid and supplementary
// groups from SO_PEERCRED / SO_PEERGROUPS (read by the native addon), taken
// by the kernel when the peer connected. Allowed: root, the agent's own user,
// and members of the socket's group. Anything else is refused even if the
// file mode was loosened by mistake (chmod 666, a wrong group, a bind mount
// into a container).

import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
  /** Supplementary groups; null when the kernel cannot tell (no SO_PEERGROUPS). */
  groups: number[] | null;
}

/** Reads the peer's credentials of a connected Unix socket fd (the native addon's peerCredentials). */
export type PeerCredentialsReader = (fd: number) => PeerCredentials;

/** The fd of an accepted Unix socket (libuv's pipe handle); null when Node does not expose it. */
export function socketFd(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : null;
}

/** Supplementary groups from /proc/PID/status (kernels without SO_PEERGROUPS); [] when unreadable. */
function procGroups(pid: number): number[] {
  try {
    const m = /^Groups:\s*([\d\s]*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? m[1].trim().split(/\s+/).filter(Boolean).map(Number) : [];
  } catch {
    return [];
  }
}

/** null when `c` may use the API; otherwise why not (for the log and the refused client). groupLabel: e.g. "group hefery". */
export function refusal(c: PeerCredentials, allowedGid: number, agentUid: number, groupLabel: string): string | null {
  if (c.uid === 0 || c.uid === agentUid) return null;
  if (c.gid === allowedGid || (c.groups ?? procGroups(c.pid)).includes(allowedGid)) return null;
  return `uid ${c.uid} (gid ${c.gid}, pid ${c.pid}) is neither root, the agent's user, nor a member of ${groupLabel} (gid ${allowedGid})`;
}
