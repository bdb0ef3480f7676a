// A re-implementation of the Numenta Anomaly Benchmark's scoring (NAB v1.x,
// "sweeper" scorer), written from its published description, as a sanity
// check. NAB's own scorer (nab/sweeper.py + run.py) stays the authority;
// docs/evaluation.md lists where this one may differ.
//
// Per data file, with windows given as row-index ranges [left, right]:
// - the first probationaryLength(n) rows are not scored;
// - a point i inside window w has relative position -(right - i + 1) / width
//   (width = right - left + 1; -1 at the window's first row) and, when
//   detected, is worth tpWeight * scaledSigmoid(position) / scaledSigmoid(-1);
//   a window scores its best (earliest) detection, or -fnWeight when none;
// - a point outside every window, when detected, costs
//   fpWeight * scaledSigmoid(|i - prevRight| / (prevWidth - 1)) (a negative
//   number, milder right after a window), or -fpWeight before the first one;
// - a point is detected when its anomaly score >= the threshold.
// The corpus raw score is the sum over files at one threshold, the threshold
// that maximizes it is chosen per detector ("optimize"), and the reported
// score is 100 * (raw - null) / (perfect - null), null being the raw score of
// the null detector (constant 0.5, optimized the same way) and perfect
// tpWeight * the number of windows.

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** NAB's "standard" application profile. */
export const STANDARD_PROFILE: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };
export const REWARD_LOW_FP: CostMatrix = { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 };
export const REWARD_LOW_FN: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 };

export const PROBATION_PERCENT = 0.15;

export function probationaryLength(numRows: number, percent = PROBATION_PERCENT): number {
  return Math.min(Math.floor(percent * numRows), percent * 5000);
}

export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/** One data file, ready for scoring: scores per row and windows as inclusive row-index ranges. */
export interface NabFileScores {
  name: string;
  scores: readonly number[];
  windows: ReadonlyArray<readonly [number, number]>;
}

/** A scored point: its anomaly score, its weighted sweep score, and its window (-1: none). */
interface Point {
  score: number;
  weighted: number;
  window: number;
}

/** The weighted sweep score of every scored (post-probation) row of a file. */
function pointsOf(file: NabFileScores, cost: CostMatrix, windowBase: number, probationPercent: number): { points: Point[]; windowIds: Set<number> } {
  const n = file.scores.length;
  const windows = [...file.windows].sort((a, b) => a[0] - b[0]);
  windows.forEach(([l, r], k) => {
    if (!(Number.isInteger(l) && Number.isInteger(r) && l >= 0 && r < n && l <= r)) throw new Error(`NAB scorer: ${file.name}: window ${k} [${l}, ${r}] is not a row range in 0..${n - 1}`);
    if (k > 0 && l <= windows[k - 1][1]) throw new Error(`NAB scorer: ${file.name}: windows overlap`);
  });
  const maxTP = scaledSigmoid(-1);
  const prob = probationaryLength(n, probationPercent);
  const points: Point[] = [];
  const windowIds = new Set<number>();
  let k = 0; // next window
  let prevRight: number | null = null;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    while (k < windows.length && windows[k][1] < i) {
      prevRight = windows[k][1];
      prevWidth = windows[k][1] - windows[k][0] + 1;
      k++;
    }
    const inside = k < windows.length && i >= windows[k][0];
    let weighted: number;
    if (inside) {
      const [l, r] = windows[k];
      const width = r - l + 1;
      weighted = (scaledSigmoid(-(r - i + 1) / width) * cost.tpWeight) / maxTP;
    } else {
      const pos = prevRight === null ? 3 : Math.abs(prevRight - i) / (prevWidth - 1);
      weighted = scaledSigmoid(pos) * cost.fpWeight;
    }
    if (i < prob) continue;
    const s = file.scores[i];
    if (!Number.isFinite(s)) throw new Error(`NAB scorer: ${file.name}: anomaly score at row ${i} is not a number`);
    const window = inside ? windowBase + k : -1;
    if (inside) windowIds.add(window);
    points.push({ score: s, weighted, window });
  }
  return { points, windowIds };
}

export interface ThresholdTotal {
  threshold: number;
  score: number;
}

