// The `qemu-colo` backend: QEMU COLO's checkpoint interval is the migration
// parameter `x-checkpoint-delay` (ms), which QEMU applies at once, also
// while COLO runs. It is set with QMP `migrate-set-parameters` through
// libvirt's QEMU monitor pass-through and confirmed by reading it back with
// `query-migrate-parameters`. QEMU forgets it when the domain's QEMU process
// restarts; the protection service re-applies it when a domain runs again.

import { LibvirtQemuMonitor } from '../libvirt/qemu-monitor';
import type { QemuMonitor } from '../libvirt/types';
import type { Logger } from '../log';
import { DOMAIN_NAME } from '../protocol/api';
import type { QemuColoConfig } from './config';
import type { ApplyResult, BackendCapabilities, BackendFault, ReplicationBackend } from './types';

/** QMP's x-checkpoint-delay is a uint32. */
const MAX_DELAY_MS = 0xffff_ffff;

export class QemuColoBackend implements ReplicationBackend {
  readonly name = 'qemu-colo';
  readonly capabilities: BackendCapabilities = { liveIntervalChange: true, restartsReplication: false, minIntervalMs: 1, minChangeIntervalMs: 0 };
  private readonly confirmed = new Map<string, number>();
  /** One QMP exchange per domain at a time, so a read-back never sees a later write. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly monitor: QemuMonitor, private readonly log: Logger, private readonly onClose: () => Promise<void> = async () => {}) {}

  /** Opens its own read-write libvirt connection to `cfg.uri`. */
  static async open(cfg: QemuColoConfig, log: Logger): Promise<QemuColoBackend> {
    const mon = await LibvirtQemuMonitor.open(cfg.uri);
    log.info(`qemu-colo: QEMU monitor pass-through on ${cfg.uri}`);
    return new QemuColoBackend(mon, log, () => mon.close());
  }

  setInterval(domain: string, intervalMs: number): Promise<ApplyResult> {
    return this.serial(domain, async () => {
      if (!DOMAIN_NAME.test(domain)) throw new Error(`qemu-colo: refusing domain name ${JSON.stringify(domain)}`);
      if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > MAX_DELAY_MS) {
        throw new Error(`qemu-colo: x-checkpoint-delay must be a whole number of ms in 1..${MAX_DELAY_MS}, got ${intervalMs}`);
      }
      await this.qmp(domain, 'migrate-set-parameters', { 'x-checkpoint-delay': intervalMs });
      const now = await this.readDelayNow(domain);
      if (now !== intervalMs) throw new Error(`qemu-colo ${domain}: QEMU reports x-checkpoint-delay ${now} ms after it was set to ${intervalMs} ms`);
      this.confirmed.set(domain, intervalMs);
      this.log.debug(`qemu-colo ${domain}: x-checkpoint-delay ${intervalMs} ms (read back)`);
      return { applied: true, intervalMs, note: `x-checkpoint-delay set and read back from QEMU` };
    });
  }

  /** QEMU's current x-checkpoint-delay of `domain`, ms. */
  readDelay(domain: string): Promise<number> {
    return this.serial(domain, () => this.readDelayNow(domain));
  }

  current(domain: string): number | null {
    return this.confirmed.get(domain) ?? null;
  }

  async release(domain: string): Promise<void> {
    this.confirmed.delete(domain);
  }

  onFault(_listener: (f: BackendFault) => void): void {
    // Failures surface in setInterval; QEMU's setting does not change behind our back.
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
    await this.onClose();
  }

  private async readDelayNow(domain: string): Promise<number> {
    const ret = await this.qmp(domain, 'query-migrate-parameters');
    const v = (ret as Record<string, unknown> | null)?.['x-checkpoint-delay'];
    if (typeof v !== 'number') throw new Error(`qemu-colo ${domain}: query-migrate-parameters has no x-checkpoint-delay (QEMU built without COLO?)`);
    return v;
  }

  /** One QMP command; a QMP error becomes an Error naming the command and QEMU's reason. */
  private async qmp(domain: string, execute: string, args?: Record<string, unknown>): Promise<unknown> {
    let text: string;
    try {
      text = await this.monitor.command(domain, JSON.stringify(args ? { execute, arguments: args } : { execute }));
    } catch (e) {
      throw new Error(`qemu-colo ${domain}: ${execute} failed: ${(e as Error).message}`);
    }
    let reply: { return?: unknown; error?: { class?: string; desc?: string } };
    try {
      reply = JSON.parse(text) as typeof reply;
    } catch {
      throw new Error(`qemu-colo ${domain}: ${execute}: unreadable QMP reply ${text.slice(0, 200)}`);
    }
    if (reply.error) throw new Error(`qemu-colo ${domain}: QEMU refused ${execute}: ${reply.error.class ?? 'Error'}: ${reply.error.desc ?? '(no description)'}`);
    return reply.return;
  }

  private serial<T>(domain: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(domain) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(domain, tail);
    void tail.then(() => {
      if (this.queues.get(domain) === tail) this.queues.delete(domain);
    });
    return next;
  }
}
