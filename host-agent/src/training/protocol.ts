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
