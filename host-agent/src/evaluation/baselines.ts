// Baseline detectors the HMM is compared with. Both are causal.
//
// - ThresholdDetector: the static rule an operator would write ("CPU above
//   90% is trouble"). Score = value / high (a fraction of a fixed "high"
//   level, clamped to [0, 1]), so sweeping the alarm threshold over 0.1..0.9
//   sweeps the static level over 10%..90% of `high`; or, in binary mode,
//   1 when value >= level * high else 0.
// - EwmaDetector: an exponentially weighted moving mean and variance per
//   metric; score = |z| / (|z| + z50), where z uses the mean and variance
//   *before* the current row (so a spike is not averaged into its own
//   baseline). The mapping never saturates, so large deviations stay ranked
//   (with z50 = 3: 3 sigma -> 0.5, 9 sigma -> 0.75, 27 sigma -> 0.9).

import { clamp01, METRICS, metricValue, type Detector, type Metric, type Row } from './detector';

export interface ThresholdOptions {
  /** Metrics looked at (default: all four). The score is the largest over them. */
  metrics?: readonly Metric[];
  /**
   * The "high" level per metric. cpu and mem default to 100 (percent). net and
   * disk have no natural full scale: unless given, fit() sets them to
   * `learnedScale` times the largest training value (and the metric is
   * ignored when training saw none of it).
   */
  high?: Partial<Record<Metric, number>>;
  learnedScale?: number;
  /** 'fraction' (default): score = value / high. 'binary': score = value >= level * high ? 1 : 0. */
  mode?: 'fraction' | 'binary';
  /** Level of the binary rule as a fraction of high (default 0.9). */
  level?: number;
  name?: string;
}

export class ThresholdDetector implements Detector {
  readonly name: string;
  private readonly metrics: readonly Metric[];
  private readonly fixedHigh: Partial<Record<Metric, number>>;
  private high: Partial<Record<Metric, number>>;
  private readonly learnedScale: number;
  private readonly mode: 'fraction' | 'binary';
  private readonly level: number;

  constructor(opts: ThresholdOptions = {}) {
    this.metrics = opts.metrics ?? METRICS;
    this.fixedHigh = { cpu: 100, mem: 100, ...opts.high };
    for (const [m, v] of Object.entries(this.fixedHigh)) {
      if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new Error(`threshold detector: high.${m} must be a positive number, got ${String(v)}`);
    }
    this.high = { ...this.fixedHigh };
    this.learnedScale = opts.learnedScale ?? 2;
    if (!(this.learnedScale > 0)) throw new Error(`threshold detector: learnedScale must be > 0, got ${this.learnedScale}`);
    this.mode = opts.mode ?? 'fraction';
    this.level = opts.level ?? 0.9;
    if (!(this.level > 0 && this.level <= 1)) throw new Error(`threshold detector: level must be in (0, 1], got ${this.level}`);
    this.name = opts.name ?? (this.mode === 'binary' ? 'threshold-binary' : 'threshold');
  }

  fit(trainRows: readonly Row[]): void {
    this.high = { ...this.fixedHigh };
    for (const m of this.metrics) {
      if (this.high[m] !== undefined) continue;
      let max = 0;
      let seen = false;
      for (const r of trainRows) {
        const v = metricValue(r, m);
        if (v !== null) {
          seen = true;
          if (v > max) max = v;
        }
      }
      if (seen && max > 0) this.high[m] = max * this.learnedScale;
    }
  }

  score(rows: readonly Row[]): number[] {
    const out: number[] = [];
    let prev = 0;
    for (const r of rows) {
      let best: number | null = null;
      for (const m of this.metrics) {
        const high = this.high[m];
        const v = metricValue(r, m);
        if (high === undefined || v === null) continue;
        const s = this.mode === 'binary' ? (v >= this.level * high ? 1 : 0) : clamp01(v / high);
        best = best === null ? s : Math.max(best, s);
      }
      // No usable metric in this row: hold the previous score.
      prev = best ?? prev;
      out.push(prev);
    }
    return out;
  }
}

export interface EwmaOptions {
  /** Smoothing factor in (0, 1]; the memory is about 1/alpha rows (default 0.05). */
  alpha?: number;
  /** |z| giving score 0.5 (default 3). */
  z50?: number;
  metrics?: readonly Metric[];
  name?: string;
}

interface MomentState {
  mean: number;
  variance: number;
  /** Lower bound of the variance, from the training data's spread. */
  floor: number;
}

export class EwmaDetector implements Detector {
  readonly name: string;
  private readonly alpha: number;
  private readonly z50: number;
  private readonly metrics: readonly Metric[];
  private initial: Partial<Record<Metric, MomentState>> = {};

  constructor(opts: EwmaOptions = {}) {
    this.alpha = opts.alpha ?? 0.05;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new Error(`ewma detector: alpha must be in (0, 1], got ${this.alpha}`);
    this.z50 = opts.z50 ?? 3;
    if (!(this.z50 > 0)) throw new Error(`ewma detector: z50 must be > 0, got ${this.z50}`);
    this.metrics = opts.metrics ?? METRICS;
    this.name = opts.name ?? 'ewma';
  }

  /** Starts every metric's moving mean/variance at the training mean/variance. */
  fit(trainRows: readonly Row[]): void {
    this.initial = {};
    for (const m of this.metrics) {
      let n = 0;
      let sum = 0;
      let sumSq = 0;
      for (const r of trainRows) {
        const v = metricValue(r, m);
        if (v === null) continue;
        n++;
        sum += v;
        sumSq += v * v;
      }
      if (n === 0) continue;
      const mean = sum / n;
      const variance = Math.max(0, sumSq / n - mean * mean);
      this.initial[m] = { mean, variance, floor: varianceFloor(variance, mean) };
    }
  }

  score(rows: readonly Row[]): number[] {
    const state: Partial<Record<Metric, MomentState>> = {};
    for (const m of this.metrics) {
      const s = this.initial[m];
      if (s) state[m] = { ...s };
    }
    const out: number[] = [];
    let prev = 0;
    for (const r of rows) {
      let best: number | null = null;
      for (const m of this.metrics) {
        const v = metricValue(r, m);
        if (v === null) continue;
        const s = state[m];
        if (!s) {
          // Never seen in training: the first value starts the statistics, scores 0.
          state[m] = { mean: v, variance: 0, floor: varianceFloor(0, v) };
          best = best ?? 0;
          continue;
        }
        const z = Math.abs(v - s.mean) / Math.sqrt(Math.max(s.variance, s.floor));
        const score = clamp01(z / (z + this.z50));
        best = best === null ? score : Math.max(best, score);
        const diff = v - s.mean;
        const incr = this.alpha * diff;
        s.mean += incr;
        s.variance = (1 - this.alpha) * (s.variance + diff * incr);
        if (s.floor === 0) s.floor = varianceFloor(s.variance, s.mean);
      }
      prev = best ?? prev;
      out.push(prev);
    }
    return out;
  }
}

/** Keeps z finite on a flat series: 1% of the training variance, or (0.1% of the level)^2. */
function varianceFloor(variance: number, mean: number): number {
  const rel = 1e-3 * Math.abs(mean);
  return Math.max(variance * 0.01, rel * rel, 1e-12);
}
