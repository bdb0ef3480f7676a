// The OpenSSH client config (~/.ssh/config) as far as Hefery needs it: which
// Host aliases to list, and for one alias the effective HostName, Port, User,
// IdentityFile list, IdentitiesOnly and friends, resolved the way `ssh -G`
// does it:
//   - the first obtained value of an option wins (IdentityFile accumulates);
//   - `Host` patterns (`*`, `?`, `!negation`) are matched against the alias;
//   - options before the first Host/Match apply to every host;
//   - `Include` (globs; relative paths live in ~/.ssh) is read in place, and
//     inside an inactive block the included file applies to nothing;
//   - `Match` blocks are not evaluated: their options are skipped, with a note.
// Parse problems are reported with file:line and the offending line skipped,
// so one bad line does not hide every other host.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** OpenSSH's own limit on Include nesting (READCONF_MAX_DEPTH). */
const MAX_INCLUDE_DEPTH = 16;

export interface Where {
  file: string;
  line: number;
}

type Entry =
  | { kind: 'host'; patterns: string[]; at: Where }
  | { kind: 'match'; at: Where }
  | { kind: 'option'; keyword: string; args: string[]; at: Where }
  | { kind: 'include'; files: ParsedFile[]; at: Where };

interface ParsedFile {
  path: string;
  entries: Entry[];
}

/** A Host alias named by a config file (wildcard-only patterns are defaults, not hosts). */
export interface ListedHost {
  alias: string;
  at: Where;
}

/** Where the local side comes from (tests pass their own). */
export interface LocalContext {
  home: string;
  user: string;
  uid: number;
  hostname: string;
  env: Record<string, string | undefined>;
}

/** The effective options for one alias, as `ssh -G alias` would print them (subset). */
export interface ResolvedSshHost {
  alias: string;
  hostName: string;
  port: number;
  user: string;
  /** Expanded paths, in the order OpenSSH tries them; empty: none configured (use the defaults). */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** Expanded IdentityAgent path; 'none' disables the agent; undefined: SSH_AUTH_SOCK. */
  identityAgent?: string;
  userKnownHostsFiles?: string[];
  hostKeyAlias?: string;
  connectTimeoutSeconds?: number;
  serverAliveIntervalSeconds?: number;
  serverAliveCountMax?: number;
  /** Set options Hefery cannot honour (ProxyJump, ProxyCommand, ...), for a warning. */
  unsupported: string[];
  /** Problems met while resolving (bad tokens, Match blocks skipped). */
  notes: string[];
}

export class SshConfig {
  private constructor(private readonly root: ParsedFile | null, readonly problems: string[], readonly path: string) {}

  /** Reads `path` and everything it includes. A missing file is an empty config. */
  static load(path: string, home: string): SshConfig {
    const problems: string[] = [];
    const root = parseFile(path, home, 0, problems);
    return new SshConfig(root, problems, path);
  }

  /** Parses config text held in memory (its Include lines still read from disk). */
  static parse(text: string, path: string, home: string): SshConfig {
    const problems: string[] = [];
    return new SshConfig({ path, entries: parseText(text, path, home, 0, problems) }, problems, path);
  }

  /** Host aliases to list: every positive, wildcard-free Host pattern, first occurrence first. */
  hosts(): ListedHost[] {
    const out: ListedHost[] = [];
    const seen = new Set<string>();
    const visit = (f: ParsedFile) => {
      for (const e of f.entries) {
        if (e.kind === 'include') e.files.forEach(visit);
        if (e.kind !== 'host') continue;
        for (const p of e.patterns) {
          if (p.startsWith('!') || /[*?]/.test(p)) continue;
          if (seen.has(p)) continue;
          seen.add(p);
          out.push({ alias: p, at: e.at });
        }
      }
    };
    if (this.root) visit(this.root);
    return out;
  }