/**
 * NAB's threshold sweep over a whole corpus: the raw score at every distinct
 * anomaly-score threshold (plus 1.1, where nothing is detected), highest first.
 */
export function sweepCorpus(files: readonly NabFileScores[], cost: CostMatrix = STANDARD_PROFILE, probationPercent = PROBATION_PERCENT): ThresholdTotal[] {
  const all: Point[] = [];
  const windowIds = new Set<number>();
  let base = 0;
  for (const f of files) {
    const p = pointsOf(f, cost, base, probationPercent);
    for (const x of p.points) all.push(x);
    for (const w of p.windowIds) windowIds.add(w);
    base += f.windows.length;
  }
  all.sort((a, b) => b.score - a.score);
  const best = new Map<number, number>();
  for (const w of windowIds) best.set(w, -cost.fnWeight);
  let total = -cost.fnWeight * windowIds.size;
  const out: ThresholdTotal[] = [{ threshold: 1.1, score: total }];
  for (let i = 0; i < all.length; ) {
    const t = all[i].score;
    for (; i < all.length && all[i].score === t; i++) {
      const p = all[i];
      if (p.window < 0) total += p.weighted;
      else {
        const b = best.get(p.window) ?? -cost.fnWeight;
        if (p.weighted > b) {
          total += p.weighted - b;
          best.set(p.window, p.weighted);
        }
      }
    }
    if (t < 1.1) out.push({ threshold: t, score: total });
    else out[0] = { threshold: 1.1, score: total };
  }
  return out;
}

export interface FileScore {
  name: string;
  score: number;
  tp: number;
  fp: number;
  fn: number;
}

/** Raw NAB score of one file at a fixed threshold, with its counts (tp/fn per window, fp per detected point). */
export function scoreFile(file: NabFileScores, threshold: number, cost: CostMatrix = STANDARD_PROFILE, probationPercent = PROBATION_PERCENT): FileScore {
  const { points, windowIds } = pointsOf(file, cost, 0, probationPercent);
  const best = new Map<number, number>();
  let fp = 0;
  let fpSum = 0;
  for (const p of points) {
    if (p.score < threshold) continue;
    if (p.window < 0) {
      fp++;
      fpSum += p.weighted;
    } else best.set(p.window, Math.max(best.get(p.window) ?? -Infinity, p.weighted));
  }
  let score = fpSum;
  for (const w of windowIds) score += best.get(w) ?? -cost.fnWeight;
  return { name: file.name, score, tp: best.size, fp, fn: windowIds.size - best.size };
}

export interface NabResult {
  /** The threshold maximizing the corpus raw score. */
  threshold: number;
  raw: number;
  nullRaw: number;
  perfect: number;
  /** 100 * (raw - null) / (perfect - null). */
  normalized: number;
  files: FileScore[];
}

/** The corpus-optimal threshold: highest raw score, ties to the highest threshold. */
export function optimizeThreshold(files: readonly NabFileScores[], cost: CostMatrix = STANDARD_PROFILE, probationPercent = PROBATION_PERCENT): ThresholdTotal {
  let best: ThresholdTotal | null = null;
  for (const t of sweepCorpus(files, cost, probationPercent)) if (best === null || t.score > best.score) best = t;
  if (best === null) throw new Error('NAB scorer: empty corpus');
  return best;
}

/** Optimizes the threshold, scores every file at it and normalizes against the null and perfect detectors. */
export function scoreCorpus(files: readonly NabFileScores[], cost: CostMatrix = STANDARD_PROFILE, probationPercent = PROBATION_PERCENT): NabResult {
  if (files.length === 0) throw new Error('NAB scorer: no files to score');
  const { threshold, score: raw } = optimizeThreshold(files, cost, probationPercent);
  const nullFiles = files.map((f) => ({ ...f, scores: f.scores.map(() => 0.5) }));
  const nullRaw = optimizeThreshold(nullFiles, cost, probationPercent).score;
  const perfect = cost.tpWeight * files.reduce((a, f) => a + f.windows.length, 0);
  const normalized = perfect === nullRaw ? 100 : (100 * (raw - nullRaw)) / (perfect - nullRaw);
  return { threshold, raw, nullRaw, perfect, normalized, files: files.map((f) => scoreFile(f, threshold, cost, probationPercent)) };
}
