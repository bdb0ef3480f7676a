// Labelled traces: what the evaluation scores detectors against.
import type { Row } from './detector';

/**
 * A ground-truth fault window, times in ms since the epoch.
 *
 * - `start`: beginning of the prediction period: from here on a warning is
 *   correct (a true positive) for this fault.
 * - `failure`: the moment the failure (or the labelled anomaly) happens. A
 *   warning counts as a prediction only if it comes at least the minimal
 *   warning time before it. Absent: the failure is taken to be `end`.
 * - `end`: end of the fault (the VM is healthy again / the anomaly is over).
 *   Alarms between `failure` and `end` are late (neither TP nor FP).
 */
export interface FaultWindow {
  start: number;
  failure?: number;
  end: number;
  label?: string;
}

export interface Trace {
  name: string;
  /** Rows sorted by non-decreasing ts (repeated timestamps are allowed: NAB data has some). */
  rows: Row[];
  windows: FaultWindow[];
  /** Rows with index < trainUntil are training / probation: given to fit(), never scored. Default 0. */
  trainUntil?: number;
  /** Free-form provenance (NAB category, metric, scenario...). */
  meta?: Record<string, string>;
}

/** Throws a clear error when a trace is malformed. */
export function validateTrace(t: Trace): void {
  const where = `trace "${t.name}"`;
  if (t.rows.length === 0) throw new Error(`${where}: no rows`);
  for (let i = 0; i < t.rows.length; i++) {
    const ts = t.rows[i].ts;
    if (!Number.isFinite(ts)) throw new Error(`${where}: row ${i} has no valid ts`);
    if (i > 0 && ts < t.rows[i - 1].ts) throw new Error(`${where}: rows not in time order at row ${i} (ts ${ts} before ${t.rows[i - 1].ts})`);
  }
  t.windows.forEach((w, i) => {
    if (!Number.isFinite(w.start) || !Number.isFinite(w.end)) throw new Error(`${where}: window ${i} needs finite start and end`);
    if (w.end < w.start) throw new Error(`${where}: window ${i} ends (${w.end}) before it starts (${w.start})`);
    if (w.failure !== undefined && (!Number.isFinite(w.failure) || w.failure < w.start || w.failure > w.end)) {
      throw new Error(`${where}: window ${i} has failure ${w.failure} outside [start, end]`);
    }
  });
  const sorted = [...t.windows].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start <= sorted[i - 1].end) throw new Error(`${where}: fault windows overlap (${sorted[i - 1].start}..${sorted[i - 1].end} and ${sorted[i].start}..${sorted[i].end})`);
  }
  if (t.trainUntil !== undefined && (!Number.isInteger(t.trainUntil) || t.trainUntil < 0 || t.trainUntil > t.rows.length)) {
    throw new Error(`${where}: trainUntil ${t.trainUntil} is not a row index in 0..${t.rows.length}`);
  }
}