  /** The effective options for `alias`; `preset` values count as given first (like ssh's command-line options). */
  resolve(alias: string, local: LocalContext, preset: { hostName?: string; port?: number; user?: string; identityFiles?: string[] } = {}): ResolvedSshHost {
    const values = new Map<string, { args: string[]; at: Where }>();
    const identities: Array<{ raw: string; at?: Where }> = (preset.identityFiles ?? []).map((raw) => ({ raw }));
    const notes: string[] = [];
    const target = alias;

    const apply = (keyword: string, args: string[], at: Where) => {
      if (keyword === 'identityfile') {
        if (args[0] !== undefined) identities.push({ raw: args[0], at });
        return;
      }
      if (!values.has(keyword)) values.set(keyword, { args, at });
    };

    const walk = (f: ParsedFile, startActive: boolean, neverMatch: boolean) => {
      let active = startActive;
      for (const e of f.entries) {
        switch (e.kind) {
          case 'host':
            active = !neverMatch && hostLineMatches(e.patterns, target);
            break;
          case 'match':
            active = false;
            notes.push(`${e.at.file}:${e.at.line}: Match blocks are not evaluated by Hefery; their options are ignored`);
            break;
          case 'option':
            if (active) apply(e.keyword, e.args, e.at);
            break;
          case 'include': {
            const outer = active;
            for (const inc of e.files) walk(inc, outer, neverMatch || !outer);
            active = outer;
            break;
          }
        }
      }
    };
    if (this.root) walk(this.root, true, false);

    const one = (k: string) => values.get(k)?.args[0];
    const rawHostName = preset.hostName ?? one('hostname');
    // ssh lower-cases the final host name (not the alias Host patterns were matched against).
    const hostName = (rawHostName !== undefined ? expandHostName(rawHostName, alias) : alias).toLowerCase();

    let port = preset.port ?? 22;
    if (preset.port === undefined && values.has('port')) {
      const v = values.get('port')!;
      const n = Number(v.args[0]);
      if (Number.isInteger(n) && n >= 1 && n <= 65535) port = n;
      else notes.push(`${v.at.file}:${v.at.line}: Port: expected 1..65535, got "${v.args[0] ?? ''}"; using 22`);
    }
    const user = preset.user ?? one('user') ?? local.user;
    const hostKeyAlias = one('hostkeyalias');
    const tokens = tokenValues({ local, alias, hostName, port, user, hostKeyAlias });

    const expand = (raw: string, what: string, at?: Where): string | undefined => {
      try {
        return expandPath(raw, local, tokens);
      } catch (e) {
        notes.push(`${at ? `${at.file}:${at.line}: ` : ''}${what}: ${(e as Error).message}`);
        return undefined;
      }
    };

    const identityFiles: string[] = [];
    for (const id of identities) {
      const p = expand(id.raw, 'IdentityFile', id.at);
      if (p !== undefined && !identityFiles.includes(p)) identityFiles.push(p);
    }

    const resolved: ResolvedSshHost = {
      alias,
      hostName,
      port,
      user,
      identityFiles,
      identitiesOnly: yes(one('identitiesonly')),
      unsupported: [],
      notes,
    };
    if (hostKeyAlias !== undefined) resolved.hostKeyAlias = hostKeyAlias;
    const agent = values.get('identityagent');
    if (agent?.args[0] !== undefined) {
      const a = agent.args[0];
      if (a === 'none' || a === 'SSH_AUTH_SOCK') resolved.identityAgent = a === 'none' ? 'none' : undefined;
      else {
        const p = a.startsWith('$') && !a.startsWith('${') ? local.env[a.slice(1)] : expand(a, 'IdentityAgent', agent.at);
        if (p !== undefined) resolved.identityAgent = p;
      }
    }
    const khf = values.get('userknownhostsfile');
    if (khf) {
      const files = khf.args.filter((a) => a !== 'none').map((a) => expand(a, 'UserKnownHostsFile', khf.at)).filter((p): p is string => p !== undefined);
      resolved.userKnownHostsFiles = files;
    }
    const seconds = (k: string, label: string): number | undefined => {
      const v = values.get(k);
      if (!v) return undefined;
      const n = Number(v.args[0]);
      if (Number.isFinite(n) && n >= 0) return n;
      notes.push(`${v.at.file}:${v.at.line}: ${label}: expected a number of seconds, got "${v.args[0] ?? ''}"`);
      return undefined;
    };
    const ct = seconds('connecttimeout', 'ConnectTimeout');
    if (ct !== undefined) resolved.connectTimeoutSeconds = ct;
    const sai = seconds('serveraliveinterval', 'ServerAliveInterval');
    if (sai !== undefined) resolved.serverAliveIntervalSeconds = sai;
    const sac = seconds('serveralivecountmax', 'ServerAliveCountMax');
    if (sac !== undefined) resolved.serverAliveCountMax = sac;
    for (const [k, label] of [['proxyjump', 'ProxyJump'], ['proxycommand', 'ProxyCommand'], ['localcommand', 'LocalCommand'], ['certificatefile', 'CertificateFile']] as const) {
      const v = values.get(k);
      if (v && v.args[0] !== 'none') resolved.unsupported.push(`${label} (${v.at.file}:${v.at.line})`);
    }
    return resolved;
  }
}

