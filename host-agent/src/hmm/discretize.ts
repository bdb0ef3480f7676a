// Discretization: a sample's four metrics -> one observation symbol. Pure.
//
// Each modelled metric gets 2 or 3 levels from thresholds learnt on the
// domain's own history:
//   'mean'      the paper's rule: below/above the historical mean (2 levels);
//               with 3 levels a third, "extreme" level above mean + 2 sd.
//   'quantile'  thresholds at quantiles of the history (default: the median
//               and the 95th percentile, so the top level means "beyond what
//               this domain usually does"; tertiles with [1/3, 2/3]).
// A value's level is the number of thresholds it exceeds (v > t), so a
// constant history puts every value equal to it in level 0 and anything
// above it in the top level.
//
// The levels are folded into one symbol with the paper's mixed-radix
// numbering, the first metric being the most significant digit:
//   symbol = ((l_1 * L_2 + l_2) * L_3 + l_3) ...
// A missing value is never guessed. Prediction and training work on
// observation *codes*: the same numbering with one extra digit value per
// metric meaning "missing" (radix L_i + 1). A code stands for the set of
// symbols consistent with its known levels; CodeTable lists them so the
// emission of a code is the sum of B over that set (marginalisation).

import type { Sample } from '../protocol/api';

export const MODEL_METRICS = ['cpu', 'mem', 'net', 'disk'] as const;
export type ModelMetric = (typeof MODEL_METRICS)[number];

export type DiscretizationMethod = 'mean' | 'quantile';

export interface MetricThresholds {
  metric: ModelMetric;
  /** Non-decreasing; the metric has thresholds.length + 1 levels. */
  thresholds: number[];
}

export interface Discretization {
  method: DiscretizationMethod;
  /** The modelled metrics, in symbol-digit order (most significant first). */
  metrics: MetricThresholds[];
}

export interface DiscretizationOptions {
  method?: DiscretizationMethod;
  /** 2 or 3 (default 3). */
  levels?: number;
  /** For 'quantile': the cut points in (0, 1), ascending; default [0.5] for 2 levels, [0.5, 0.95] for 3. */
  quantiles?: number[];
}

export const DEFAULT_QUANTILES: Record<number, number[]> = { 2: [0.5], 3: [0.5, 0.95] };

/** The metric values of a sample: cpu %, mem %, net rx+tx B/s, disk read+write B/s; null when missing. */
export function metricValue(s: Sample, m: ModelMetric): number | null {
  switch (m) {
    case 'cpu':
      return s.cpuPct;
    case 'mem':
      return s.memPct;
    case 'net':
      return s.netRxBps === null || s.netTxBps === null ? null : s.netRxBps + s.netTxBps;
    case 'disk':
      return s.diskRdBps === null || s.diskWrBps === null ? null : s.diskRdBps + s.diskWrBps;
  }
}

/** Quantile q of sorted values, linear interpolation between order statistics. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('quantile of no values');
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function checkOptions(o: DiscretizationOptions): { method: DiscretizationMethod; levels: number; quantiles: number[] } {
  const method = o.method ?? 'quantile';
  if (method !== 'mean' && method !== 'quantile') throw new Error(`discretization method must be "mean" or "quantile", got ${JSON.stringify(method)}`);
  const levels = o.levels ?? (o.quantiles ? o.quantiles.length + 1 : 3);
  if (levels !== 2 && levels !== 3) throw new Error(`discretization levels must be 2 or 3, got ${levels}`);
  const quantiles = o.quantiles ?? DEFAULT_QUANTILES[levels];
  if (quantiles.length !== levels - 1) throw new Error(`${levels} levels need ${levels - 1} quantile cut point(s), got ${quantiles.length}`);
  quantiles.forEach((q, i) => {
    if (!(q > 0 && q < 1)) throw new Error(`quantile cut point ${q} is not in (0, 1)`);
    if (i > 0 && !(q > quantiles[i - 1])) throw new Error(`quantile cut points must be ascending, got ${quantiles.join(', ')}`);
  });
  return { method, levels, quantiles };
}

/**
 * Learns thresholds from the training samples. A metric with no value in the
 * whole history is not modelled (NAB data has one metric only); no metric at
 * all is an error.
 */
export function learnDiscretization(samples: Iterable<Sample>, opts: DiscretizationOptions = {}): Discretization {
  const { method, levels, quantiles } = checkOptions(opts);
  const values: Record<ModelMetric, number[]> = { cpu: [], mem: [], net: [], disk: [] };
  for (const s of samples) {
    for (const m of MODEL_METRICS) {
      const v = metricValue(s, m);
      if (v !== null && Number.isFinite(v)) values[m].push(v);
    }
  }
  const metrics: MetricThresholds[] = [];
  for (const m of MODEL_METRICS) {
    const v = values[m];
    if (v.length === 0) continue;
    metrics.push({ metric: m, thresholds: method === 'mean' ? meanThresholds(v, levels) : quantileThresholds(v, quantiles) });
  }
  if (metrics.length === 0) throw new Error('no metric (cpu, mem, net, disk) has any value in the training data');
  return { method, metrics };
}

