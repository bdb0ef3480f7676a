// Writing a recorded run as a labelled trace, in the format that
// host-agent/src/evaluation/traces.ts reads (docs/evaluation.md):
//   {"kind":"meta",...}  {"kind":"sample",ts,cpu,mem,net,disk,...}  {"kind":"fault",start,failure,end,label}
// Samples are the agent's own (its SQLite store), turned into trace rows:
// cpu = cpuPct, mem = memPct, net = rx + tx, disk = read + write. `state`
// and the agent's `risk` ride along (the trace reader ignores them).

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FaultWindow } from '../../host-agent/src/evaluation/types';
import type { SampleRow } from '../../host-agent/src/store/store';

export interface TraceSampleLine {
  kind: 'sample';
  ts: number;
  cpu: number | null;
  mem: number | null;
  net: number | null;
  disk: number | null;
  state: string;
  risk: number | null;
}

/** Provenance: any string or number fields besides name and trainUntil. */
export type TraceMeta = { name: string; trainUntil: number } & Record<string, string | number>;

function sum(a: number | null, b: number | null): number | null {
  return a === null && b === null ? null : (a ?? 0) + (b ?? 0);
}

const round = (x: number | null, digits: number) => (x === null ? null : Number(x.toFixed(digits)));

export function sampleLine(r: SampleRow): TraceSampleLine {
  const s = r.sample;
  return {
    kind: 'sample',
    ts: s.ts,
    cpu: round(s.cpuPct, 2),
    mem: round(s.memPct, 2),
    net: round(sum(s.netRxBps, s.netTxBps), 0),
    disk: round(sum(s.diskRdBps, s.diskWrBps), 0),
    state: s.state,
    risk: round(r.risk, 4),
  };
}

/** Holes in the agent's sampling (it samples every `intervalMs`): the longest, and how many exceed twice the interval. */
export function sampleGaps(rows: readonly SampleRow[], intervalMs = 1000): { maxMs: number; long: number } {
  const ts = rows.map((r) => r.sample.ts).sort((a, b) => a - b);
  let maxMs = 0;
  let long = 0;
  for (let i = 1; i < ts.length; i++) {
    const gap = ts[i] - ts[i - 1];
    if (gap > maxMs) maxMs = gap;
    if (gap > 2 * intervalMs) long++;
  }
  return { maxMs, long };
}

/** The trace as JSON lines: meta, samples in time order, then the fault window. */
export function traceText(meta: TraceMeta, rows: readonly SampleRow[], window: FaultWindow): string {
  if (rows.length === 0) throw new Error(`trace ${meta.name}: the agent recorded no samples of the domain`);
  const lines: string[] = [JSON.stringify({ kind: 'meta', ...meta, trainUntil: new Date(meta.trainUntil).toISOString() })];
  const sorted = [...rows].sort((a, b) => a.sample.ts - b.sample.ts);
  for (const r of sorted) lines.push(JSON.stringify(sampleLine(r)));
  lines.push(JSON.stringify({ kind: 'fault', start: window.start, ...(window.failure !== undefined ? { failure: window.failure } : {}), end: window.end, label: window.label ?? '' }));
  return lines.join('\n') + '\n';
}

/** Writes `text` to `path` (gzip-compressed when it ends in .gz), atomically. */
export function writeTraceFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, path.endsWith('.gz') ? gzipSync(text, { level: 9 }) : text);
  renameSync(tmp, path);
}
