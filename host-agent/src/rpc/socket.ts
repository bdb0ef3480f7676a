// Unix socket path housekeeping for the agent's server.
//
// Access control: the file system first: the socket is mode 0660, owned by
// the agent's user and the configured group (default `hefery`); its
// directory (/run/hefery, systemd RuntimeDirectory) is 0750 with the same
// group. Only root and members of that group can connect, and every member
// of the group is trusted with the full API (including pinning checkpoint
// intervals). Then the agent checks each peer itself (SO_PEERCRED through the
// native addon, peer-access.ts), so a loosened file mode does not open it.

import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';

export class SocketPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SocketPathError';
  }
}

/** The gid of group `name` from an /etc/group-format file; null when there is no such group. */
export function lookupGroup(name: string, groupFile = '/etc/group'): number | null {
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [gname, , gid] = line.split(':');
    if (gname === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}

/** Resolves true when something accepts connections at `path`. */
export function isListening(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(true), timeoutMs); // connected but silent counts as alive
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Makes `path` ready to listen on: creates its directory (0750, group `gid`
 * when given), removes a stale socket nobody listens on, refuses when an
 * agent is listening or when the path is something other than a socket.
 */
export async function prepareSocketPath(path: string, gid: number | null): Promise<void> {
  const dir = dirname(path);
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new SocketPathError(`cannot create the socket directory ${dir}: ${(e as Error).message}`);
  }
  if (created !== undefined && gid !== null) {
    try {
      chownSync(dir, -1, gid);
    } catch {
      // not fatal: the directory stays root-only
    }
  }
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw new SocketPathError(`${path} exists and is not a socket; refusing to replace it`);
  if (await isListening(path)) throw new SocketPathError(`another process is already listening at ${path} (is hefery-agent already running?)`);
  try {
    unlinkSync(path);
  } catch (e) {
    throw new SocketPathError(`cannot remove the stale socket ${path}: ${(e as Error).message}`);
  }
}

/** Sets the socket's mode and group after listen(). The group change is skipped when gid is null. */
export function securePermissions(path: string, mode: number, gid: number | null): void {
  chmodSync(path, mode);
  if (gid !== null) chownSync(path, -1, gid);
}

/** Removes our socket file at shutdown (only a socket). */
export function removeSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}
