// Failure-prediction metrics over labelled traces (pure functions).
//
// Definitions follow Salfner, Lenk & Malek, "A survey of online failure
// prediction methods" (ACM Computing Surveys 42(3), 2010); docs/evaluation.md
// states them in full. In short, for one alarm threshold:
//
// - A fault window w = {start, failure, end} is a TRUE POSITIVE when the score
//   reaches the threshold at some scored row inside its prediction period
//   [start, failure - minWarning]; its LEAD TIME is failure minus the time of
//   the first such row. Otherwise it is a FALSE NEGATIVE (a window warned only
//   after failure - minWarning is also counted as "late").
// - An ALARM is raised at a scored row whose score reaches the threshold,
//   unless the previous alarm is less than `refractoryMs` old: an episode
//   above the threshold shorter than the refractory period raises one alarm,
//   a longer one re-raises it once per refractory period (so a detector stuck
//   above its threshold keeps paying for it). An alarm outside every window
//   [start, end] is a FALSE POSITIVE. Alarms inside a window never are.
// - Rows before the trace's trainUntil are neither scored nor counted.

import type { FaultWindow, Trace } from './types';

export interface MetricOptions {
  /** Alarms closer than this to the previous alarm are merged into it (ms, default 1 h). */
  refractoryMs?: number;
  /** Minimal warning time: a warning later than failure - minWarningMs is too late (ms, default 0). */
  minWarningMs?: number;
}

export interface ScoredTrace {
  trace: Trace;
  /** One score per row of trace.rows. */
  scores: readonly number[];
}

/** What happened to one fault window at one threshold. */
export interface WindowOutcome {
  trace: string;
  window: FaultWindow;
  /** Predicted in time (a true positive). */
  predicted: boolean;
  /** The score reached the threshold only after failure - minWarning, inside the window. */
  late: boolean;
  /** failure - first warning in the prediction period, ms; null when not predicted. */
  leadTimeMs: number | null;
}

export interface TraceCounts {
  tp: number;
  fn: number;
  fp: number;
  late: number;
  alarms: number;
  /** Scored rows outside every fault window. */
  negativeSamples: number;
  /** Of these, rows whose score reaches the threshold. */
  negativeSamplesAbove: number;
  /** Scored time outside every fault window, hours. */
  negativeHours: number;
  outcomes: WindowOutcome[];
  /** Times (ms) of the false alarms. */
  falseAlarmTs: number[];
}

export interface ThresholdMetrics {
  threshold: number;
  tp: number;
  fp: number;
  fn: number;
  late: number;
  alarms: number;
  /** tp / (tp + fp); null when there was no alarm and no true positive. */
  precision: number | null;
  /** tp / (tp + fn); null when no window is scored. */
  recall: number | null;
  /** Harmonic mean of precision and recall; 0 when either is 0 or undefined. */
  f1: number;
  /** False alarms per hour of scored non-fault time. */
  fpPerHour: number | null;
  /** Fraction of scored non-fault rows whose score reaches the threshold. */
  fpRateSamples: number | null;
  leadTimeMeanMs: number | null;
  leadTimeMedianMs: number | null;
  leadTimesMs: number[];
}

export const DEFAULT_REFRACTORY_MS = 3_600_000;

function options(o: MetricOptions | undefined): Required<MetricOptions> {
  const refractoryMs = o?.refractoryMs ?? DEFAULT_REFRACTORY_MS;
  const minWarningMs = o?.minWarningMs ?? 0;
  if (!(refractoryMs >= 0 && Number.isFinite(refractoryMs))) throw new Error(`refractoryMs must be a finite number >= 0, got ${refractoryMs}`);
  if (!(minWarningMs >= 0 && Number.isFinite(minWarningMs))) throw new Error(`minWarningMs must be a finite number >= 0, got ${minWarningMs}`);
  return { refractoryMs, minWarningMs };
}

/** The failure time of a window (its end when not given). */
export function failureTime(w: FaultWindow): number {
  return w.failure ?? w.end;
}

