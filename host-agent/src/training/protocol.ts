// Messages between the training service (daemon thread) and its worker.
import type { Sample } from '../protocol/api';
import type { HmmModel } from '../hmm/model';
import type { KnownIncident, TrainOptions } from '../hmm/train';

/** Options that cross the thread boundary (no callbacks). */
export type WorkerTrainOptions = Omit<TrainOptions, 'onProgress' | 'shouldStop'>;

export interface WorkerJob {
  jobId: string;
  domains: string[];
  from: number;
  to: number;
  /** Where the samples come from: the store file (read by the worker itself) or given. */
  source: { kind: 'store'; path: string } | { kind: 'samples'; samples: Record<string, Sample[]> };
  incidents: Record<string, KnownIncident[]>;
  options: WorkerTrainOptions;
  /** Int32[0] = 1 asks the worker to stop at the next iteration. */
  cancel: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'progress'; restart: number; restarts: number; iteration: number; logLikelihood: number }
  | { type: 'done'; model: HmmModel }
  | { type: 'failed'; error: string; cancelled: boolean };

/**
 * Passes on at most one progress report per `ms` (plus the first iteration of
 * every restart, preceded by the last unsent one of the restart before);
 * flush() sends what is still pending. A small data set trains hundreds of
 * iterations a second: this keeps clients and terminals readable.
 */
export function throttleProgress<P extends { iteration: number }>(send: (p: P) => void, ms = 50, now: () => number = Date.now): { report(p: P): void; flush(): void } {
  let last = -Infinity;
  let pending: P | null = null;
  return {
    report(p) {
      const t = now();
      if (p.iteration === 0 && pending) send(pending);
      if (p.iteration === 0 || t - last >= ms) {
        send(p);
        last = t;
        pending = null;
      } else pending = p;
    },
    flush() {
      if (pending) send(pending);
      pending = null;
    },
  };
}
