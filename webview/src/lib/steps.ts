// The checkpoint frequency panel's data: the audit log of decisions (one
// per id, in time order) and the interval in force over time as a step
// series, with the overrides (pins) marked.

import type { Decision, ProtectionStatus } from '../../../host-agent/src/protocol/api';

export class DecisionLog {
  private byId = new Map<number, Decision>();
  private sorted: Decision[] | undefined;

  get size(): number {
    return this.byId.size;
  }

  clear(): void {
    this.byId.clear();
    this.sorted = undefined;
  }

  /** Adds decisions (a decision seen twice is kept once); returns how many were new. */
  add(decisions: readonly Decision[]): number {
    let added = 0;
    for (const d of decisions) {
      if (!this.byId.has(d.id)) added++;
      this.byId.set(d.id, d);
    }
    this.sorted = undefined;
    return added;
  }

  /** Oldest first; ties by id (the agent's order). */
  get all(): readonly Decision[] {
    this.sorted ??= [...this.byId.values()].sort((a, b) => a.ts - b.ts || a.id - b.id);
    return this.sorted;
  }
}

export interface StepSeries {
  /** Seconds (uPlot's unit). */
  xs: number[];
  /** Interval in ms in force from xs[i] on; null: no replication interval (unprotected). */
  intervals: Array<number | null>;
  /** The interval where an override (pin) took effect, null elsewhere: drawn as markers. */
  pins: Array<number | null>;
}

/**
 * The interval in force from each decision on, extended to `now` so the last
 * step has a width. Only applied decisions change the interval. When the log
 * is empty the current status (if any) is drawn flat over the window.
 */
export function intervalSteps(decisions: readonly Decision[], status: ProtectionStatus | null, now: number, windowStart: number): StepSeries {
  const out: StepSeries = { xs: [], intervals: [], pins: [] };
  const push = (ts: number, v: number | null, pin: boolean) => {
    out.xs.push(ts / 1000);
    out.intervals.push(v);
    out.pins.push(pin ? v : null);
  };
  const applied = decisions.filter((d) => d.applied);
  if (applied.length === 0) {
    if (status && status.intervalMs !== null) {
      push(windowStart, status.intervalMs, false);
      push(now, status.intervalMs, false);
    }
    return out;
  }
  const first = applied[0];
  if (first.oldIntervalMs !== null && first.ts > windowStart) push(windowStart, first.oldIntervalMs, false);
  for (const d of applied) {
    const ts = Math.max(d.ts, windowStart);
    if (out.xs.length && out.xs[out.xs.length - 1] === ts / 1000) {
      // Two decisions in the same millisecond: the later one is in force.
      out.intervals[out.intervals.length - 1] = d.newIntervalMs;
      out.pins[out.pins.length - 1] = d.kind === 'override' ? d.newIntervalMs : null;
    } else push(ts, d.newIntervalMs, d.kind === 'override');
  }
  const lastTs = applied[applied.length - 1].ts;
  if (now > lastTs) push(now, out.intervals[out.intervals.length - 1], false);
  return out;
}

/** "pinned until 13:05", "automatic"... for the status line. */
export function describeMode(status: ProtectionStatus | null, fmtTime: (ts: number) => string): string {
  if (!status) return 'not protected by the agent';
  switch (status.mode) {
    case 'auto':
      return 'automatic';
    case 'pinned':
      return status.pinnedUntil ? `pinned until ${fmtTime(status.pinnedUntil)}` : 'pinned until resumed';
    case 'failsafe':
      return 'fail-safe (shortest interval)';
    case 'unprotected':
      return 'unprotected';
  }
}
