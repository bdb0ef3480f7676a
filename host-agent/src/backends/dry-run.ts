// The `dry-run` backend: drives no replication at all. Every decision is
// still taken, recorded and broadcast, so the policy can be watched (and
// tuned) on a host before it is allowed to touch Remus or COLO.

import { DOMAIN_NAME } from '../protocol/api';
import type { ApplyResult, BackendCapabilities, BackendFault, ReplicationBackend } from './types';

export class DryRunBackend implements ReplicationBackend {
  readonly name = 'dry-run';
  readonly capabilities: BackendCapabilities = { liveIntervalChange: true, restartsReplication: false, minIntervalMs: 1, minChangeIntervalMs: 0 };
  private readonly intervals = new Map<string, number>();

  async setInterval(domain: string, intervalMs: number): Promise<ApplyResult> {
    if (!DOMAIN_NAME.test(domain)) throw new Error(`dry-run: refusing domain name ${JSON.stringify(domain)}`);
    this.intervals.set(domain, intervalMs);
    return { applied: true, intervalMs, note: 'dry-run: recorded only, no replication driven' };
  }

  current(domain: string): number | null {
    return this.intervals.get(domain) ?? null;
  }

  async release(domain: string): Promise<void> {
    this.intervals.delete(domain);
  }

  onFault(_listener: (f: BackendFault) => void): void {
    // never faults
  }

  async close(): Promise<void> {
    this.intervals.clear();
  }
}
