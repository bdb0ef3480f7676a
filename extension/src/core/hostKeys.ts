// Host key verification, done during key exchange and so BEFORE any
// authentication is sent (ssh2 calls `hostVerifier` from its KEX handler and
// starts user authentication only after it approved the key).
//
//   known   -> go on
//   unknown -> ask the user with the key's SHA256 fingerprint; yes -> go on and
//              save the key once the handshake proved the server holds it
//   changed -> refuse, naming the file and line of the key we know (like
//              OpenSSH's "REMOTE HOST IDENTIFICATION HAS CHANGED")
//   revoked -> refuse

import { createHash } from 'node:crypto';
import { appendKnownHost, blobKeyType, KnownHosts, knownHostsName, type KnownHostEntry } from './knownHosts';

/** `SHA256:` + unpadded base64 of the key blob's SHA-256, exactly as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyCheck =
  | { status: 'known'; entry: KnownHostEntry }
  /** `otherTypes`: key types already known for this host (the server offered another one). */
  | { status: 'unknown'; otherTypes: string[] }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry };

/** Where `blob` stands for host:port in `known` (OpenSSH's check_key_in_hostkeys). */
export function checkHostKey(known: KnownHosts, host: string, port: number, blob: Buffer): HostKeyCheck {
  const type = blobKeyType(blob);
  const entries = known.lookup(host, port);
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(blob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = entries.filter((e) => e.marker === null);
  const same = plain.find((e) => e.key.equals(blob));
  if (same) return { status: 'known', entry: same };
  const changed = plain.find((e) => e.keyType === type);
  if (changed) return { status: 'changed', entry: changed };
  return { status: 'unknown', otherTypes: [...new Set(plain.map((e) => e.keyType))] };
}

export interface UnknownHostKey {
  /** As known_hosts names it: `host` or `[host]:port`. */
  host: string;
  keyType: string;
  fingerprint: string;
  /** Key types already known for this host: the server offered a new type, not a changed key. */
  otherTypes: string[];
}

/** Asks the user whether to trust an unknown key; true: trust and save it. */
export type AskUnknownHostKey = (key: UnknownHostKey) => Promise<boolean>;

export type HostKeyRefusal = 'changed' | 'revoked' | 'rejected' | 'unknown';

export class HostKeyError extends Error {
  constructor(readonly reason: HostKeyRefusal, message: string, readonly fingerprint: string) {
    super(message);
    this.name = 'HostKeyError';
  }
}

export interface HostKeyVerifierOptions {
  /** Files read, in order (the user's file first, then e.g. /etc/ssh/ssh_known_hosts). */
  files: string[];
  /** Where accepted keys are appended (normally files[0]). */
  writeTo: string;
  /** Absent: unknown keys are refused (no prompt possible, e.g. during automatic reconnects). */
  ask?: AskUnknownHostKey;
  /** Hash the host name of saved entries (default true, as Debian's HashKnownHosts yes). */
  hashNames?: boolean;
}

export interface VerifiedHostKey {
  fingerprint: string;
  keyType: string;
  /** Saves a newly accepted key; a no-op for known keys. Call once the handshake completed. */
  commit(): string | undefined;
}

export class HostKeyVerifier {
  constructor(private readonly opts: HostKeyVerifierOptions) {}

  /** Key types known for host:port, for ordering the server host key algorithms we offer. */
  knownTypes(host: string, port: number): string[] {
    const entries = KnownHosts.load(this.opts.files).lookup(host, port);
    return [...new Set(entries.filter((e) => e.marker === null).map((e) => e.keyType))];
  }

  /** Resolves for a key to go on with; rejects with a HostKeyError otherwise. */
  async verify(host: string, port: number, blob: Buffer): Promise<VerifiedHostKey> {
    const fingerprint = fingerprintSha256(blob);
    const keyType = blobKeyType(blob) ?? 'unknown';
    const name = knownHostsName(host, port);
    const check = checkHostKey(KnownHosts.load(this.opts.files), host, port, blob);
    switch (check.status) {
      case 'known':
        return { fingerprint, keyType, commit: () => undefined };
      case 'revoked':
        throw new HostKeyError('revoked', `the ${keyType} host key of ${name} (${fingerprint}) is marked @revoked in ${check.entry.file}:${check.entry.line}; refusing to connect`, fingerprint);
      case 'changed': {
        const old = fingerprintSha256(check.entry.key);
        throw new HostKeyError('changed', [
          `REMOTE HOST IDENTIFICATION HAS CHANGED for ${name}:`,
          `the server sent the ${keyType} key ${fingerprint}, but ${check.entry.file}:${check.entry.line} holds a different ${check.entry.keyType} key (${old}) for this host.`,
          'Someone could be eavesdropping on you (man-in-the-middle attack), or the host key was just replaced. Hefery refuses to connect.',
          `If the change is expected, remove the old key with: ssh-keygen -f "${check.entry.file}" -R "${name}"`,
        ].join(' '), fingerprint);
      }
      case 'unknown': {
        if (!this.opts.ask) {
          throw new HostKeyError('unknown', `the ${keyType} host key of ${name} (${fingerprint}) is not in ${this.opts.writeTo}; connect from the command palette once to review and accept it`, fingerprint);
        }
        const ok = await this.opts.ask({ host: name, keyType, fingerprint, otherTypes: check.otherTypes });
        if (!ok) throw new HostKeyError('rejected', `the ${keyType} host key of ${name} (${fingerprint}) was not accepted; not connected`, fingerprint);
        let saved = false;
        return {
          fingerprint,
          keyType,
          commit: () => {
            if (saved) return undefined;
            saved = true;
            return appendKnownHost(this.opts.writeTo, host, port, blob, { hash: this.opts.hashNames ?? true });
          },
        };
      }
    }
  }
}

/** Host key algorithms ssh2 can use, best first (its default order). */
export const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/**
 * Our offer of host key algorithms with those of already known key types
 * first, as OpenSSH orders them: a server with several host keys then shows
 * the one we know instead of triggering an "unknown key" prompt.
 */
export function orderHostKeyAlgorithms(knownTypes: string[]): string[] {
  const preferred: string[] = [];
  for (const t of knownTypes) {
    const algs = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
    for (const a of algs) if (HOST_KEY_ALGORITHMS.includes(a) && !preferred.includes(a)) preferred.push(a);
  }
  return [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}
