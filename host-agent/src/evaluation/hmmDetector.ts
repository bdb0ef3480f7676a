// Adapter: Hefery's HMM risk predictor as an evaluation Detector.
//
// The predictor side is the contract in predictor/types.ts (RiskPredictor:
// observe(sample) -> Risk | null, causal by construction). What is missing is
// training: an HmmBackend turns training samples into a maker of fresh
// predictors. fit() trains; score() feeds every row, in order, to a fresh
// predictor and returns risk.next (P(abnormal or failed at t+1)).
//
// The backend used by `hefery-agent evaluate` and scripts/results.ts is the
// agent's own: trainModel (hmm/train.ts) on the training rows, unsupervised
// (a detector's fit() sees no labels), and the live HmmPredictor (forward
// filter) over every row: the same code path as the daemon's.

import type { Sample } from '../protocol/api';
import type { RiskPredictor } from '../predictor/types';
import { trainModel, type TrainOptions } from '../hmm/train';
import { HmmPredictor, type PredictorOptions } from '../predictor/hmmPredictor';
import { clamp01, type Detector, type Row } from './detector';
import type { DetectorFactory } from './run';

export interface HmmBackend {
  /** Trains on the training samples (in time order); returns a maker of fresh, untrained-state predictors. */
  train(samples: Sample[]): () => RiskPredictor;
}

/**
 * A trace row as the agent's Sample: cpu/mem as percent (clamped to 0..100,
 * as the sampler gives them), net as netRxBps (netTxBps 0: traces carry rx + tx
 * together), disk as diskWrBps (diskRdBps 0). Missing metrics are null.
 */
export function rowToSample(row: Row, domain = 'trace'): Sample {
  const v = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const pct = (x: number | null) => (x === null ? null : Math.min(100, Math.max(0, x)));
  const rate = (x: number | null) => (x === null ? null : Math.max(0, x));
  const net = rate(v(row.net));
  const disk = rate(v(row.disk));
  return {
    domain,
    ts: Math.max(0, Math.round(row.ts)),
    state: 'running',
    cpuPct: pct(v(row.cpu)),
    memPct: pct(v(row.mem)),
    netRxBps: net,
    netTxBps: net === null ? null : 0,
    diskRdBps: disk === null ? null : 0,
    diskWrBps: disk,
  };
}

export class HmmDetector implements Detector {
  readonly name: string;
  private make: (() => RiskPredictor) | null = null;
  /** Rows of the last score() call for which the predictor gave no risk (the previous score was held). */
  unknownRows = 0;

  constructor(private readonly backend: HmmBackend, name = 'hmm') {
    this.name = name;
  }

  fit(trainRows: readonly Row[]): void {
    this.make = this.backend.train(trainRows.map((r) => rowToSample(r)));
  }

  score(rows: readonly Row[]): number[] {
    if (!this.make) throw new Error('hmm detector: score() before fit()');
    const p = this.make();
    let prev = 0;
    this.unknownRows = 0;
    return rows.map((r) => {
      const risk = p.observe(rowToSample(r));
      if (risk === null) this.unknownRows++;
      else prev = clamp01(risk.next);
      return prev;
    });
  }
}

/** The agent's training and live predictor as an HmmBackend. */
export function agentHmmBackend(train: TrainOptions = {}, predict: PredictorOptions = {}): HmmBackend {
  return {
    train(samples) {
      const { model } = trainModel([{ domain: samples[0]?.domain ?? 'trace', samples }], train);
      return () => new HmmPredictor(model, predict);
    },
  };
}

export async function hmmDetectorFactory(train: TrainOptions = {}, predict: PredictorOptions = {}): Promise<DetectorFactory> {
  const backend = agentHmmBackend(train, predict);
  return () => new HmmDetector(backend);
}
