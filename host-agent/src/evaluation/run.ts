// Runs detectors over labelled traces and NAB corpora: fit on each trace's
// training part, score the whole trace causally, then sweep thresholds.
// Shared by `hefery-agent evaluate` and scripts/results.ts.

import { EwmaDetector, ThresholdDetector } from './baselines';
import { perTraceDetector, type CrossValidatedDetector } from './crossval';
import type { Detector } from './detector';
import { bestByF1, prCurve, sweep, type MetricOptions, type PrCurve, type ScoredTrace, type ThresholdMetrics } from './metrics';
import { nabFileScores, nabTrace, scoreCorpus, STANDARD_PROFILE, writeNabResults, type CostMatrix, type NabCorpusFile, type NabResult } from './nab';
import type { Trace } from './types';

/** Makes a fresh, unfitted detector (one per trace). */
export type DetectorFactory = () => Detector;

export const BASELINES: Record<string, DetectorFactory> = {
  threshold: () => new ThresholdDetector(),
  'threshold-binary': () => new ThresholdDetector({ mode: 'binary' }),
  ewma: () => new EwmaDetector(),
};

/** Detector names -> factories; "hmm" is loaded from hmmDetector.ts (it needs the HMM modules). */
export async function detectorFactories(names: readonly string[]): Promise<Map<string, DetectorFactory>> {
  const out = new Map<string, DetectorFactory>();
  for (const n of names) {
    if (n === 'hmm') {
      const { hmmDetectorFactory } = await import('./hmmDetector');
      out.set(n, await hmmDetectorFactory());
    } else if (Object.prototype.hasOwnProperty.call(BASELINES, n)) out.set(n, BASELINES[n]);
    else throw new Error(`unknown detector "${n}" (known: hmm, ${Object.keys(BASELINES).join(', ')})`);
  }
  return out;
}

/**
 * Detector names -> candidates for the held-out protocol (crossval.ts):
 * "hmm" (the agent's configuration), "hmm-select" (the HMM variants, chosen
 * per fold on the training folds), "hmm-uncalibrated" (the agent's models
 * read without their calibration), and the baselines (fitted on each trace's
 * own training part; only their threshold is learnt from the other traces).
 */
export async function crossValidatedDetectors(names: readonly string[]): Promise<Map<string, CrossValidatedDetector[]>> {
  const out = new Map<string, CrossValidatedDetector[]>();
  const { crossValidatedHmm, hmmCandidates } = await import('./hmmDetector');
  // One cache of fold models for all three: "hmm" is hmm-select's first candidate, trained once.
  const cache = new Map();
  const hmm = hmmCandidates({}, cache);
  for (const n of names) {
    if (n === 'hmm-uncalibrated') out.set(n, [crossValidatedHmm({ name: n, cache, uncalibrated: true, train: { thresholdsFrom: 'all' } })]);
    else if (n === 'hmm' || n === 'hmm-select') {
      out.set(n, n === 'hmm' ? hmm.slice(0, 1) : hmm);
    } else if (Object.prototype.hasOwnProperty.call(BASELINES, n)) out.set(n, [perTraceDetector(n, BASELINES[n])]);
    else throw new Error(`unknown detector "${n}" (known: hmm, hmm-select, hmm-uncalibrated, ${Object.keys(BASELINES).join(', ')})`);
  }
  return out;
}

/** Fits a fresh detector on the trace's training rows and scores all its rows. */
export function scoreTrace(factory: DetectorFactory, trace: Trace): ScoredTrace {
  const d = factory();
  d.fit(trace.rows.slice(0, trace.trainUntil ?? 0));
  const scores = d.score(trace.rows);
  if (scores.length !== trace.rows.length) throw new Error(`detector ${d.name} gave ${scores.length} scores for ${trace.rows.length} rows of ${trace.name}`);
  scores.forEach((s, i) => {
    if (!(s >= 0 && s <= 1)) throw new Error(`detector ${d.name} gave score ${s} (outside [0, 1]) at row ${i} of ${trace.name}`);
  });
  return { trace, scores };
}

export interface DetectorReport {
  detector: string;
  sweep: ThresholdMetrics[];
  best: ThresholdMetrics | null;
  pr: PrCurve;
  nab?: NabResult;
  scored: ScoredTrace[];
  seconds: number;
}

export function evaluateTraces(name: string, factory: DetectorFactory, traces: readonly Trace[], thresholds: readonly number[], opts?: MetricOptions): DetectorReport {
  const t0 = performance.now();
  const scored = traces.map((t) => scoreTrace(factory, t));
  const rows = sweep(scored, thresholds, opts);
  return { detector: name, sweep: rows, best: bestByF1(rows), pr: prCurve(rows), scored, seconds: (performance.now() - t0) / 1000 };
}

export interface NabRunOptions extends MetricOptions {
  thresholds: readonly number[];
  /** Where to write NAB results files (<dir>/<detector>/<category>/<detector>_<file>.csv). */
  outDir?: string;
  cost?: CostMatrix;
}

/** Evaluates a detector on a NAB corpus: prediction metrics plus the NAB score (standard profile unless cost given). */
export function evaluateNab(name: string, factory: DetectorFactory, corpus: readonly NabCorpusFile[], o: NabRunOptions): DetectorReport & { nab: NabResult; written: string[] } {
  const traces = corpus.map((f) => nabTrace(f.series, f.windows, f.category));
  const report = evaluateTraces(name, factory, traces, o.thresholds, o);
  const nab = scoreCorpus(corpus.map((f, i) => nabFileScores(f, report.scored[i].scores)), o.cost ?? STANDARD_PROFILE);
  const written: string[] = [];
  if (o.outDir) corpus.forEach((f, i) => written.push(writeNabResults(o.outDir as string, name, f.category, f.series, report.scored[i].scores, f.windows)));
  return { ...report, nab, written };
}
