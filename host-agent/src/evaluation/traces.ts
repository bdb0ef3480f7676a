// Reading labelled traces (the format is defined in docs/evaluation.md):
//   <name>.jsonl   one JSON object per line: {"kind":"meta",...}, {"kind":"sample",ts,...}, {"kind":"fault",start,failure?,end}
//   <name>.jsonl.gz the same, gzip-compressed (the recorded scenario library, traces/)
//   <name>.csv     header ts|timestamp plus any of cpu,mem,net,disk; faults in a windows JSON file
//                  { "<name>.csv": [ {start, failure?, end, label?} | [start, end], ... ] }

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { METRICS, type Row } from './detector';
import { parseNabTimestamp } from './nab';
import { validateTrace, type FaultWindow, type Trace } from './types';
import { preview } from '../preview';

/** A time: ms since the epoch, or a string (NAB "YYYY-MM-DD HH:MM:SS" as UTC, or ISO 8601). */
export function parseTime(v: unknown, what: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new Error(`${what}: ${v} is not a time in ms since the epoch`);
    return v;
  }
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
    try {
      return parseNabTimestamp(t);
    } catch {
      const ms = Date.parse(t);
      if (Number.isFinite(ms)) return ms;
    }
  }
  throw new Error(`${what}: ${preview(v)} is not a time (ms since the epoch or a date string)`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function metricOrNull(v: unknown, what: string): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`${what}: ${preview(v)} is not a number`);
  return n;
}

/** A fault window from {start, failure?, end, label?} or [start, end]. */
export function parseWindow(v: unknown, what: string): FaultWindow {
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new Error(`${what}: a window pair must be [start, end]`);
    return { start: parseTime(v[0], `${what} start`), end: parseTime(v[1], `${what} end`) };
  }
  if (!isObject(v)) throw new Error(`${what}: expected {start, failure?, end} or [start, end]`);
  const w: FaultWindow = { start: parseTime(v.start, `${what} start`), end: parseTime(v.end, `${what} end`) };
  if (v.failure !== undefined && v.failure !== null) w.failure = parseTime(v.failure, `${what} failure`);
  if (typeof v.label === 'string') w.label = v.label;
  return w;
}

function rowFrom(obj: Record<string, unknown>, what: string): Row {
  const row: Row = { ts: parseTime(obj.ts ?? obj.timestamp, `${what} ts`) };
  for (const m of METRICS) {
    const v = metricOrNull(obj[m], `${what} ${m}`);
    if (v !== null) row[m] = v;
  }
  return row;
}

export function parseJsonlTrace(text: string, name: string): Trace {
  const rows: Row[] = [];
  const windows: FaultWindow[] = [];
  const meta: Record<string, string> = {};
  let trainUntilTs: number | null = null;
  let traceName = name;
  text.split(/\r?\n/).forEach((line, k) => {
    if (line.trim() === '') return;
    const what = `${name}:${k + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${what}: not JSON: ${(e as Error).message}`);
    }
    if (!isObject(obj)) throw new Error(`${what}: expected a JSON object`);
    const kind = obj.kind ?? 'sample';
    if (kind === 'sample') rows.push(rowFrom(obj, what));
    else if (kind === 'fault') windows.push(parseWindow(obj, what));
    else if (kind === 'meta') {
      if (typeof obj.name === 'string') traceName = obj.name;
      if (obj.trainUntil !== undefined) trainUntilTs = parseTime(obj.trainUntil, `${what} trainUntil`);
      for (const [key, v] of Object.entries(obj)) if (key !== 'kind' && (typeof v === 'string' || typeof v === 'number')) meta[key] = String(v);
    } else throw new Error(`${what}: unknown kind ${preview(kind)} (expected sample, fault or meta)`);
  });
  return finish({ name: traceName, rows, windows, meta }, trainUntilTs, name);
}

