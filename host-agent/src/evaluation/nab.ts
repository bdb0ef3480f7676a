// Numenta Anomaly Benchmark files: data (`timestamp,value`), labels
// (windows.json), results files (`timestamp,value,anomaly_score,label`) laid
// out as NAB's scorer expects: <out>/<detector>/<category>/<detector>_<file>.csv.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Metric, Row } from './detector';
import { probationaryLength, type NabFileScores } from './nab-scorer';
import type { FaultWindow, Trace } from './types';

export * from './nab-scorer';

const NAB_TS = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** "2014-02-14 14:27:00" or "2014-02-26 13:45:00.000000" (taken as UTC) -> ms since the epoch. */
export function parseNabTimestamp(text: string): number {
  const m = NAB_TS.exec(text.trim());
  if (!m) throw new Error(`not a NAB timestamp (YYYY-MM-DD HH:MM:SS[.ffffff]): "${text}"`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const frac = m[7] ? Number(m[7].padEnd(6, '0')) / 1000 : 0;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) + Math.floor(frac);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw new Error(`not a valid date: "${text}"`);
  return ms;
}

/** ms since the epoch -> "2014-02-14 14:27:00" (UTC), NAB's data format. */
export function formatNabTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export interface NabSeries {
  /** File name, e.g. "ec2_cpu_utilization_24ae8d.csv". */
  file: string;
  timestamps: number[];
  values: number[];
  /** The value column exactly as written, to copy it unchanged into results files. */
  rawValues: string[];
}

export function parseNabCsv(text: string, file: string): NabSeries {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error(`${file}: empty file`);
  const header = lines[0].split(',').map((h) => h.trim());
  const ti = header.indexOf('timestamp');
  const vi = header.indexOf('value');
  if (ti < 0 || vi < 0) throw new Error(`${file}: header must have "timestamp" and "value" columns, got "${lines[0]}"`);
  const s: NabSeries = { file, timestamps: [], values: [], rawValues: [] };
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(',');
    let ts: number;
    try {
      ts = parseNabTimestamp(cells[ti] ?? '');
    } catch (e) {
      throw new Error(`${file}:${i + 1}: ${(e as Error).message}`);
    }
    const raw = (cells[vi] ?? '').trim();
    const v = Number(raw);
    if (raw === '' || !Number.isFinite(v)) throw new Error(`${file}:${i + 1}: value "${raw}" is not a number`);
    // NAB's data has repeated timestamps (a daylight-saving artefact in ec2_disk_write_bytes_1ef3de.csv); NAB keeps them, so do we.
    if (s.timestamps.length && ts < s.timestamps[s.timestamps.length - 1]) throw new Error(`${file}:${i + 1}: timestamp ${cells[ti]} is before the previous one`);
    s.timestamps.push(ts);
    s.values.push(v);
    s.rawValues.push(raw);
  }
  if (s.timestamps.length === 0) throw new Error(`${file}: no data rows`);
  return s;
}

export function readNabCsv(path: string): NabSeries {
  return parseNabCsv(readFileSync(path, 'utf8'), basename(path));
}

/** windows.json: "<category>/<file>.csv" -> list of [start, end] (ms). */
export type NabLabels = Map<string, Array<[number, number]>>;