// ---- parsing --------------------------------------------------------------------------

function parseFile(path: string, home: string, depth: number, problems: string[]): ParsedFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push(`${path}: cannot read: ${(e as Error).message}`);
    return null;
  }
  return { path, entries: parseText(text, path, home, depth, problems) };
}

function parseText(text: string, path: string, home: string, depth: number, problems: string[]): Entry[] {
  const entries: Entry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const at = { file: path, line: i + 1 };
    let parsed: { keyword: string; args: string[] } | null;
    try {
      parsed = splitLine(lines[i]);
    } catch (e) {
      problems.push(`${path}:${i + 1}: ${(e as Error).message}`);
      continue;
    }
    if (!parsed) continue;
    const { keyword, args } = parsed;
    if (keyword === 'host') {
      if (args.length === 0) problems.push(`${path}:${i + 1}: Host needs at least one pattern`);
      entries.push({ kind: 'host', patterns: args, at });
    } else if (keyword === 'match') {
      entries.push({ kind: 'match', at });
    } else if (keyword === 'include') {
      if (depth + 1 > MAX_INCLUDE_DEPTH) {
        problems.push(`${path}:${i + 1}: Include nested deeper than ${MAX_INCLUDE_DEPTH} levels; ignored`);
        continue;
      }
      const files: ParsedFile[] = [];
      for (const arg of args) {
        const pattern = includePath(arg, home);
        for (const f of globFiles(pattern)) {
          const pf = parseFile(f, home, depth + 1, problems);
          if (pf) files.push(pf);
        }
      }
      entries.push({ kind: 'include', files, at });
    } else {
      if (args.length === 0) {
        problems.push(`${path}:${i + 1}: ${keyword} has no value`);
        continue;
      }
      entries.push({ kind: 'option', keyword, args, at });
    }
  }
  return entries;
}

/** Splits one config line into its lower-cased keyword and arguments; null for blank lines and comments. */
export function splitLine(line: string): { keyword: string; args: string[] } | null {
  const s = line.replace(/^\s+/, '');
  if (s === '' || s.startsWith('#')) return null;
  const m = /^([A-Za-z][A-Za-z0-9]*)(\s*=\s*|\s+|$)/.exec(s);
  if (!m) throw new Error(`cannot read "${line.trim()}": expected "Keyword value"`);
  const args = splitArgs(s.slice(m[0].length));
  return { keyword: m[1].toLowerCase(), args };
}