export function parseCsvTrace(text: string, name: string, windows: FaultWindow[]): Trace {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error(`${name}: empty file`);
  const header = lines[0].split(',').map((h) => h.trim());
  if (!header.includes('ts') && !header.includes('timestamp')) throw new Error(`${name}: header needs a "ts" or "timestamp" column, got "${lines[0]}"`);
  if (!header.some((h) => (METRICS as readonly string[]).includes(h))) throw new Error(`${name}: header has none of the metric columns ${METRICS.join(', ')}`);
  const rows = lines.slice(1).map((line, k) => {
    const cells = line.split(',');
    const obj: Record<string, unknown> = {};
    header.forEach((h, i) => (obj[h] = cells[i]?.trim()));
    return rowFrom(obj, `${name}:${k + 2}`);
  });
  return finish({ name, rows, windows, meta: {} }, null, name);
}

/** `file` names the input in errors (a trace's meta may give it another name). */
function finish(t: Trace, trainUntilTs: number | null, file: string): Trace {
  if (trainUntilTs !== null) {
    const idx = t.rows.findIndex((r) => r.ts >= trainUntilTs);
    t.trainUntil = idx < 0 ? t.rows.length : idx;
  }
  try {
    validateTrace(t);
  } catch (e) {
    if (t.name === file) throw e;
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return t;
}

/** windows JSON for CSV traces: file name -> list of windows. */
export function parseTraceWindows(text: string, source: string): Map<string, FaultWindow[]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw new Error(`${source}: expected an object mapping file names to window lists`);
  const out = new Map<string, FaultWindow[]>();
  for (const [file, list] of Object.entries(json)) {
    if (!Array.isArray(list)) throw new Error(`${source}: "${file}" must map to a list of windows`);
    out.set(file.slice(file.lastIndexOf('/') + 1), list.map((w, k) => parseWindow(w, `${source} "${file}" window ${k}`)));
  }
  return out;
}

/** A .jsonl or .jsonl.gz trace file. */
export function readJsonlTraceFile(path: string, name = path.slice(path.lastIndexOf('/') + 1)): Trace {
  const raw = readFileSync(path);
  let text: string;
  try {
    text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  } catch (e) {
    throw new Error(`${name}: not a gzip file: ${(e as Error).message}`);
  }
  return parseJsonlTrace(text, name);
}

/**
 * Every trace of a directory: *.jsonl(.gz), and *.csv with windows from
 * `windowsPath` (default <dir>/windows.json; a CSV without an entry has no faults).
 * trainFraction applies to traces that do not set trainUntil themselves.
 */
export function readTraceDir(dir: string, windowsPath?: string, trainFraction = 0.15): Trace[] {
  if (!existsSync(dir)) throw new Error(`${dir}: no such directory`);
  const files = readdirSync(dir).sort();
  const csvs = files.filter((f) => f.endsWith('.csv'));
  const wpath = windowsPath ?? join(dir, 'windows.json');
  let windows = new Map<string, FaultWindow[]>();
  if (csvs.length > 0) {
    if (!existsSync(wpath)) throw new Error(`${dir}: CSV traces need a windows file (${wpath} not found; pass --windows FILE)`);
    windows = parseTraceWindows(readFileSync(wpath, 'utf8'), wpath);
  }
  const traces: Trace[] = [];
  for (const f of files) {
    const path = join(dir, f);
    if (f.endsWith('.jsonl') || f.endsWith('.jsonl.gz')) traces.push(readJsonlTraceFile(path, f));
    else if (f.endsWith('.csv')) traces.push(parseCsvTrace(readFileSync(path, 'utf8'), f, windows.get(f) ?? []));
  }
  if (traces.length === 0) throw new Error(`${dir}: no .jsonl, .jsonl.gz or .csv traces`);
  for (const t of traces) if (t.trainUntil === undefined) t.trainUntil = Math.floor(trainFraction * t.rows.length);
  return traces;
}
