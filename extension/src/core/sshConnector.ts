// The hosts model's Connector over SSH: one SSH connection per host, kept
// while it lives, and a fresh stream-local channel to the agent's socket for
// each (re)connect of the agent. When only the agent went away (restarted,
// socket missing) the retries reuse the SSH connection instead of logging in
// again; when the SSH connection drops, its channels are destroyed with the
// reason so the agent client reports it.

import type { Duplex } from 'node:stream';
import type { HostSpec } from './hostConfig';
import type { HostKeyVerifier } from './hostKeys';
import type { Connector, Transport } from './hostsModel';
import { silentLog, type CoreLog } from './log';
import { SshConnection, type PassphraseSource } from './sshConnection';

export interface SshConnectorOptions {
  /** The verifier for a host; without prompts when `interactive` is false. */
  verifier(host: HostSpec, interactive: boolean): HostKeyVerifier;
  /** Passphrases; when `interactive` is false only stored ones. */
  passphrases(interactive: boolean): PassphraseSource | undefined;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  log?: CoreLog;
}

interface Kept {
  conn: SshConnection;
  streams: Set<Duplex>;
}

export class SshConnector implements Connector {
  private readonly kept = new Map<string, Kept>();
  private readonly log: CoreLog;

  constructor(private readonly opts: SshConnectorOptions) {
    this.log = opts.log ?? silentLog;
  }

  async open(host: HostSpec, o: { interactive: boolean }): Promise<Transport> {
    let k = this.kept.get(host.id);
    if (!k || k.conn.isClosed) {
      for (const n of host.notes) this.log.warn(`${host.id}: ${n}`);
      const conn = await SshConnection.connect({
        target: host.target,
        verifier: this.opts.verifier(host, o.interactive),
        passphrases: this.opts.passphrases(o.interactive),
        connectTimeoutMs: this.opts.connectTimeoutMs,
        keepaliveIntervalMs: this.opts.keepaliveIntervalMs,
        keepaliveCountMax: this.opts.keepaliveCountMax,
        log: this.log,
      });
      const fresh: Kept = { conn, streams: new Set() };
      conn.onClose((err) => {
        if (this.kept.get(host.id) === fresh) this.kept.delete(host.id);
        for (const s of fresh.streams) s.destroy(err);
      });
      this.kept.set(host.id, fresh);
      k = fresh;
    }
    const kept = k;
    const stream = await kept.conn.openStreamLocal(host.socketPath);
    kept.streams.add(stream);
    stream.once('close', () => kept.streams.delete(stream));
    return { stream, where: `${host.socketPath} on ${host.id}` };
  }

  release(hostId: string): void {
    const k = this.kept.get(hostId);
    if (!k) return;
    this.kept.delete(hostId);
    k.conn.close();
  }

  /** Closes every SSH connection (deactivate). */
  dispose(): void {
    for (const id of [...this.kept.keys()]) this.release(id);
  }
}
