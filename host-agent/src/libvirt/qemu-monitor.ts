// QemuMonitor over libvirt-qemu's virDomainQemuMonitorCommand (QMP pass-through).

import { loadAddon, type NativeConnection } from './native';
import type { QemuMonitor } from './types';

export class LibvirtQemuMonitor implements QemuMonitor {
  /** Use an open connection (e.g. LibvirtStatsSource.connection); closing it stays with its owner. */
  constructor(private readonly conn: NativeConnection, private readonly owned = false) {}

  /** Opens a read-write connection of its own; close() closes it. */
  static async open(uri: string): Promise<LibvirtQemuMonitor> {
    if (typeof uri !== 'string' || uri.trim() === '') throw new TypeError('libvirt URI must be a non-empty string');
    return new LibvirtQemuMonitor(await loadAddon().open(uri, false), true);
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
    return this.conn.qemuMonitorCommand(domain, qmpJson);
  }

  async close(): Promise<void> {
    if (this.owned) await this.conn.close();
  }
}
