// known_hosts files as OpenSSH reads and writes them (sshd(8) "SSH_KNOWN_HOSTS
// FILE FORMAT"): `[@marker] hosts keytype base64key [comment]`, where hosts is
// either a comma list of patterns (`*`, `?`, `!negation`, `[host]:port` for
// ports other than 22) or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
// Host names are compared lower-cased. Lines that cannot be read are
// reported with file:line and skipped, never fatal.

import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { matchPattern } from './sshConfig';

export interface KnownHostEntry {
  file: string;
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** The hosts field as written (patterns or a hashed name). */
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** The name known_hosts stores for host:port: `host`, or `[host]:port` for another port than 22. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

export class KnownHosts {
  private constructor(readonly entries: KnownHostEntry[], readonly problems: string[]) {}

  /** Reads every file (a missing one is empty). */
  static load(files: string[]): KnownHosts {
    const entries: KnownHostEntry[] = [];
    const problems: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${file}: cannot read: ${(e as Error).message}`);
        continue;
      }
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const r = parseLine(lines[i], file, i + 1);
        if (r === null) continue;
        if (typeof r === 'string') problems.push(r);
        else entries.push(r);
      }
    }
    return new KnownHosts(entries, problems);
  }

  /** Entries whose hosts field matches host:port (port 22 is the bare name). */
  lookup(host: string, port: number): KnownHostEntry[] {
    const name = knownHostsName(host, port);
    return this.entries.filter((e) => hostsFieldMatches(e.hosts, name));
  }
}

function parseLine(raw: string, file: string, line: number): KnownHostEntry | string | null {
  const s = raw.trim();
  if (s === '' || s.startsWith('#')) return null;
  const fields = s.split(/\s+/);
  let marker: KnownHostEntry['marker'] = null;
  if (fields[0].startsWith('@')) {
    const m = fields.shift()!;
    if (m === '@revoked') marker = 'revoked';
    else if (m === '@cert-authority') marker = 'cert-authority';
    else return `${file}:${line}: unknown marker ${m}`;
  }
  const [hosts, keyType, b64] = fields;
  if (!hosts || !keyType || !b64) return `${file}:${line}: expected "hosts keytype key", got "${s.slice(0, 80)}"`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return `${file}:${line}: the key is not base64`;
  const key = Buffer.from(b64, 'base64');
  const embedded = blobKeyType(key);
  if (embedded === null) return `${file}:${line}: the key blob is malformed`;
  if (embedded !== keyType) return `${file}:${line}: key type ${keyType} does not match the key's own type ${embedded}`;
  return { file, line, marker, hosts, keyType, key };
}

/** Whether a known_hosts hosts field names `name` (already lower-cased, `[h]:p` for other ports). */
export function hostsFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedNameMatches(field, name);
  let positive = false;
  for (const p of field.split(',')) {
    if (p === '') continue;
    if (p.startsWith('!')) {
      if (matchPattern(name, p.slice(1).toLowerCase())) return false;
    } else if (matchPattern(name, p.toLowerCase())) positive = true;
  }
  return positive;
}

function hashedNameMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && want.equals(got);
}

/** `|1|salt|hash` for `name`, as `ssh-keygen -H` and HashKnownHosts write it. */
export function hashName(name: string, salt: Buffer = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/** The key type named inside an SSH public key blob (its first string), null when malformed. */
export function blobKeyType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return null;
  const t = blob.subarray(4, 4 + len).toString('latin1');
  return /^[A-Za-z0-9@._-]+$/.test(t) ? t : null;
}

/**
 * Appends `name keytype key` (the name hashed unless `hash` is false) to
 * `file`, creating its directory 0700 and the file 0600 when they do not
 * exist. An existing file keeps its mode; a missing final newline is added.
 */
export function appendKnownHost(file: string, host: string, port: number, blob: Buffer, opts: { hash?: boolean } = {}): string {
  const type = blobKeyType(blob);
  if (type === null) throw new Error('cannot save a malformed host key');
  const name = knownHostsName(host, port);
  const entry = `${opts.hash === false ? name : hashName(name)} ${type} ${blob.toString('base64')}`;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const prefix = needsNewline(file) ? '\n' : '';
  appendFileSync(file, `${prefix}${entry}\n`, { mode: 0o600 });
  return entry;
}

function needsNewline(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}
