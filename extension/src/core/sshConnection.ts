// One SSH connection to a hypervisor host (ssh2), and the stream-local
// channel to the agent's Unix socket through it.
//
// Order of events, and why:
//   1. TCP connect, key exchange. ssh2 calls our `hostVerifier` (async form)
//      with the server's host key; we check it against known_hosts
//      (hostKeys.ts). Nothing about the user has been sent yet: a refused key
//      ends the connection before authentication.
//   2. The handshake completes (the server proved it holds the key): only now
//      is a newly accepted key written to known_hosts.
//   3. Authentication through our authHandler: the SSH agent first (unless
//      IdentitiesOnly), then each identity file in order. An encrypted key's
//      passphrase comes from a PassphraseSource (the extension backs it with
//      SecretStorage); it is never logged or kept anywhere else. Refused keys
//      are remembered so the error can name them.
// Our own setup timeout stands still while the user answers a prompt.

import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { Client, utils, type AnyAuthMethod, type AuthenticationType, type ClientChannel, type ParsedKey } from 'ssh2';
import { HostKeyError, HostKeyVerifier, orderHostKeyAlgorithms, type VerifiedHostKey } from './hostKeys';
import { knownHostsName } from './knownHosts';
import { silentLog, type CoreLog } from './log';

export interface SshTarget {
  /** What the user calls this host (tree label), for messages. */
  label: string;
  host: string;
  port: number;
  username: string;
  /** Tried in order after the agent; missing files are skipped. */
  identityFiles: string[];
  /** Only the identity files, not the agent's keys (OpenSSH IdentitiesOnly). */
  identitiesOnly: boolean;
  /** The SSH agent's socket; undefined: no agent. */
  agentSocket?: string;
  /** The name and port known_hosts uses (HostKeyAlias: the alias and 22). Default host/port. */
  knownHostsHost?: string;
  knownHostsPort?: number;
}

/** Where passphrases of encrypted keys come from. Never log what it returns. */
export interface PassphraseSource {
  /** The passphrase for `keyFile`; `retry` when the previous one did not decrypt it. undefined: skip this key. */
  get(keyFile: string, retry: boolean): Promise<string | undefined>;
  /** The passphrase decrypted the key (the extension stores it in SecretStorage). */
  accepted?(keyFile: string, passphrase: string): void | Promise<void>;
  /** The stored passphrase does not decrypt the key (the extension forgets it). */
  rejected?(keyFile: string): void | Promise<void>;
}

export type SshFailure =
  | 'unreachable' | 'timeout' | 'closed' | 'protocol'
  | 'host-key' | 'auth' | 'no-agent-socket' | 'forwarding-denied';

/** A connection failure in words a user can act on; `retryable` false means retrying cannot help (or could lock an account). */
export class SshError extends Error {
  constructor(readonly kind: SshFailure, message: string, readonly retryable: boolean, override readonly cause?: Error) {
    super(message);
    this.name = 'SshError';
  }
}

export interface SshConnectOptions {
  target: SshTarget;
  verifier: HostKeyVerifier;
  passphrases?: PassphraseSource;
  /** Setup time allowed, not counting the time a prompt is open. Default 20 s. */
  connectTimeoutMs?: number;
  /** SSH keepalive; a connection missing `keepaliveCountMax` answers in a row is closed. Default 15 s x 3. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  log?: CoreLog;
}

const MAX_PASSPHRASE_TRIES = 3;

type KeyAttempt = { kind: 'agent'; socket: string } | { kind: 'file'; path: string };

export class SshConnection {
  private closed = false;
  private closing = false;
  private lastError: Error | undefined;
  private closeError: SshError | undefined;
  private readonly closeListeners: Array<(err?: SshError) => void> = [];

  private constructor(private readonly client: Client, readonly target: SshTarget, readonly hostKeyFingerprint: string) {
    client.on('error', (e) => (this.lastError = e));
    client.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      // Anything but our own close() is a lost connection, with or without an error event.
      if (!this.closing) {
        const why = this.lastError ? `: ${this.lastError.message}` : '';
        this.closeError = new SshError('closed', `the SSH connection to ${target.label} (${where(target)}) was lost${why}`, true, this.lastError);
      }
      for (const fn of this.closeListeners.splice(0)) fn(this.closeError);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called once when the connection ends: with an error when it was lost, without when close() ended it. */
  onClose(fn: (err?: SshError) => void): void {
    if (this.closed) fn(this.closeError);
    else this.closeListeners.push(fn);
  }

