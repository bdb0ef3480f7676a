// QemuMonitor over libvirt-qemu's virDomainQemuMonitorCommand (QMP pass-through).

import { loadAddon, type NativeConnection } from './native';
import type { QemuMonitor } from './types';

export class LibvirtQemuMonitor implements QemuMonitor {
  private reopening: Promise<NativeConnection> | null = null;

  /**
   * Use an open connection (e.g. LibvirtStatsSource.connection); closing it stays with its owner.
   * With `reopen` (an owned connection) a connection that died (libvirtd restarted) is replaced
   * before the next command instead of failing every command from then on.
   */
  constructor(private conn: NativeConnection, private readonly owned = false, private readonly reopen?: () => Promise<NativeConnection>) {}

  /** Opens a read-write connection of its own, reopened after libvirtd went away; close() closes it. */
  static async open(uri: string): Promise<LibvirtQemuMonitor> {
    if (typeof uri !== 'string' || uri.trim() === '') throw new TypeError('libvirt URI must be a non-empty string');
    const openConn = () => loadAddon().open(uri, false);
    return new LibvirtQemuMonitor(await openConn(), true, async () => {
      try {
        return await openConn();
      } catch (e) {
        throw new Error(`libvirt connection to ${uri} is lost and cannot be reopened: ${(e as Error).message}`);
      }
    });
  }

  async command(domain: string, qmpJson: string): Promise<string> {
    if (typeof domain !== 'string' || domain === '') throw new TypeError('QEMU monitor: domain name must be a non-empty string');
    let parsed: unknown;
    try {
      parsed = JSON.parse(qmpJson);
    } catch {
      throw new TypeError(`QEMU monitor: command is not valid JSON: ${String(qmpJson).slice(0, 80)}`);
    }
    if (!parsed || typeof parsed !== 'object' || typeof (parsed as { execute?: unknown }).execute !== 'string') {
      throw new TypeError('QEMU monitor: command must be a QMP object with an "execute" string');
    }
    return (await this.connection()).qemuMonitorCommand(domain, qmpJson);
  }

  async close(): Promise<void> {
    await this.reopening?.catch(() => undefined);
    if (this.owned) await this.conn.close();
  }

  /** The live connection; a dead owned one is replaced first (one reopen at a time). */
  private async connection(): Promise<NativeConnection> {
    if (!this.reopen || this.conn.isAlive()) return this.conn;
    if (!this.reopening) {
      const dead = this.conn;
      this.reopening = this.reopen().then((fresh) => {
        this.conn = fresh;
        void dead.close().catch(() => undefined);
        return fresh;
      }).finally(() => {
        this.reopening = null;
      });
    }
    return this.reopening;
  }
}
