// Which hosts the extension lists and how it reaches each: the `hefery.hosts`
// setting (validated entry by entry, errors naming the entry and field) and
// the named Host entries of ~/.ssh/config. Every host, whichever its source,
// is resolved through the SSH config the way `ssh NAME` would be, with the
// setting's explicit values taking precedence (as ssh's command-line options
// do). A settings entry and an ssh-config entry with the same name are one
// host: the setting wins.

import { join } from 'node:path';
import { num, obj, opt, SchemaError, str } from '../../../host-agent/src/protocol/schema';
import { defaultIdentityFiles, SshConfig, type LocalContext } from './sshConfig';
import type { SshTarget } from './sshConnection';

export const DEFAULT_SOCKET_PATH = '/run/hefery/agent.sock';

export const HostSetting = obj({
  name: opt(str({ min: 1, max: 128 })),
  host: str({ min: 1, max: 255, pattern: /^[^\s]+$/ }),
  port: opt(num({ min: 1, max: 65535, int: true })),
  username: opt(str({ min: 1, max: 128, pattern: /^[^\s@]+$/ })),
  identityFile: opt(str({ min: 1, max: 4096 })),
  socketPath: opt(str({ min: 1, max: 4096, pattern: /^\// })),
});
export type HostSetting = ReturnType<typeof HostSetting.parse>;

export interface HostSpec {
  /** Unique, shown in the tree: the setting's name, else its host, else the ssh alias. */
  id: string;
  source: 'settings' | 'ssh-config';
  /** Where in the settings or which config file line it came from, for messages. */
  origin: string;
  socketPath: string;
  target: SshTarget;
  /** known_hosts files to read (the first is written to). */
  knownHostsFiles: string[];
  /** Things the user should know about this host's configuration (ignored options, bad tokens). */
  notes: string[];
}

export interface HostListOptions {
  settings: unknown;
  /** null: do not read the SSH config. */
  sshConfig: SshConfig | null;
  local: LocalContext;
  /** hefery.knownHostsPath; empty: ~/.ssh/known_hosts. */
  knownHostsPath?: string;
  /** Default agent socket for hosts from the SSH config. */
  defaultSocketPath?: string;
  /** Read-only system file OpenSSH also consults. */
  globalKnownHosts?: string;
}

export function buildHostList(o: HostListOptions): { hosts: HostSpec[]; problems: string[] } {
  const problems: string[] = [];
  const hosts: HostSpec[] = [];
  const seen = new Set<string>();

  const entries = Array.isArray(o.settings) ? o.settings : [];
  if (o.settings !== undefined && o.settings !== null && !Array.isArray(o.settings)) problems.push('hefery.hosts: expected an array of hosts');
  entries.forEach((raw, i) => {
    let s: HostSetting;
    try {
      s = HostSetting.parse(raw, `hefery.hosts[${i}]`);
    } catch (e) {
      problems.push(e instanceof SchemaError ? e.message : `hefery.hosts[${i}]: ${(e as Error).message}`);
      return;
    }
    const id = s.name ?? s.host;
    if (seen.has(id)) {
      problems.push(`hefery.hosts[${i}]: a host named "${id}" is already configured; this entry is ignored`);
      return;
    }
    seen.add(id);
    hosts.push(resolveHost(o, {
      id,
      source: 'settings',
      origin: `hefery.hosts[${i}]`,
      alias: s.host,
      socketPath: s.socketPath ?? DEFAULT_SOCKET_PATH,
      preset: { port: s.port, user: s.username, identityFiles: s.identityFile ? [s.identityFile] : undefined },
    }));
  });

  if (o.sshConfig) {
    problems.push(...o.sshConfig.problems);
    for (const h of o.sshConfig.hosts()) {
      if (seen.has(h.alias)) continue;
      seen.add(h.alias);
      hosts.push(resolveHost(o, {
        id: h.alias,
        source: 'ssh-config',
        origin: `${h.at.file}:${h.at.line}`,
        alias: h.alias,
        socketPath: o.defaultSocketPath || DEFAULT_SOCKET_PATH,
        preset: {},
      }));
    }
  }
  return { hosts, problems };
}

function resolveHost(o: HostListOptions, h: {
  id: string; source: HostSpec['source']; origin: string; alias: string; socketPath: string;
  preset: { port?: number; user?: string; identityFiles?: string[] };
}): HostSpec {
  const cfg = o.sshConfig ?? SshConfig.parse('', '(none)', o.local.home);
  // The setting's identityFile expands (~, %-tokens) like the config's own paths.
  const r = cfg.resolve(h.alias, o.local, h.preset);
  const notes = [...r.notes];
  if (r.unsupported.length) notes.push(`ignored (not supported by Hefery): ${r.unsupported.join(', ')}`);
  const agent = r.identityAgent === 'none' ? undefined : r.identityAgent ?? o.local.env.SSH_AUTH_SOCK;
  const userFiles = o.knownHostsPath
    ? [o.knownHostsPath]
    : r.userKnownHostsFiles?.length ? r.userKnownHostsFiles : [join(o.local.home, '.ssh', 'known_hosts')];
  return {
    id: h.id,
    source: h.source,
    origin: h.origin,
    socketPath: h.socketPath,
    knownHostsFiles: [...userFiles, ...(o.globalKnownHosts ? [o.globalKnownHosts] : [])],
    notes,
    target: {
      label: h.id,
      host: r.hostName,
      port: r.port,
      username: r.user,
      identityFiles: r.identityFiles.length ? r.identityFiles : defaultIdentityFiles(o.local.home),
      identitiesOnly: r.identitiesOnly,
      agentSocket: agent || undefined,
      knownHostsHost: r.hostKeyAlias ?? r.hostName,
      knownHostsPort: r.hostKeyAlias ? 22 : r.port,
    },
  };
}

/** Parses `user@host:port` (each part but host optional) as typed in "Add Host". */
export function parseHostAddress(input: string): { host: string; port?: number; username?: string } | string {
  const s = input.trim();
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::(\d+))?$/.exec(s);
  if (!m) return 'expected host, user@host or user@host:port';
  const port = m[3] !== undefined ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return `port ${m[3]} is out of range (1-65535)`;
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  return { host, ...(port !== undefined ? { port } : {}), ...(m[1] ? { username: m[1] } : {}) };
}
