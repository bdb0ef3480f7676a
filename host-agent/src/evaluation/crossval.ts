// Cross-validated evaluation of labelled traces: no detector ever sees the
// labels of the trace it is scored on, and the alarm threshold it is scored
// at is chosen on other traces only. docs/evaluation.md ("Held-out
// protocol") states it in full; in short:
//
// Traces are split into groups: one trace per group (leave-one-trace-out,
// 'loo') or one fault kind per group (leave-one-kind-out, 'kind': the model
// never saw that kind of fault). For each group G:
//
// - Outer model: trained on every trace outside G, with its fault windows as
//   labels (as the agent trains after seeing those failures), plus the
//   *unlabelled* training parts of G's traces (the domain's own normal
//   history). It scores G's traces causally.
// - Threshold θ_G: the best-F1 threshold on scores that G never influenced:
//   for every other group G', a model trained on the traces outside G and G'
//   (labelled) plus the unlabelled training parts of G and G' scores G''s
//   traces; θ_G is chosen on all of those (nested cross-validation). One
//   such inner model serves the pair {G, G'} both ways.
//
// The held-out result pools every trace's counts at its group's θ. Beside
// it the same held-out scores are swept in-sample (best threshold chosen on
// the scored traces themselves), for comparison with the plain evaluation.
//
// Detectors that learn nothing from other traces (the baselines: fitted on
// the scored trace's own training part) go through the same protocol: only
// their threshold is learnt from the other traces.

import type { Detector, Row } from './detector';
import { bestByF1, evaluateEach, prCurve, sweep, type MetricOptions, type PrCurve, type ScoredTrace, type ThresholdMetrics } from './metrics';
import type { Trace } from './types';

