// What every detector evaluated by Hefery looks like: the HMM risk predictor
// (through hmmDetector.ts) and the baselines (baselines.ts).

/** One observation of one VM (or one NAB series). Missing metrics are absent or null. */
export interface Row {
  /** Milliseconds since the epoch. */
  ts: number;
  /** CPU utilisation, percent 0..100. */
  cpu?: number | null;
  /** Memory utilisation, percent 0..100. */
  mem?: number | null;
  /** Network bytes/s (rx + tx). */
  net?: number | null;
  /** Disk bytes/s (read + write). */
  disk?: number | null;
}

export const METRICS = ['cpu', 'mem', 'net', 'disk'] as const;
export type Metric = (typeof METRICS)[number];

/**
 * A risk / anomaly detector.
 *
 * Contract (checked by the tests for the baselines):
 * - `fit` may look at all of its training rows; `score` must be causal: the
 *   score of row t depends only on the fitted state and rows 0..t of the same
 *   call, never on a later row.
 * - `score` returns one number in [0, 1] per row (1 = surely abnormal).
 * - `score` does not change the fitted state: two calls with the same rows
 *   give the same scores.
 */
export interface Detector {
  readonly name: string;
  fit(trainRows: readonly Row[]): void;
  score(rows: readonly Row[]): number[];
}

/** The value of a metric in a row, or null when missing / not finite. */
export function metricValue(row: Row, m: Metric): number | null {
  const v = row[m];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function clamp01(x: number): number {
  if (Number.isNaN(x)) return 0;
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
