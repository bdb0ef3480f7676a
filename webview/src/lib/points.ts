// The live risk panel's data: sample points kept in time order, one per
// timestamp (a point that arrives twice, from the backfill and the stream or
// across a reconnect, is kept once), bounded to a time window.

import type { SamplePoint } from '../shared/messages';

export class PointSeries {
  private points: SamplePoint[] = [];

  constructor(private readonly windowMs: number) {}

  get size(): number {
    return this.points.length;
  }

  get all(): readonly SamplePoint[] {
    return this.points;
  }

  get newestTs(): number | undefined {
    return this.points.length ? this.points[this.points.length - 1].sample.ts : undefined;
  }

  clear(): void {
    this.points = [];
  }

  /**
   * Adds points in any order; a timestamp already present is replaced by the
   * newer copy (same sample, perhaps with the risk filled in). Returns how
   * many new timestamps were added.
   */
  add(incoming: readonly SamplePoint[]): number {
    let added = 0;
    for (const p of incoming) {
      const ts = p.sample.ts;
      const last = this.points.length ? this.points[this.points.length - 1].sample.ts : -Infinity;
      if (ts > last) {
        this.points.push(p); // the common case: the stream appends
        added++;
        continue;
      }
      const i = lowerBound(this.points, ts);
      if (i < this.points.length && this.points[i].sample.ts === ts) this.points[i] = p;
      else {
        this.points.splice(i, 0, p);
        added++;
      }
    }
    this.trim();
    return added;
  }

  /** Drops points older than the window before the newest one. */
  private trim(): void {
    const newest = this.newestTs;
    if (newest === undefined) return;
    const cut = lowerBound(this.points, newest - this.windowMs);
    if (cut > 0) this.points.splice(0, cut);
  }
}

function lowerBound(points: readonly SamplePoint[], ts: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid].sample.ts < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Columns for a chart: x in seconds (uPlot's time unit), then one column per metric. */
export type Columns = [number[], ...Array<Array<number | null>>];

export function riskColumns(points: readonly SamplePoint[]): Columns {
  return [points.map((p) => p.sample.ts / 1000), points.map((p) => p.risk)];
}

/** CPU %, memory %, network (rx+tx) and disk (read+write) in bytes/s. */
export function metricColumns(points: readonly SamplePoint[]): Columns {
  const sum = (a: number | null, b: number | null) => (a === null && b === null ? null : (a ?? 0) + (b ?? 0));
  return [
    points.map((p) => p.sample.ts / 1000),
    points.map((p) => p.sample.cpuPct),
    points.map((p) => p.sample.memPct),
    points.map((p) => sum(p.sample.netRxBps, p.sample.netTxBps)),
    points.map((p) => sum(p.sample.diskRdBps, p.sample.diskWrBps)),
  ];
}

/** Values that are drawn (not null) in the y columns. */
export function drawnValues(cols: Columns): number {
  let n = 0;
  for (let c = 1; c < cols.length; c++) for (const v of cols[c]) if (v !== null) n++;
  return n;
}