export const PROTOCOLS = ['loo', 'kind'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const PROTOCOL_NAMES: Record<Protocol, string> = { loo: 'leave-one-trace-out', kind: 'leave-one-fault-kind-out' };

/** What a fold's model may learn from. */
export interface FoldData {
  /** Whole traces with their fault windows: the labelled history. */
  labelled: readonly Trace[];
  /** Training parts (rows before trainUntil) of the traces the model will score: unlabelled. */
  unlabelled: readonly (readonly Row[])[];
}

/** A model trained on one fold. */
export interface FoldModel {
  /** Causal scores in [0, 1] for every row of `rows`; `ownTraining` is the scored trace's training part. */
  score(rows: readonly Row[], ownTraining: readonly Row[]): number[];
}

export interface CrossValidatedDetector {
  readonly name: string;
  train(fold: FoldData): FoldModel;
}

/** A plain Detector under the protocol: fitted on the scored trace's own training part, learns nothing from the fold. */
export function perTraceDetector(name: string, make: () => Detector): CrossValidatedDetector {
  return {
    name,
    train: () => ({
      score(rows, ownTraining) {
        const d = make();
        d.fit(ownTraining);
        return d.score(rows);
      },
    }),
  };
}

/** The fault kind of a trace: its meta scenario, else its first window's label, else "other". */
export function kindOf(t: Trace): string {
  return t.meta?.scenario ?? t.windows[0]?.label ?? 'other';
}

export function groupOf(protocol: Protocol, t: Trace): string {
  return protocol === 'loo' ? t.name : kindOf(t);
}

/** A trace without its labels: what a model may know of a trace it scores. */
function trainingPart(t: Trace): Row[] {
  return t.rows.slice(0, t.trainUntil ?? 0);
}

export interface Fold {
  group: string;
  /** The held-out traces' names. */
  traces: string[];
  /** The threshold chosen on the other groups (nested), and the inner sweep's best row. */
  threshold: number;
  inner: ThresholdMetrics | null;
  /** The candidate the fold chose (the detector's own name when there is one). */
  chosen: string;
}

export interface CrossValidationReport {
  detector: string;
  protocol: Protocol;
  folds: Fold[];
  /** Held-out scores of every trace (scored by the model of its own group). */
  scored: ScoredTrace[];
  /** Counts pooled over the traces, each at its group's threshold. */
  heldOut: ThresholdMetrics;
  /** The same scores swept in-sample (for comparison with the plain evaluation). */
  sweep: ThresholdMetrics[];
  best: ThresholdMetrics | null;
  pr: PrCurve;
  /** Models trained (outer + inner). */
  trainings: number;
  /** The metric options the counts used. */
  options: MetricOptions;
  seconds: number;
}

export interface CrossValidationOptions extends MetricOptions {
  protocol: Protocol;
  thresholds: readonly number[];
  /** The report's detector name (default: the first candidate's). */
  name?: string;
}

/**
 * The threshold to use from an inner sweep: the middle of the longest run of
 * consecutive thresholds that share the best F1 (a margin on both sides, as a
 * near-binary score often has a wide plateau); ties: the higher run.
 */
export function chooseThreshold(rows: readonly ThresholdMetrics[]): ThresholdMetrics | null {
  const best = bestByF1(rows);
  if (!best) return null;
  let runStart = -1;
  let bestRun: [number, number] = [-1, -1];
  for (let i = 0; i <= rows.length; i++) {
    const on = i < rows.length && rows[i].f1 === best.f1;
    if (on && runStart < 0) runStart = i;
    if (!on && runStart >= 0) {
      if (i - runStart >= bestRun[1] - bestRun[0]) bestRun = [runStart, i];
      runStart = -1;
    }
  }
  return rows[(bestRun[0] + bestRun[1] - 1) >> 1];
}

function checkScores(name: string, t: Trace, scores: number[]): number[] {
  if (scores.length !== t.rows.length) throw new Error(`detector ${name} gave ${scores.length} scores for ${t.rows.length} rows of ${t.name}`);
  scores.forEach((s, i) => {
    if (!(s >= 0 && s <= 1)) throw new Error(`detector ${name} gave score ${s} (outside [0, 1]) at row ${i} of ${t.name}`);
  });
  return scores;
}

/**
 * Runs the protocol over labelled traces. With several candidates (variants
 * of one detector), each fold also chooses the candidate with the best inner
 * F1 (ties: the earlier one), so the variant, like the threshold, is chosen
 * on the training folds only; the report is named after the first.
 */
export function crossValidate(candidates: CrossValidatedDetector | readonly CrossValidatedDetector[], traces: readonly Trace[], o: CrossValidationOptions): CrossValidationReport {
  const t0 = performance.now();
  const dets = Array.isArray(candidates) ? (candidates as readonly CrossValidatedDetector[]) : [candidates as CrossValidatedDetector];
  if (dets.length === 0) throw new Error('cross-validation needs at least one detector');
  const groups = [...new Set(traces.map((t) => groupOf(o.protocol, t)))];
  if (groups.length < 2) throw new Error(`${PROTOCOL_NAMES[o.protocol]} needs traces of at least two groups, got ${groups.length} (${groups.join(', ')})`);
  const members = new Map(groups.map((g) => [g, traces.filter((t) => groupOf(o.protocol, t) === g)]));
  let trainings = 0;
  /** Trains on everything outside `heldOut` (labelled) plus the held-out traces' training parts, and scores the held-out traces. */
  const scoreHeldOut = (det: CrossValidatedDetector, heldOut: readonly string[]): Map<Trace, number[]> => {
    const out = new Set(heldOut);
    const scored = heldOut.flatMap((g) => members.get(g) as Trace[]);
    const model = det.train({ labelled: traces.filter((t) => !out.has(groupOf(o.protocol, t))), unlabelled: scored.map(trainingPart) });
    trainings++;
    return new Map(scored.map((t) => [t, checkScores(det.name, t, model.score(t.rows, trainingPart(t)))]));
  };

  // Inner scores, per candidate and group: the other groups' traces scored without that group's (or their own) labels.
  const inner = dets.map(() => new Map<string, ScoredTrace[]>(groups.map((g) => [g, []])));
  dets.forEach((det, d) => {
    for (let a = 0; a < groups.length; a++) {
      for (let b = a + 1; b < groups.length; b++) {
        const [ga, gb] = [groups[a], groups[b]];
        for (const [t, scores] of scoreHeldOut(det, [ga, gb])) (inner[d].get(groupOf(o.protocol, t) === ga ? gb : ga) as ScoredTrace[]).push({ trace: t, scores });
      }
    }
  });
  const folds: Fold[] = [];
  const items: { st: ScoredTrace; threshold: number }[] = [];
  for (const g of groups) {
    let chosen = 0;
    let choice: ThresholdMetrics | null = null;
    dets.forEach((_, d) => {
      const c = chooseThreshold(sweep(inner[d].get(g) as ScoredTrace[], o.thresholds, o));
      if (c && (choice === null || c.f1 > choice.f1)) {
        choice = c;
        chosen = d;
      }
    });
    const threshold = (choice as ThresholdMetrics | null)?.threshold ?? o.thresholds[o.thresholds.length - 1];
    for (const [trace, scores] of scoreHeldOut(dets[chosen], [g])) items.push({ st: { trace, scores }, threshold });
    folds.push({ group: g, traces: (members.get(g) as Trace[]).map((t) => t.name), threshold, inner: choice, chosen: dets[chosen].name });
  }
  // Report in the input's trace order.
  items.sort((x, y) => traces.indexOf(x.st.trace) - traces.indexOf(y.st.trace));
  const scored = items.map((x) => x.st);
  const rows = sweep(scored, o.thresholds, o);
  return {
    detector: o.name ?? dets[0].name,
    protocol: o.protocol,
    folds,
    scored,
    heldOut: evaluateEach(items, o),
    sweep: rows,
    best: bestByF1(rows),
    pr: prCurve(rows),
    trainings,
    options: { refractoryMs: o.refractoryMs, minWarningMs: o.minWarningMs },
    seconds: (performance.now() - t0) / 1000,
  };
}