  close(): void {
    this.closing = true;
    this.client.end();
  }

  /** A channel to the Unix socket `socketPath` on the host (direct-streamlocal@openssh.com). */
  openStreamLocal(socketPath: string): Promise<Duplex> {
    return new Promise<Duplex>((resolve, reject) => {
      if (this.closed) return reject(new SshError('closed', `the SSH connection to ${where(this.target)} is closed`, true));
      try {
        this.client.openssh_forwardOutStreamLocal(socketPath, (err: Error | undefined, stream: ClientChannel) => {
          if (!err) return resolve(stream);
          // sshd answers every failure with "open failed": ask the file system what is there.
          this.statRemote(socketPath).then((what) => reject(explainChannelError(err, what, socketPath, this.target)));
        });
      } catch (e) {
        reject(new SshError('closed', `the SSH connection to ${where(this.target)} is closed: ${(e as Error).message}`, true, e as Error));
      }
    });
  }

  /** What `path` is on the host, through SFTP when the server offers it. */
  private statRemote(path: string): Promise<RemotePathKind> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (k: RemotePathKind) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        resolve(k);
      };
      const t = setTimeout(() => finish('unknown'), 5000);
      try {
        this.client.sftp((err, sftp) => {
          if (err) return finish('unknown');
          sftp.stat(path, (e, st) => {
            sftp.end();
            // SFTP status codes: 2 no such file, 3 permission denied.
            const code = (e as (Error & { code?: number }) | undefined)?.code;
            if (e) finish(code === 2 ? 'missing' : code === 3 ? 'denied' : 'unknown');
            else finish(st.isSocket() ? 'socket' : 'not-a-socket');
          });
        });
      } catch {
        finish('unknown');
      }
    });
  }

  static connect(opts: SshConnectOptions): Promise<SshConnection> {
    const { target, verifier } = opts;
    const log = opts.log ?? silentLog;
    const khHost = target.knownHostsHost ?? target.host;
    const khPort = target.knownHostsPort ?? target.port;
    const timeoutMs = opts.connectTimeoutMs ?? 20_000;

    return new Promise<SshConnection>((resolve, reject) => {
      const client = new Client();
      let settled = false;
      let hostKey: VerifiedHostKey | undefined;
      let hostKeyError: HostKeyError | undefined;
      let authError: SshError | undefined;
      let timer: NodeJS.Timeout | undefined;
      let prompts = 0;

      const armTimer = () => {
        clearTimeout(timer);
        if (timeoutMs > 0 && prompts === 0) {
          timer = setTimeout(() => fail(new SshError('timeout', `no SSH answer from ${where(target)} within ${Math.round(timeoutMs / 1000)} s`, true)), timeoutMs);
        }
      };
      /** Runs a user prompt with the setup timeout stopped. */
      const prompting = async <T>(fn: () => Promise<T>): Promise<T> => {
        prompts++;
        clearTimeout(timer);
        try {
          return await fn();
        } finally {
          prompts--;
          armTimer();
        }
      };
      const fail = (err: SshError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.removeAllListeners('ready');
        client.on('error', () => undefined);
        client.destroy();
        log.warn(`${target.label}: ${err.message}`);
        reject(err);
      };

      const auth = new AuthSequence(target, opts.passphrases, log, prompting);

      client.on('handshake', () => {
        // The server proved it holds the host key: a newly accepted key may be saved now.
        try {
          const saved = hostKey?.commit();
          if (saved) log.info(`${target.label}: saved the ${hostKey!.keyType} host key ${hostKey!.fingerprint} of ${knownHostsName(khHost, khPort)}`);
        } catch (e) {
          log.warn(`${target.label}: could not save the host key: ${(e as Error).message}`);
        }
      });
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        log.info(`${target.label}: connected to ${where(target)} as ${target.username}${auth.succeededWith ? ` (${auth.succeededWith})` : ''}`);
        resolve(new SshConnection(client, target, hostKey?.fingerprint ?? ''));
      });
      client.on('error', (e: Error & { level?: string; code?: string | number }) => {
        if (hostKeyError) return fail(new SshError('host-key', hostKeyError.message, false, hostKeyError));
        if (e.level === 'client-authentication') return fail(authError ?? auth.failure());
        fail(classify(e, target));
      });
      client.on('close', () => fail(new SshError('closed', `${where(target)} closed the connection during setup`, true)));

      let algorithms: string[];
      try {
        algorithms = orderHostKeyAlgorithms(verifier.knownTypes(khHost, khPort));
      } catch {
        algorithms = orderHostKeyAlgorithms([]);
      }

      armTimer();
      try {
        client.connect({
          host: target.host,
          port: target.port,
          username: target.username,
          readyTimeout: 0, // our own timer, which pauses during prompts
          keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
          keepaliveCountMax: opts.keepaliveCountMax ?? 3,
          algorithms: { serverHostKey: algorithms as never },
          hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
            prompting(() => verifier.verify(khHost, khPort, key)).then(
              (v) => {
                hostKey = v;
                log.debug(`${target.label}: host key ${v.keyType} ${v.fingerprint} accepted`);
                verify(true);
              },
              (e: Error) => {
                hostKeyError = e instanceof HostKeyError ? e : new HostKeyError('rejected', e.message, '');
                verify(false);
              },
            );
          },
          authHandler: (methodsLeft, partial, next) => {
            // ssh2 takes `false` for "no more methods" although its typings do not say so.
            const go = next as (m: AnyAuthMethod | false) => void;
            auth.next(methodsLeft, partial).then(go, (e: Error) => {
              authError = e instanceof SshError ? e : new SshError('auth', e.message, false, e);
              go(false);
            });
          },
        });
      } catch (e) {
        fail(new SshError('protocol', `cannot connect to ${where(target)}: ${(e as Error).message}`, false, e as Error));
      }
    });
  }
}

