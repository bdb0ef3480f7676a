// StatsSource over Hefery's libvirt addon: one bulk virConnectGetAllDomainStats
// per collection (or the per-domain calls for drivers without it), events
// through the addon's event thread, reconnection after libvirtd went away.

import { performance } from 'node:perf_hooks';
import { isLibvirtError, loadAddon, VIR_ERR_NO_SUPPORT, type NativeConnection, type NativeEvent, type NativeStatsRecord } from './native';
import { toDomainEvent } from './events';
import { toRawStats } from './raw-stats';
import type { DomainEvent, RawDomainStats, StatsSource } from './types';

/** libvirt-domain.h: report the statistics that can be had without blocking. */
export const VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT = 1 << 29;

export type StatsMode = 'auto' | 'bulk' | 'per-domain';

export interface LibvirtStatsSourceOptions {
  /** 'auto' (default): bulk call, falling back to per-domain calls when the driver lacks it. */
  mode?: StatsMode;
  /** Open read-only (enough for stats and events). Default false. */
  readOnly?: boolean;
}

export class LibvirtStatsSource implements StatsSource {
  private listeners: Array<(ev: DomainEvent) => void> = [];
  private lost = false;
  private closed = false;
  private bulk: boolean;

  private constructor(
    readonly uri: string,
    private conn: NativeConnection,
    private readonly opts: LibvirtStatsSourceOptions,
  ) {
    this.bulk = (opts.mode ?? 'auto') !== 'per-domain';
  }

  /** Connects to `uri` (e.g. qemu:///system, xen:///system); rejects with libvirt's reason. */
  static async open(uri: string, opts: LibvirtStatsSourceOptions = {}): Promise<LibvirtStatsSource> {
    if (typeof uri !== 'string' || uri.trim() === '') throw new TypeError('libvirt URI must be a non-empty string');
    const conn = await loadAddon().open(uri, opts.readOnly ?? false);
    const src = new LibvirtStatsSource(uri, conn, opts);
    try {
      await conn.listen((ev) => src.dispatch(ev, conn));
    } catch (e) {
      await conn.close().catch(() => undefined);
      throw e;
    }
    return src;
  }

  /** 'bulk' or 'per-domain': which path the next collection uses. */
  get mode(): 'bulk' | 'per-domain' {
    return this.bulk ? 'bulk' : 'per-domain';
  }

  /** The underlying connection, for a QEMU monitor sharing it. */
  get connection(): NativeConnection {
    return this.conn;
  }

  onEvent(listener: (ev: DomainEvent) => void): void {
    this.listeners.push(listener);
  }

  async collect(): Promise<RawDomainStats[]> {
    if (this.closed) throw new Error('libvirt stats source is closed');
    if (this.lost || !this.conn.isAlive()) await this.reconnect();
    let records: NativeStatsRecord[];
    try {
      records = await this.fetch();
    } catch (first) {
      // A guest destroyed while the bulk call read its monitor fails the whole call
      // ("Unable to read from monitor"); at once again, that guest is simply gone. Only a
      // second failure makes stats unavailable (fail-safe for every protected domain).
      try {
        if (!this.conn.isAlive()) throw first;
        records = await this.fetch();
      } catch (e) {
        if (!this.conn.isAlive()) this.markLost('error');
        throw new Error(`libvirt stats collection on ${this.uri} failed: ${(e as Error).message}`);
      }
    }
    const ts = Date.now();
    const mono = performance.now();
    return records.map((r) => toRawStats(r, ts, mono));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.close();
  }

  private async fetch(): Promise<NativeStatsRecord[]> {
    if (!this.bulk) return this.conn.getDomainStatsLegacy();
    try {
      // NOWAIT: a domain whose QEMU monitor is busy (a stuck guest, a long
      // job) gives what it can at once instead of holding up every domain's
      // sample; what it could not give stays absent and becomes null, never invented.
      return await this.conn.getAllDomainStats(0, VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
    } catch (e) {
      if ((this.opts.mode ?? 'auto') === 'auto' && isLibvirtError(e) && e.code === VIR_ERR_NO_SUPPORT) {
        this.bulk = false;
        return this.conn.getDomainStatsLegacy();
      }
      throw e;
    }
  }

  private async reconnect(): Promise<void> {
    this.markLost('dead');
    await this.conn.close().catch(() => undefined);
    let conn: NativeConnection;
    try {
      conn = await loadAddon().open(this.uri, this.opts.readOnly ?? false);
    } catch (e) {
      throw new Error(`libvirt connection to ${this.uri} is lost and cannot be reopened: ${(e as Error).message}`);
    }
    try {
      await conn.listen((ev) => this.dispatch(ev, conn));
    } catch (e) {
      await conn.close().catch(() => undefined);
      throw new Error(`libvirt connection to ${this.uri} reopened but events failed: ${(e as Error).message}`);
    }
    if (this.closed) {
      await conn.close();
      throw new Error('libvirt stats source is closed');
    }
    this.conn = conn;
    this.lost = false;
    this.emit({ domain: '', uuid: '', kind: 'reconnected', detail: this.uri, ts: Date.now() });
  }

  private markLost(detail: string): void {
    if (this.lost) return;
    this.lost = true;
    this.emit({ domain: '', uuid: '', kind: 'disconnected', detail, ts: Date.now() });
  }

  private dispatch(raw: NativeEvent, from: NativeConnection): void {
    if (from !== this.conn) return; // a late event of a replaced connection
    if (raw.type === 'close') {
      this.markLost(toDomainEvent(raw, Date.now())?.detail ?? 'closed');
      return;
    }
    const ev = toDomainEvent(raw, Date.now());
    if (ev) this.emit(ev);
  }

  private emit(ev: DomainEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // a listener's bug must not stop the others nor the event thread
      }
    }
  }
}
