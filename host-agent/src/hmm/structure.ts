// The hidden states of a Hefery model and where their meaning comes from.
// Pure. docs/hmm.md explains the design; in short:
//
// States are health x load: health in {normal, abnormal, failed} (blocks of
// `loads` states each, in that order), load in {low, medium, high} (or
// {low, high}, or one "any"). State index = health * loads + load.
//
// - The structured initial model gives each block its intended emission:
//   normal states emit their load's CPU level and non-extreme levels of the
//   other metrics (initialised from the training data itself, split by CPU
//   level); abnormal states emit the top ("extreme") level of every metric;
//   failed states emit the degenerate zero-activity symbols (every metric
//   at level 0) mixed with a uniform part, and are entered rarely.
// - Known failure windows then pin the blocks down during training
//   (training.ts builds the masks): inside a failed window only failed
//   states are allowed, inside an abnormal window only abnormal states.
// - After training, labelStates() gives every state its final health and
//   load label from the trained parameters (see there).

import type { HealthLabel } from '../protocol/api';
import type { Hmm } from './core';
import type { Alphabet } from './discretize';

export const HEALTHS: readonly HealthLabel[] = ['normal', 'abnormal', 'failed'];

/** Prior probability of leaving the failed block in one step (see structuredModel). */
export const FAILED_ESCAPE = 1e-4;

export const LOAD_NAMES: Record<number, readonly string[]> = { 1: ['any'], 2: ['low', 'high'], 3: ['low', 'medium', 'high'] };

export interface StateInfo {
  label: string;
  health: HealthLabel;
}

export interface Layout {
  /** Load levels per health (1..3). */
  loads: number;
  /** 3 * loads. */
  n: number;
}

export function layout(loads = 3): Layout {
  if (!Number.isInteger(loads) || loads < 1 || loads > 3) throw new Error(`load levels per health must be 1, 2 or 3, got ${loads}`);
  return { loads, n: 3 * loads };
}

export const healthOf = (l: Layout, state: number): HealthLabel => HEALTHS[Math.floor(state / l.loads)];

/** Bit mask of the states of one health block. */
export function blockMask(l: Layout, health: HealthLabel): number {
  const h = HEALTHS.indexOf(health);
  let m = 0;
  for (let k = 0; k < l.loads; k++) m |= 1 << (h * l.loads + k);
  return m;
}

/** The state labels of the structure before training ("normal/low", ...). */
export function structuralStates(l: Layout): StateInfo[] {
  const out: StateInfo[] = [];
  for (const health of HEALTHS) for (let k = 0; k < l.loads; k++) out.push({ label: `${health}/${LOAD_NAMES[l.loads][k]}`, health });
  return out;
}

/** The level of a metric with L levels that load k of `loads` prefers. */
function preferredLevel(k: number, loads: number, L: number): number {
  return loads === 1 ? 0 : Math.round((k * (L - 1)) / (loads - 1));
}

/** A distribution over L levels with `peak` on `level` and the rest shared equally. */
function peaked(L: number, level: number, peak: number): number[] {
  return Array.from({ length: L }, (_, l) => (l === level ? peak : (1 - peak) / (L - 1)));
}

/** Emission row of independent per-metric level distributions. */
function productRow(al: Alphabet, perMetric: number[][]): Float64Array {
  const row = new Float64Array(al.symbols);
  const lv = new Int32Array(al.levels.length);
  for (let s = 0; s < al.symbols; s++) {
    al.symbolLevels(s, lv);
    let p = 1;
    for (let i = 0; i < lv.length; i++) p *= perMetric[i][lv[i]];
    row[s] = p;
  }
  return row;
}

function normalize(x: Float64Array): Float64Array {
  let s = 0;
  for (const v of x) s += v;
  for (let i = 0; i < x.length; i++) x[i] /= s;
  return x;
}

/**
 * The structured initial model (also the shape of the pseudocount prior).
 * `symbolCounts`: how often each symbol occurs in the training data (complete
 * observations only); it seeds the normal states. Every entry is > 0.
 */