export function parseNabWindows(text: string, source = 'windows.json'): NabLabels {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected an object mapping file names to lists of [start, end]`);
  const out: NabLabels = new Map();
  for (const [key, list] of Object.entries(json)) {
    if (!Array.isArray(list)) throw new Error(`${source}: "${key}" must map to a list of [start, end] pairs`);
    out.set(
      key,
      list.map((pair: unknown, k) => {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
          throw new Error(`${source}: "${key}" window ${k} must be a pair of timestamp strings`);
        }
        const a = parseNabTimestamp(pair[0]);
        const b = parseNabTimestamp(pair[1]);
        if (b < a) throw new Error(`${source}: "${key}" window ${k} ends before it starts`);
        return [a, b] as [number, number];
      }),
    );
  }
  return out;
}

export function readNabWindows(path: string): NabLabels {
  return parseNabWindows(readFileSync(path, 'utf8'), path);
}

/** The labels of a data file, matched by its base name; the category is the key's directory. */
export function labelsFor(labels: NabLabels, file: string): { category: string; windows: Array<[number, number]> } | null {
  for (const [key, windows] of labels) {
    const slash = key.lastIndexOf('/');
    if (key.slice(slash + 1) === file) return { category: slash > 0 ? key.slice(0, slash) : 'data', windows };
  }
  return null;
}

/** Which of Hefery's metrics a NAB series is, from its file name (unknown: an unbounded rate, "net"). */
export function metricOfNabFile(file: string): Metric {
  const f = file.toLowerCase();
  if (/cpu/.test(f)) return 'cpu';
  if (/mem/.test(f)) return 'mem';
  if (/disk|bytes_written|write_bytes|read_bytes/.test(f)) return 'disk';
  return 'net';
}

/** Inclusive row-index range of a time window: first row at/after start .. last row at/before end; null when no row falls inside. */
export function windowRowRange(timestamps: readonly number[], start: number, end: number): [number, number] | null {
  let l = 0;
  while (l < timestamps.length && timestamps[l] < start) l++;
  let r = l - 1;
  while (r + 1 < timestamps.length && timestamps[r + 1] <= end) r++;
  return r >= l ? [l, r] : null;
}

/**
 * A NAB series as a labelled trace: the value becomes the metric named by the
 * file, each window's failure is its centre (NAB centres windows on the
 * labelled anomaly), and the probationary period is the training part.
 */
export function nabTrace(series: NabSeries, windows: ReadonlyArray<readonly [number, number]>, category = 'data'): Trace {
  const metric = metricOfNabFile(series.file);
  const rows: Row[] = series.timestamps.map((ts, i) => ({ ts, [metric]: series.values[i] }));
  const fw: FaultWindow[] = windows.map(([start, end]) => ({ start, end, failure: start + Math.round((end - start) / 2) }));
  return {
    name: series.file,
    rows,
    windows: fw,
    trainUntil: Math.ceil(probationaryLength(rows.length)),
    meta: { source: 'nab', category, metric },
  };
}

/** The results-file rows: label 1 inside a window. */
export function nabResultsCsv(series: NabSeries, scores: readonly number[], windows: ReadonlyArray<readonly [number, number]>): string {
  if (scores.length !== series.timestamps.length) throw new Error(`${series.file}: ${scores.length} scores for ${series.timestamps.length} rows`);
  const lines = ['timestamp,value,anomaly_score,label'];
  for (let i = 0; i < scores.length; i++) {
    const t = series.timestamps[i];
    const label = windows.some(([a, b]) => t >= a && t <= b) ? 1 : 0;
    const s = scores[i];
    if (!(s >= 0 && s <= 1)) throw new Error(`${series.file}: anomaly score ${s} at row ${i} is outside [0, 1]`);
    lines.push(`${formatNabTimestamp(t)},${series.rawValues[i]},${s},${label}`);
  }
  return lines.join('\n') + '\n';
}

/** Writes <outDir>/<detector>/<category>/<detector>_<file>; returns the path. */
export function writeNabResults(outDir: string, detector: string, category: string, series: NabSeries, scores: readonly number[], windows: ReadonlyArray<readonly [number, number]>): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(detector)) throw new Error(`detector name "${detector}" is not usable in a file name`);
  const dir = join(outDir, detector, ...category.split('/'));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${detector}_${series.file}`);
  writeFileSync(path, nabResultsCsv(series, scores, windows));
  return path;
}

export interface NabCorpusFile {
  series: NabSeries;
  category: string;
  windows: Array<[number, number]>;
}

/** Every *.csv of a NAB data directory with its labels (files without labels are an error: NAB scores none of them). */
export function readNabCorpus(dataDir: string, windowsPath = join(dataDir, 'windows.json')): NabCorpusFile[] {
  const labels = readNabWindows(windowsPath);
  const files = readdirSync(dataDir).filter((f) => f.endsWith('.csv')).sort();
  if (files.length === 0) throw new Error(`${dataDir}: no .csv data files`);
  return files.map((file) => {
    const l = labelsFor(labels, file);
    if (!l) throw new Error(`${file}: no entry in ${windowsPath}`);
    return { series: readNabCsv(join(dataDir, file)), category: l.category, windows: l.windows };
  });
}

/** Scores of one file in the form the NAB scorer takes. */
export function nabFileScores(f: NabCorpusFile, scores: readonly number[]): NabFileScores {
  const windows = f.windows.map(([a, b]) => windowRowRange(f.series.timestamps, a, b)).filter((w): w is [number, number] => w !== null);
  return { name: f.series.file, scores, windows };
}
