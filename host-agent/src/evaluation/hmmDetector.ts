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
import type { HmmModel } from '../hmm/model';
import type { RiskPredictor } from '../predictor/types';
import { trainModel, type KnownIncident, type TrainingSeries, type TrainOptions } from '../hmm/train';
import { HmmPredictor, type PredictorOptions } from '../predictor/hmmPredictor';
import type { CrossValidatedDetector } from './crossval';
import { clamp01, type Detector, type Row } from './detector';
import type { DetectorFactory } from './run';
import type { FaultWindow } from './types';

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

/**
 * Fault windows as the incidents the agent would have stored:
 * [start, failure) abnormal, [failure, end] failed (no failure: all abnormal).
 */
export function windowIncidents(windows: readonly FaultWindow[]): KnownIncident[] {
  const out: KnownIncident[] = [];
  for (const w of windows) {
    if (w.failure === undefined) out.push({ from: w.start, to: w.end, health: 'abnormal' });
    else {
      if (w.failure > w.start) out.push({ from: w.start, to: w.failure - 1, health: 'abnormal' });
      out.push({ from: w.failure, to: w.end, health: 'failed' });
    }
  }
  return out;
}

/** Scores rows with a fresh predictor: risk.next, the previous score held where it gives none. */
function scoreWith(p: RiskPredictor, rows: readonly Row[], unknown: { rows: number }, pick: 'next' | 'horizon' = 'next'): number[] {
  let prev = 0;
  unknown.rows = 0;
  return rows.map((r) => {
    const risk = p.observe(rowToSample(r));
    if (risk === null) unknown.rows++;
    else prev = clamp01(pick === 'horizon' ? (risk.horizon ?? risk.next) : risk.next);
    return prev;
  });
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
    const unknown = { rows: 0 };
    const scores = scoreWith(this.make(), rows, unknown);
    this.unknownRows = unknown.rows;
    return scores;
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

/** Which risk the detector scores with: the next step's (the policy's input) or the k-step horizon's. */
export type HmmScore = 'next' | 'horizon';

/** Trained fold models shared by the variants of one evaluation (same training options and fold: one training). */
export type FoldModelCache = Map<string, HmmModel>;

/**
 * The HMM under the held-out protocol (crossval.ts), trained as the agent
 * trains: the fold's labelled traces with their fault windows as incidents
 * (one series each), plus the scored traces' unlabelled training parts
 * (series without incidents), pooled into one model; scored by the live
 * predictor.
 */
export function crossValidatedHmm(o: { train?: TrainOptions; predict?: PredictorOptions; score?: HmmScore; name?: string; cache?: FoldModelCache; uncalibrated?: boolean } = {}): CrossValidatedDetector {
  const train = o.train ?? {};
  const pick = o.score ?? 'next';
  return {
    name: o.name ?? 'hmm',
    train(fold) {
      const key = JSON.stringify([train, fold.labelled.map((t) => t.name), fold.unlabelled.map((r) => [r.length, r[0]?.ts ?? 0])]);
      let model = o.cache?.get(key);
      if (!model) {
        const series: TrainingSeries[] = [
          ...fold.labelled.map((t) => ({ domain: 'trace', samples: t.rows.map((r) => rowToSample(r)), incidents: windowIncidents(t.windows) })),
          ...fold.unlabelled.filter((rows) => rows.length > 0).map((rows) => ({ domain: 'trace', samples: rows.map((r) => rowToSample(r)) })),
        ];
        model = trainModel(series, train).model;
        o.cache?.set(key, model);
      }
      // uncalibrated: the same trained model, its risk read before the Platt map (for comparison)
      const m: HmmModel = o.uncalibrated ? { ...model, calibration: undefined } : model;
      return { score: (rows) => scoreWith(new HmmPredictor(m, o.predict), rows, { rows: 0 }, pick) };
    },
  };
}

/**
 * The HMM variants the held-out protocol chooses among on its training folds
 * (crossval.ts, several candidates): where the discretization thresholds are
 * learnt (all samples, or the healthy ones only), and which risk is scored
 * (next step, or the k-step horizon). The first is the agent's default
 * configuration, named "hmm".
 */
export function hmmCandidates(base: { train?: TrainOptions; predict?: PredictorOptions } = {}, cache: FoldModelCache = new Map()): CrossValidatedDetector[] {
  const out: CrossValidatedDetector[] = [];
  for (const thresholdsFrom of ['all', 'healthy'] as const) {
    for (const score of ['next', 'horizon'] as const) {
      const name = ['hmm', thresholdsFrom === 'all' ? '' : 'healthy-thresholds', score === 'next' ? '' : 'horizon'].filter(Boolean).join('/');
      out.push(crossValidatedHmm({ train: { ...base.train, thresholdsFrom }, predict: base.predict, score, name, cache }));
    }
  }
  return out;
}