export function structuredModel(l: Layout, al: Alphabet, symbolCounts: Float64Array): Hmm {
  const { loads, n } = l;
  const m = al.symbols;
  const L = al.levels;
  const cpuIndex = al.metrics.indexOf('cpu');
  // The metric whose level tells the load: CPU, or the first metric when CPU is not modelled.
  const loadMetric = cpuIndex >= 0 ? cpuIndex : 0;
  const lv = new Int32Array(L.length);
  const b = new Float64Array(n * m);
  const uniform = 1 / m;
  for (let k = 0; k < loads; k++) {
    // normal, load k: the data's own symbol frequencies among samples at this load's level, smoothed
    // toward non-extreme levels so that a state does not start out explaining the rare extremes.
    const pref = preferredLevel(k, loads, L[loadMetric]);
    const data = new Float64Array(m);
    let total = 0;
    for (let s = 0; s < m; s++) {
      al.symbolLevels(s, lv);
      const atLoad = loads === 1 || lv[loadMetric] === pref;
      if (atLoad) {
        data[s] = symbolCounts[s];
        total += symbolCounts[s];
      }
    }
    const shape = productRow(al, Array.from(L, (Li, i) => (i === loadMetric ? peaked(Li, pref, 0.8) : peaked(Li, 0, 0.5).map((p, lvl) => (lvl === Li - 1 ? 0.05 : p)))));
    normalize(shape);
    const row = b.subarray(k * m, (k + 1) * m);
    for (let s = 0; s < m; s++) row[s] = (total > 0 ? 0.7 * (data[s] / total) : 0) + (total > 0 ? 0.25 : 0.95) * shape[s] + 0.05 * uniform;
    normalize(row);
    // abnormal, load k: every metric at its top level mostly; the load metric keeps some mass on the load's level
    const abn = productRow(al, Array.from(L, (Li, i) => {
      const top = Li - 1;
      if (i !== loadMetric || pref === top) return peaked(Li, top, 0.75);
      return Array.from({ length: Li }, (_, lvl) => (lvl === top ? 0.6 : lvl === pref ? 0.3 : 0.1 / Math.max(1, Li - 2)));
    }));
    b.set(normalize(abn.map((p) => 0.9 * p + 0.1 * uniform)), (loads + k) * m);
    // failed, load k: zero activity (every metric at level 0; the load metric at the load's level), mixed with uniform
    const fail = productRow(al, Array.from(L, (Li, i) => peaked(Li, i === loadMetric ? pref : 0, 0.8)));
    b.set(normalize(fail.map((p) => 0.5 * p + 0.5 * uniform)), (2 * loads + k) * m);
  }
  // Start: mostly normal. Transitions: sticky; into abnormal rarely, into failed more rarely.
  // Health moves left to right: normal -> abnormal -> failed, and abnormal may recover to normal;
  // a failed VM does not heal by itself (a restart starts a new sequence), so leaving the failed
  // block only gets FAILED_ESCAPE, enough for the live filter to follow a VM that comes back
  // without a restart after a few clearly normal samples, too little for training to use the
  // failed states as a stop-over of normal behaviour.
  const pi = new Float64Array(n);
  const a = new Float64Array(n * n);
  for (let s = 0; s < n; s++) pi[s] = s < loads ? 0.9 / loads : s < 2 * loads ? 0.08 / loads : 0.02 / loads;
  const into: Record<HealthLabel, Record<HealthLabel, number>> = {
    normal: { normal: 0.989, abnormal: 0.01, failed: 0.001 },
    abnormal: { normal: 0.15, abnormal: 0.8, failed: 0.05 },
    failed: { normal: FAILED_ESCAPE / 2, abnormal: FAILED_ESCAPE / 2, failed: 1 - FAILED_ESCAPE },
  };
  for (let i = 0; i < n; i++) {
    const hi = healthOf(l, i);
    for (let j = 0; j < n; j++) {
      const hj = healthOf(l, j);
      const sameLoad = i % loads === j % loads;
      // within a block, staying at the same load is likelier than moving to another
      const share = loads === 1 ? 1 : sameLoad ? (hi === hj ? 0.9 : 0.5) : (hi === hj ? 0.1 : 0.5) / (loads - 1);
      a[i * n + j] = into[hi][hj] * share;
    }
    normalize(a.subarray(i * n, (i + 1) * n));
  }
  return { n, m, pi, a, b };
}

