// The training panel's data: the log-likelihood per iteration of each
// restart of a job, as chart columns (x: iteration; one series per restart,
// null where a restart has no value at that iteration).

import type { TrainProgress } from '../../../host-agent/src/protocol/api';

export class TrainingCurves {
  /** restart -> iteration -> log-likelihood */
  private curves = new Map<number, Map<number, number>>();
  restarts = 0;

  clear(restarts = 0): void {
    this.curves.clear();
    this.restarts = restarts;
  }

  add(p: TrainProgress): void {
    this.restarts = Math.max(this.restarts, p.restarts);
    let c = this.curves.get(p.restart);
    if (!c) this.curves.set(p.restart, (c = new Map()));
    c.set(p.iteration, p.logLikelihood);
  }

  get points(): number {
    let n = 0;
    for (const c of this.curves.values()) n += c.size;
    return n;
  }

  /** Restart numbers seen, ascending. */
  get restartIds(): number[] {
    return [...this.curves.keys()].sort((a, b) => a - b);
  }

  /** [iterations, ll of restart r0, ll of r1, ...] */
  columns(): [number[], ...Array<Array<number | null>>] {
    const iters = new Set<number>();
    for (const c of this.curves.values()) for (const i of c.keys()) iters.add(i);
    const xs = [...iters].sort((a, b) => a - b);
    const series = this.restartIds.map((r) => {
      const c = this.curves.get(r)!;
      return xs.map((i) => c.get(i) ?? null);
    });
    return [xs, ...series];
  }

  /** The best (highest) final log-likelihood and its restart, for the summary. */
  best(): { restart: number; logLikelihood: number; iterations: number } | undefined {
    let best: { restart: number; logLikelihood: number; iterations: number } | undefined;
    for (const [restart, c] of this.curves) {
      const last = Math.max(...c.keys());
      const ll = c.get(last)!;
      if (!best || ll > best.logLikelihood) best = { restart, logLikelihood: ll, iterations: last };
    }
    return best;
  }
}
