// Live risk panel: the domain's risk and raw metrics over time. Backfilled
// from samples.history (in pages: 30 minutes at fast sampling is more than
// one message may carry), then fed by samples.event; after a reconnect it
// asks for the history since its last point, so nothing is lost (the webview
// drops duplicates by timestamp).

import type { AgentApi, Disposable } from '../../core/contract';
import type { ProtectionStatus } from '../../../../host-agent/src/protocol/api';
import type { SamplePoint } from '../../../../webview/src/shared/messages';
import { AgentPanel, subscribeSamples, type ControllerDeps, type LoadMode } from './base';
import { readPaged } from './history';
import { protectionOf, thresholdsOf } from './protection';

/** How much history a freshly opened panel shows. */
export const RISK_BACKFILL_MS = 30 * 60_000;
/** At most this many points per load (30 minutes at the fastest sampling, 100 ms, is 18 000). */
const HISTORY_LIMIT = 20_000;

export class RiskPanel extends AgentPanel {
  /** Timestamp of the newest point sent, for the catch-up after a reconnect. */
  private lastTs = 0;

  constructor(deps: ControllerDeps) {
    super('risk', deps);
  }

  protected async attach(api: AgentApi): Promise<Disposable[]> {
    const events = api.on('samples.event', (ev) => {
      if (ev.sample.domain !== this.ref.domain) return;
      this.send([{ sample: ev.sample, risk: ev.risk ? ev.risk.next : null }]);
      if (ev.protection) this.sendProtection(ev.protection);
    });
    return [events, await subscribeSamples(api, this.ref.domain, this.deps.log)];
  }

  protected override newestShown(): number {
    return this.lastTs;
  }

  protected async load(api: AgentApi, mode: LoadMode): Promise<void> {
    const now = this.deps.now();
    const since = this.catchUpSince();
    const from = mode === 'full' || since === 0 ? now - RISK_BACKFILL_MS : since + 1;
    const [rows, status] = await Promise.all([
      readPaged(api, 'samples.history', this.ref.domain, from, now, { maxRows: HISTORY_LIMIT }),
      protectionOf(api, this.ref.domain),
    ]);
    this.send(rows);
    this.sendProtection(status);
  }

  /**
   * Adds points to the chart. Never a replacement: live points arrive while
   * the backfill is on its way (the subscription comes first), and the
   * webview was emptied by `init` before either.
   */
  private send(points: SamplePoint[]): void {
    for (const p of points) if (p.sample.ts > this.lastTs) this.lastTs = p.sample.ts;
    if (points.length) this.deps.post({ type: 'samples', points });
  }

  private sendProtection(status: ProtectionStatus | null): void {
    this.deps.post({ type: 'protection', status, thresholds: thresholdsOf(status) });
  }
}