/** A copy of `h` with every row multiplied by random factors in [1/(1+s), 1+s] and renormalised. */
export function perturb(h: Hmm, strength: number, random: () => number): Hmm {
  const jitter = (x: Float64Array, rows: number, cols: number) => {
    const out = x.slice();
    for (let r = 0; r < rows; r++) {
      const row = out.subarray(r * cols, (r + 1) * cols);
      for (let c = 0; c < cols; c++) row[c] *= Math.pow(1 + strength, 2 * random() - 1);
      normalize(row);
    }
    return out;
  };
  return { n: h.n, m: h.m, pi: jitter(h.pi, 1, h.n), a: jitter(h.a, h.n, h.n), b: jitter(h.b, h.n, h.m) };
}

export interface LabelOptions {
  /** Health blocks that known incidents supervised: their states keep the block's health. */
  supervised: ReadonlySet<HealthLabel>;
  /** An unsupervised normal/abnormal state is abnormal when it emits an extreme symbol at least this often. Default 0.5. */
  extremeShare?: number;
}

/** Probability that state i emits a symbol with at least one metric at its top level. */
export function extremeProbability(h: Hmm, al: Alphabet, i: number): number {
  const lv = new Int32Array(al.levels.length);
  let p = 0;
  for (let s = 0; s < al.symbols; s++) {
    al.symbolLevels(s, lv);
    if (lv.some((x, k) => x === al.levels[k] - 1)) p += h.b[i * h.m + s];
  }
  return p;
}

/** Expected level (0..1 scale) of metric `k` emitted by state i. */
function expectedLevel(h: Hmm, al: Alphabet, i: number, k: number): number {
  const lv = new Int32Array(al.levels.length);
  let e = 0;
  for (let s = 0; s < al.symbols; s++) {
    al.symbolLevels(s, lv);
    e += h.b[i * h.m + s] * lv[k];
  }
  return al.levels[k] > 1 ? e / (al.levels[k] - 1) : 0;
}

/**
 * Final health and label of every state after training.
 * - Health: a state of a block that incidents supervised keeps that block's
 *   health. The failed block keeps "failed" always (without failure
 *   incidents it is held at its structured prior and never fitted). An
 *   unsupervised normal or abnormal state is "abnormal" when it emits an
 *   extreme symbol (some metric at its top level) with probability >=
 *   extremeShare, else "normal". With default thresholds the top level is
 *   beyond the domain's 95th percentile, so this reads: "a state that
 *   mostly does what this domain rarely does".
 * - Load: from the CPU level the state emits (the expected level on a 0..1
 *   scale, in thirds: low < 1/3 <= medium < 2/3 <= high, whatever the number
 *   of load states); the first metric stands in when CPU is not modelled.
 */
export function labelStates(l: Layout, h: Hmm, al: Alphabet, opts: LabelOptions): StateInfo[] {
  const share = opts.extremeShare ?? 0.5;
  const cpu = al.metrics.indexOf('cpu');
  const loadMetric = cpu >= 0 ? cpu : 0;
  const out: StateInfo[] = [];
  for (let i = 0; i < l.n; i++) {
    const block = healthOf(l, i);
    let health: HealthLabel = block;
    if (block !== 'failed' && !opts.supervised.has(block)) health = extremeProbability(h, al, i) >= share ? 'abnormal' : 'normal';
    const names = LOAD_NAMES[3];
    const level = expectedLevel(h, al, i, loadMetric);
    const load = names[Math.min(2, Math.floor(level * 3))];
    out.push({ label: `${health}/${load}`, health });
  }
  return out;
}
