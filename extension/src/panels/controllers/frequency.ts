// Checkpoint frequency panel: the interval over time, from the audit log of
// decisions (decisions.list, in pages: a day of decisions with long reasons
// may be more than one message may carry) and then each decision.event; the current
// status (mode, pinned until) from the samples stream.

import type { AgentApi, Disposable } from '../../core/contract';
import type { Decision, ProtectionStatus } from '../../../../host-agent/src/protocol/api';
import { AgentPanel, subscribeSamples, type ControllerDeps, type LoadMode } from './base';
import { readPaged } from './history';
import { protectionOf, thresholdsOf } from './protection';

export const FREQUENCY_BACKFILL_MS = 24 * 3_600_000;
const DECISIONS_LIMIT = 5_000;

export class FrequencyPanel extends AgentPanel {
  private lastTs = 0;
  private lastStatus = '';

  constructor(deps: ControllerDeps) {
    super('frequency', deps);
  }

  protected async attach(api: AgentApi): Promise<Disposable[]> {
    const decisions = api.on('decision.event', (ev) => {
      if (ev.decision.domain === this.ref.domain) this.send([ev.decision]);
    });
    // Status changes (a pin expiring, fail-safe) ride on the samples stream.
    const samples = api.on('samples.event', (ev) => {
      if (ev.sample.domain === this.ref.domain) this.sendProtection(ev.protection, false);
    });
    return [decisions, samples, await subscribeSamples(api, this.ref.domain, this.deps.log)];
  }

  protected override newestShown(): number {
    return this.lastTs;
  }

  protected async load(api: AgentApi, mode: LoadMode): Promise<void> {
    const now = this.deps.now();
    const since = this.catchUpSince();
    const from = mode === 'full' || since === 0 ? now - FREQUENCY_BACKFILL_MS : since;
    const [decisions, status] = await Promise.all([
      readPaged(api, 'decisions.list', this.ref.domain, from, now, { maxRows: DECISIONS_LIMIT }),
      protectionOf(api, this.ref.domain),
    ]);
    this.send(decisions);
    this.sendProtection(status, true);
  }

  /** Adds decisions to the log (by id; `init` emptied it), never replaces it: see RiskPanel.send. */
  private send(decisions: Decision[]): void {
    for (const d of decisions) if (d.ts > this.lastTs) this.lastTs = d.ts;
    if (decisions.length) this.deps.post({ type: 'decisions', decisions });
  }

  /** Sent when it changed (samples arrive every second; the status rarely changes). */
  private sendProtection(status: ProtectionStatus | null, force: boolean): void {
    const key = JSON.stringify(status);
    if (!force && key === this.lastStatus) return;
    this.lastStatus = key;
    this.deps.post({ type: 'protection', status, thresholds: thresholdsOf(status) });
  }
}