/** Feeds ssh2's authHandler: agent, then key files; remembers what the server refused. */
class AuthSequence {
  private readonly attempts: KeyAttempt[];
  private current: KeyAttempt | undefined;
  private readonly refused: KeyAttempt[] = [];
  private readonly skipped: string[] = [];
  succeededWith: string | undefined;

  constructor(
    private readonly target: SshTarget,
    private readonly passphrases: PassphraseSource | undefined,
    private readonly log: CoreLog,
    private readonly prompting: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {
    this.attempts = [];
    if (target.agentSocket && !target.identitiesOnly) this.attempts.push({ kind: 'agent', socket: target.agentSocket });
    for (const path of target.identityFiles) this.attempts.push({ kind: 'file', path });
  }

  /** The next method for ssh2, or false when none is left. */
  async next(methodsLeft: AuthenticationType[] | null, partial: boolean | null): Promise<AnyAuthMethod | false> {
    if (this.current && !partial) this.refused.push(this.current);
    this.current = undefined;
    if (methodsLeft && !methodsLeft.includes('publickey')) {
      this.skipped.push(`the server accepts only ${methodsLeft.join(', ')}`);
      return false;
    }
    for (;;) {
      const a = this.attempts.shift();
      if (!a) return false;
      if (a.kind === 'agent') {
        this.current = a;
        this.succeededWith = 'SSH agent';
        return { type: 'agent', username: this.target.username, agent: a.socket };
      }
      const key = await this.loadKey(a.path);
      if (key) {
        this.current = a;
        this.succeededWith = `key ${a.path}`;
        this.log.debug(`${this.target.label}: offering key ${a.path}`);
        return { type: 'publickey', username: this.target.username, key };
      }
    }
  }

  /** The error once every attempt failed. */
  failure(): SshError {
    const user = this.target.username;
    const files = this.refused.filter((a): a is { kind: 'file'; path: string } => a.kind === 'file').map((a) => a.path);
    const agent = this.refused.some((a) => a.kind === 'agent');
    const parts: string[] = [];
    if (files.length === 1) parts.push(`the server refused key ${files[0]} for user ${user}`);
    else if (files.length > 1) parts.push(`the server refused keys ${files.join(', ')} for user ${user}`);
    if (agent) parts.push(`${files.length ? 'and' : 'the server refused'} the SSH agent's keys${files.length ? '' : ` for user ${user}`}`);
    let msg: string;
    if (parts.length) msg = `${where(this.target)}: ${parts.join(' ')}`;
    else {
      const why = [this.target.agentSocket && !this.target.identitiesOnly ? '' : this.target.identitiesOnly ? 'IdentitiesOnly is set, so the SSH agent is not used' : 'no SSH agent (SSH_AUTH_SOCK is not set)'];
      msg = `${where(this.target)}: no key to log in as ${user}: ${[...why.filter(Boolean), ...this.skipped].join('; ') || 'no identity file configured'}`;
    }
    if (parts.length && this.skipped.length) msg += ` (${this.skipped.join('; ')})`;
    return new SshError('auth', msg, false);
  }

  private async loadKey(path: string): Promise<ParsedKey | undefined> {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.skipped.push(`${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      return undefined;
    }
    let parsed = utils.parseKey(data);
    if (!(parsed instanceof Error)) return this.usable(parsed, path);
    if (!/encrypted|passphrase/i.test(parsed.message)) {
      this.skipped.push(`${path}: not a private key ssh2 can use (${parsed.message})`);
      return undefined;
    }
    if (!this.passphrases) {
      this.skipped.push(`${path}: encrypted, and no passphrase source`);
      return undefined;
    }
    for (let i = 0; i < MAX_PASSPHRASE_TRIES; i++) {
      const pass = await this.prompting(() => this.passphrases!.get(path, i > 0));
      if (pass === undefined) {
        this.skipped.push(`${path}: encrypted, no passphrase given`);
        return undefined;
      }
      parsed = utils.parseKey(data, pass);
      if (!(parsed instanceof Error)) {
        await this.passphrases.accepted?.(path, pass);
        return this.usable(parsed, path);
      }
      await this.passphrases.rejected?.(path);
    }
    this.skipped.push(`${path}: the passphrase did not decrypt it (${MAX_PASSPHRASE_TRIES} tries)`);
    return undefined;
  }

  private usable(k: ParsedKey | ParsedKey[], path: string): ParsedKey | undefined {
    const key = Array.isArray(k) ? k[0] : k;
    if (!key || !key.isPrivateKey()) {
      this.skipped.push(`${path}: a public key, not a private one`);
      return undefined;
    }
    return key;
  }
}

function where(t: SshTarget): string {
  return `${t.host}:${t.port}`;
}

/** ssh2's connection errors in words a user can act on. */
export function classify(e: Error & { level?: string; code?: string | number }, t: SshTarget): SshError {
  const w = where(t);
  if (e.level === 'client-socket' || e.level === 'client-dns') {
    switch (e.code) {
      case 'ECONNREFUSED':
        return new SshError('unreachable', `cannot reach ${w}: connection refused (is sshd running there?)`, true, e);
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return new SshError('unreachable', `cannot reach ${w}: no route to the host`, true, e);
      case 'ETIMEDOUT':
        return new SshError('timeout', `cannot reach ${w}: the TCP connection timed out`, true, e);
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new SshError('unreachable', `cannot resolve the host name ${t.host}`, true, e);
      case 'ECONNRESET':
      case 'EPIPE':
        return new SshError('closed', `${w} reset the connection`, true, e);
      default:
        return new SshError('unreachable', `cannot reach ${w}: ${e.message}`, true, e);
    }
  }
  if (e.level === 'client-timeout') return new SshError('timeout', `${w} stopped answering (${e.message})`, true, e);
  if (/Connection lost before handshake/.test(e.message)) {
    return new SshError('closed', `${w} closed the connection before the SSH handshake (is it an SSH server? too many connections?)`, true, e);
  }
  if (e.level === 'handshake') return new SshError('protocol', `SSH handshake with ${w} failed: ${e.message}`, false, e);
  return new SshError('protocol', `SSH connection to ${w} failed: ${e.message}`, true, e);
}

type RemotePathKind = 'missing' | 'socket' | 'not-a-socket' | 'denied' | 'unknown';

function explainChannelError(err: Error, what: RemotePathKind, socketPath: string, t: SshTarget): SshError {
  const on = `${socketPath} on ${t.label}`;
  const sshdRule = 'sshd must allow it (AllowStreamLocalForwarding yes, and AllowTcpForwarding not "no": OpenSSH applies that to Unix sockets too)';
  switch (what) {
    case 'missing':
      return new SshError('no-agent-socket', `no hefery-agent socket at ${on}: is hefery-agent serve running there?`, true, err);
    case 'not-a-socket':
      return new SshError('no-agent-socket', `${on} is not a socket: check the host's socketPath setting`, false, err);
    case 'denied':
      return new SshError('forwarding-denied', `${t.username} may not access ${on} (permission denied): add ${t.username} to the group hefery on the host`, true, err);
    case 'socket':
      return new SshError('forwarding-denied', `the hefery-agent socket ${on} exists but could not be opened through SSH: no agent listens on it (stale socket), ${t.username} may not open it (root or group hefery), or ${sshdRule}`, true, err);
    case 'unknown':
      return new SshError('no-agent-socket', `cannot open ${on}: no hefery-agent listening there, ${t.username} may not open it (root or group hefery), or ${sshdRule}`, true, err);
  }
}