/** OpenSSH's argv_split: whitespace-separated words, '...' and "..." quoting, \\ \" \' and "\ " escapes, an unquoted # starts a comment. */
export function splitArgs(s: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i >= s.length) break;
    if (s[i] === '#') break;
    let arg = '';
    let quote: string | null = null;
    for (; i < s.length; i++) {
      const c = s[i];
      if (quote === null && /\s/.test(c)) break;
      if (c === '\\') {
        const n = s[i + 1];
        if (n === "'" || n === '"' || n === '\\' || (quote === null && n === ' ')) {
          arg += n;
          i++;
        } else arg += c;
      } else if (quote !== null && c === quote) quote = null;
      else if (quote === null && (c === '"' || c === "'")) quote = c;
      else arg += c;
    }
    if (quote !== null) throw new Error(`unterminated ${quote} quote`);
    args.push(arg);
  }
  return args;
}

/** Include paths: ~ expanded, relative ones live in ~/.ssh (user configuration). */
function includePath(arg: string, home: string): string {
  if (arg === '~' || arg.startsWith('~/')) return join(home, arg.slice(1));
  if (isAbsolute(arg)) return arg;
  return join(home, '.ssh', arg);
}

/** Files matching a glob with *, ? and [...] in any path component, sorted as glob(3) does. */
export function globFiles(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) {
    try {
      return statSync(pattern).isFile() ? [pattern] : [];
    } catch {
      return [];
    }
  }
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : parts[0]];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    if (part === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(part)) {
        next.push(join(base, part));
        continue;
      }
      const re = globToRegExp(part);
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (!n.startsWith('.') && re.test(n)) next.push(join(base, n));
    }
    bases = next;
  }
  return bases.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// ---- matching and expansion ---------------------------------------------------------------

/** OpenSSH's match_pattern: * and ? wildcards; case-sensitive like ssh_config's Host (known_hosts passes lower-cased names). */
export function matchPattern(name: string, pattern: string): boolean {
  let re = '';
  for (const c of pattern) re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, 's').test(name);
}

/** A Host line applies when a positive pattern matches and no negated one does. */
export function hostLineMatches(patterns: string[], name: string): boolean {
  let positive = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (matchPattern(name, p.slice(1))) return false;
    } else if (matchPattern(name, p)) positive = true;
  }
  return positive;
}

function expandHostName(raw: string, alias: string): string {
  return raw.replace(/%([%h])/g, (_, t: string) => (t === '%' ? '%' : alias));
}

function tokenValues(o: { local: LocalContext; alias: string; hostName: string; port: number; user: string; hostKeyAlias?: string }): Record<string, string> {
  const l = o.local.hostname;
  return {
    '%': '%',
    d: o.local.home,
    h: o.hostName,
    n: o.alias,
    p: String(o.port),
    r: o.user,
    u: o.local.user,
    i: String(o.local.uid),
    l,
    L: l.split('.')[0],
    k: o.hostKeyAlias ?? o.alias,
    C: createHash('sha1').update(`${l}${o.hostName}${o.port}${o.user}`).digest('hex'),
  };
}

/** ~ and ${ENV} and %-tokens, as OpenSSH expands IdentityFile and friends. Throws on an unknown token. */
export function expandPath(raw: string, local: LocalContext, tokens: Record<string, string>): string {
  let s = raw;
  if (s === '~' || s.startsWith('~/')) s = local.home + s.slice(1);
  else if (s.startsWith('~')) throw new Error(`"${raw}": ~user paths are not supported; write the full path`);
  s = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = local.env[name];
    if (v === undefined) throw new Error(`"${raw}": environment variable ${name} is not set`);
    return v;
  });
  return s.replace(/%(.?)/g, (_, t: string) => {
    const v = tokens[t];
    if (v === undefined) throw new Error(`"${raw}": unknown token %${t}`);
    return v;
  });
}

function yes(v: string | undefined): boolean {
  return v !== undefined && /^(yes|true)$/i.test(v);
}

/** The identity files ssh tries when none is configured (the ones ssh2 can use). */
export function defaultIdentityFiles(home: string): string[] {
  return ['id_rsa', 'id_ecdsa', 'id_ed25519'].map((n) => join(home, '.ssh', n));
}