/** Indices of the rows where an alarm is raised (see the file comment). */
export function alarmIndices(ts: readonly number[], scores: readonly number[], threshold: number, refractoryMs: number, from = 0): number[] {
  const out: number[] = [];
  let lastAlarm = -Infinity;
  for (let i = from; i < scores.length; i++) {
    if (scores[i] >= threshold && ts[i] - lastAlarm >= refractoryMs) {
      out.push(i);
      lastAlarm = ts[i];
    }
  }
  return out;
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function typicalStep(ts: readonly number[], from: number): number {
  const steps: number[] = [];
  for (let i = Math.max(from, 1); i < ts.length; i++) steps.push(ts[i] - ts[i - 1]);
  return median(steps) ?? 0;
}

/** Counts for one trace at one threshold. */
export function countTrace(st: ScoredTrace, threshold: number, opts?: MetricOptions): TraceCounts {
  const { refractoryMs, minWarningMs } = options(opts);
  const { trace, scores } = st;
  const rows = trace.rows;
  if (scores.length !== rows.length) throw new Error(`trace "${trace.name}": ${scores.length} scores for ${rows.length} rows`);
  const from = trace.trainUntil ?? 0;
  const ts = rows.map((r) => r.ts);
  const windows = [...trace.windows].sort((a, b) => a.start - b.start);
  const inWindow = (t: number) => windows.some((w) => t >= w.start && t <= w.end);

  const outcomes: WindowOutcome[] = [];
  let tp = 0;
  let fn = 0;
  let late = 0;
  if (from < rows.length) {
    const scoredStart = ts[from];
    for (const w of windows) {
      if (w.end < scoredStart) continue; // entirely in the training part: not scored
      const fail = failureTime(w);
      const lastInTime = fail - minWarningMs;
      let first: number | null = null;
      let lateHit = false;
      for (let i = from; i < rows.length && ts[i] <= w.end; i++) {
        if (ts[i] < w.start || scores[i] < threshold) continue;
        if (ts[i] <= lastInTime) {
          first = ts[i];
          break;
        }
        lateHit = true;
        break;
      }
      const predicted = first !== null;
      if (predicted) tp++;
      else fn++;
      if (!predicted && lateHit) late++;
      outcomes.push({ trace: trace.name, window: w, predicted, late: !predicted && lateHit, leadTimeMs: first === null ? null : fail - first });
    }
  }

  const alarms = alarmIndices(ts, scores, threshold, refractoryMs, from);
  const falseAlarmTs = alarms.map((i) => ts[i]).filter((t) => !inWindow(t));

  let negativeSamples = 0;
  let negativeSamplesAbove = 0;
  for (let i = from; i < rows.length; i++) {
    if (inWindow(ts[i])) continue;
    negativeSamples++;
    if (scores[i] >= threshold) negativeSamplesAbove++;
  }
  let negativeMs = 0;
  if (from < rows.length) {
    const a = ts[from];
    const b = ts[rows.length - 1] + typicalStep(ts, from);
    negativeMs = b - a;
    for (const w of windows) negativeMs -= Math.max(0, Math.min(b, w.end) - Math.max(a, w.start));
    negativeMs = Math.max(0, negativeMs);
  }

  return { tp, fn, fp: falseAlarmTs.length, late, alarms: alarms.length, negativeSamples, negativeSamplesAbove, negativeHours: negativeMs / 3_600_000, outcomes, falseAlarmTs };
}

/** Metrics pooled over traces (sums of counts, lead times pooled) at one threshold. */
export function evaluateAt(traces: readonly ScoredTrace[], threshold: number, opts?: MetricOptions): ThresholdMetrics {
  return evaluateEach(traces.map((st) => ({ st, threshold })), opts, threshold);
}

/**
 * Metrics pooled over traces, each counted at its own threshold (the
 * cross-validation protocol chooses one per fold). `label` is what the
 * result reports as its threshold (NaN when the thresholds differ).
 */
export function evaluateEach(items: readonly { st: ScoredTrace; threshold: number }[], opts?: MetricOptions, label?: number): ThresholdMetrics {
  const threshold = label ?? (items.every((x) => x.threshold === items[0]?.threshold) && items.length > 0 ? items[0].threshold : NaN);
  let tp = 0, fp = 0, fn = 0, late = 0, alarms = 0, negS = 0, negAbove = 0, negH = 0;
  const leadTimesMs: number[] = [];
  for (const { st, threshold: theta } of items) {
    const c = countTrace(st, theta, opts);
    tp += c.tp;
    fp += c.fp;
    fn += c.fn;
    late += c.late;
    alarms += c.alarms;
    negS += c.negativeSamples;
    negAbove += c.negativeSamplesAbove;
    negH += c.negativeHours;
    for (const o of c.outcomes) if (o.leadTimeMs !== null) leadTimesMs.push(o.leadTimeMs);
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  const mean = leadTimesMs.length ? leadTimesMs.reduce((a, b) => a + b, 0) / leadTimesMs.length : null;
  return {
    threshold,
    tp,
    fp,
    fn,
    late,
    alarms,
    precision,
    recall,
    f1,
    fpPerHour: negH > 0 ? fp / negH : null,
    fpRateSamples: negS > 0 ? negAbove / negS : null,
    leadTimeMeanMs: mean,
    leadTimeMedianMs: median(leadTimesMs),
    leadTimesMs,
  };
}

/** evaluateAt for every threshold, in the order given. */
export function sweep(traces: readonly ScoredTrace[], thresholds: readonly number[], opts?: MetricOptions): ThresholdMetrics[] {
  return thresholds.map((t) => evaluateAt(traces, t, opts));
}

/** The row of a sweep with the highest F1 (ties: the higher threshold); null for an empty sweep. */
export function bestByF1(rows: readonly ThresholdMetrics[]): ThresholdMetrics | null {
  let best: ThresholdMetrics | null = null;
  for (const r of rows) if (best === null || r.f1 > best.f1 || (r.f1 === best.f1 && r.threshold > best.threshold)) best = r;
  return best;
}

export interface PrPoint {
  threshold: number;
  recall: number;
  precision: number;
}

export interface PrCurve {
  /** Sorted by increasing recall (decreasing threshold). Thresholds with no alarm at all are left out. */
  points: PrPoint[];
  /**
   * Area under the curve as average precision: sum over points of
   * (recall_k - recall_{k-1}) * precision_k, starting from recall 0. A step
   * function, so it never interpolates optimistically between thresholds.
   */
  area: number;
}

export function prCurve(rows: readonly ThresholdMetrics[]): PrCurve {
  const points: PrPoint[] = rows
    .filter((r): r is ThresholdMetrics & { precision: number; recall: number } => r.precision !== null && r.recall !== null)
    .map((r) => ({ threshold: r.threshold, recall: r.recall, precision: r.precision }))
    .sort((a, b) => a.recall - b.recall || b.threshold - a.threshold);
  let area = 0;
  let prevRecall = 0;
  for (const p of points) {
    area += (p.recall - prevRecall) * p.precision;
    prevRecall = p.recall;
  }
  return { points, area };
}

/** "0.1:0.9:0.1" (from:to:step, inclusive) or "0.2,0.5,0.8" -> thresholds. */
export function parseThresholds(text: string): number[] {
  const t = text.trim();
  const range = /^([0-9.]+):([0-9.]+):([0-9.]+)$/.exec(t);
  let out: number[];
  if (range) {
    const [from, to, step] = range.slice(1).map(Number);
    if (![from, to, step].every(Number.isFinite) || step <= 0 || to < from) throw new Error(`thresholds: "${text}" must be from:to:step with from <= to and step > 0`);
    const n = Math.floor((to - from) / step + 1e-9);
    out = Array.from({ length: n + 1 }, (_, k) => Number((from + k * step).toFixed(10)));
  } else {
    out = t.split(',').map((s) => Number(s.trim()));
    if (t === '' || out.some((x) => !Number.isFinite(x))) throw new Error(`thresholds: "${text}" is neither from:to:step nor a comma-separated list of numbers`);
  }
  for (const x of out) if (x < 0 || x > 1) throw new Error(`thresholds: ${x} is outside [0, 1]`);
  return out;
}

/**
 * Brier score of scores read as probabilities: the mean over scored rows t
 * (from trainUntil, with a row after it) of (s_t - y_{t+1})^2, y = 1 when row
 * t + 1 lies in a fault window [start, end]: how well "risk of trouble at the
 * next sample" matches what happened (0 perfect; always saying the base rate
 * p scores p (1 - p)). Null without any such row.
 */
export function brierScore(traces: readonly ScoredTrace[]): number | null {
  let sum = 0;
  let n = 0;
  for (const { trace, scores } of traces) {
    const rows = trace.rows;
    for (let t = trace.trainUntil ?? 0; t + 1 < rows.length; t++) {
      const ts = rows[t + 1].ts;
      const y = trace.windows.some((w) => ts >= w.start && ts <= w.end) ? 1 : 0;
      sum += (scores[t] - y) ** 2;
      n++;
    }
  }
  return n > 0 ? sum / n : null;
}