function meanThresholds(v: number[], levels: number): number[] {
  let sum = 0;
  for (const x of v) sum += x;
  const mean = sum / v.length;
  if (levels === 2) return [mean];
  let ss = 0;
  for (const x of v) ss += (x - mean) * (x - mean);
  return [mean, mean + 2 * Math.sqrt(ss / v.length)];
}

function quantileThresholds(v: number[], qs: number[]): number[] {
  const sorted = Float64Array.from(v).sort();
  return qs.map((q) => quantile(sorted, q));
}

/** Level of a value: how many thresholds it exceeds. */
export function levelOf(v: number, thresholds: readonly number[]): number {
  let l = 0;
  for (const t of thresholds) if (v > t) l++;
  return l;
}

/** Precomputed numbering of a discretization: symbols, codes and the symbols each code stands for. */
export class Alphabet {
  /** Levels per modelled metric. */
  readonly levels: Int32Array;
  /** Number of symbols (every metric known). */
  readonly symbols: number;
  /** Number of observation codes (each metric known or missing). */
  readonly codes: number;
  /** CSR lists: the symbols consistent with code c are list[start[c] .. start[c+1]). */
  readonly start: Int32Array;
  readonly list: Int32Array;
  /** The code whose metrics are all missing. */
  readonly allMissing: number;
  private readonly thresholds: number[][];
  private readonly metricNames: ModelMetric[];

  constructor(readonly disc: Discretization) {
    const d = disc.metrics.length;
    if (d === 0) throw new Error('a discretization needs at least one metric');
    this.metricNames = disc.metrics.map((m) => m.metric);
    this.thresholds = disc.metrics.map((m) => m.thresholds.slice());
    this.levels = Int32Array.from(disc.metrics, (m) => m.thresholds.length + 1);
    let symbols = 1;
    let codes = 1;
    for (const l of this.levels) {
      symbols *= l;
      codes *= l + 1;
    }
    this.symbols = symbols;
    this.codes = codes;
    const start = new Int32Array(codes + 1);
    const list: number[] = [];
    const digits = new Int32Array(d);
    for (let c = 0; c < codes; c++) {
      start[c] = list.length;
      this.codeDigits(c, digits);
      this.expand(digits, 0, 0, list);
    }
    start[codes] = list.length;
    this.start = start;
    this.list = Int32Array.from(list);
    this.allMissing = codes - 1;
  }

  get metrics(): readonly ModelMetric[] {
    return this.metricNames;
  }

  /** Digits of a code (level, or levels[i] for missing), most significant first. */
  codeDigits(code: number, out: Int32Array): void {
    let c = code;
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const r = this.levels[i] + 1;
      out[i] = c % r;
      c = (c - out[i]) / r;
    }
  }

  /** Levels of a symbol, most significant first. */
  symbolLevels(symbol: number, out: Int32Array): void {
    let s = symbol;
    for (let i = this.levels.length - 1; i >= 0; i--) {
      out[i] = s % this.levels[i];
      s = (s - out[i]) / this.levels[i];
    }
  }

  private expand(digits: Int32Array, i: number, acc: number, out: number[]): void {
    if (i === digits.length) {
      out.push(acc);
      return;
    }
    const L = this.levels[i];
    if (digits[i] === L) for (let l = 0; l < L; l++) this.expand(digits, i + 1, acc * L + l, out);
    else this.expand(digits, i + 1, acc * L + digits[i], out);
  }

  /** The observation code of a sample (allocation-free). */
  encode(s: Sample): number {
    let code = 0;
    for (let i = 0; i < this.levels.length; i++) {
      const v = metricValue(s, this.metricNames[i]);
      const digit = v === null || !Number.isFinite(v) ? this.levels[i] : levelOf(v, this.thresholds[i]);
      code = code * (this.levels[i] + 1) + digit;
    }
    return code;
  }

  /** true when the code has every metric known (it is exactly one symbol). */
  isComplete(code: number): boolean {
    return this.start[code + 1] - this.start[code] === 1;
  }

  /** The symbol of a complete code. */
  symbolOf(code: number): number {
    if (!this.isComplete(code)) throw new Error(`code ${code} has a missing metric`);
    return this.list[this.start[code]];
  }

  /** The code of a symbol (every metric known). */
  codeOfSymbol(symbol: number): number {
    const lv = new Int32Array(this.levels.length);
    this.symbolLevels(symbol, lv);
    let code = 0;
    for (let i = 0; i < lv.length; i++) code = code * (this.levels[i] + 1) + lv[i];
    return code;
  }

  /**
   * Emission of every code from every state, N x codes row-major:
   * E[i][c] = sum of b[i][k] over the symbols k consistent with c.
   */
  emissionByCode(n: number, b: ArrayLike<number>, out = new Float64Array(n * this.codes)): Float64Array {
    const { codes, symbols, start, list } = this;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < codes; c++) {
        let s = 0;
        for (let p = start[c]; p < start[c + 1]; p++) s += b[i * symbols + list[p]];
        out[i * codes + c] = s;
      }
    }
    return out;
  }
}
