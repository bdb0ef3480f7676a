// Trace writing of the scenario runner (scripts/scenarios/trace-file.ts),
// read back with the evaluation's own reader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseJsonlTrace, readJsonlTraceFile, readTraceDir } from '../../src/evaluation/traces';
import type { SampleRow } from '../../src/store/store';
import { sampleGaps, sampleLine, traceText, writeTraceFile, type TraceMeta } from '../../../scripts/scenarios/trace-file';

const T0 = 1_800_000_000_000;

function row(i: number, o: Partial<SampleRow['sample']> = {}, risk: number | null = null): SampleRow {
  return {
    sample: { domain: 'vm', ts: T0 + i * 1000, state: 'running', cpuPct: 10 + i, memPct: 30, netRxBps: 100, netTxBps: 50, diskRdBps: null, diskWrBps: 4096, ...o },
    risk,
  };
}

const meta: TraceMeta = { name: 'cpu-runaway-1', trainUntil: T0 + 3000, scenario: 'cpu-runaway', variant: 'every 8 s', probes: 12 };
const window = { start: T0 + 6000, failure: T0 + 8000, end: T0 + 9000, label: 'cpu-runaway' };

test('sampleLine maps the agent sample to trace metrics: net = rx + tx, disk = read + write, nulls kept', () => {
  assert.deepEqual(sampleLine(row(1, {}, 0.25)), { kind: 'sample', ts: T0 + 1000, cpu: 11, mem: 30, net: 150, disk: 4096, state: 'running', risk: 0.25 });
  const empty = sampleLine(row(0, { cpuPct: null, memPct: null, netRxBps: null, netTxBps: null, diskRdBps: null, diskWrBps: null, state: 'vanished' }));
  assert.deepEqual([empty.cpu, empty.mem, empty.net, empty.disk, empty.state], [null, null, null, null, 'vanished']);
  assert.equal(sampleLine(row(0, { netRxBps: null, netTxBps: 7 })).net, 7, 'one direction known: the sum is that one');
  assert.equal(sampleLine(row(0, { cpuPct: 12.3456789 })).cpu, 12.35);
});

test('traceText round-trips through the evaluation reader: rows, window, trainUntil, meta', () => {
  const rows = [row(2), row(0), row(1), ...[3, 4, 5, 6, 7, 8, 9].map((i) => row(i))]; // out of order on purpose
  const t = parseJsonlTrace(traceText(meta, rows, window), 'x.jsonl');
  assert.equal(t.name, 'cpu-runaway-1');
  assert.equal(t.rows.length, 10);
  assert.deepEqual(t.rows.map((r) => r.ts), rows.map((r) => r.sample.ts).sort((a, b) => a - b));
  assert.deepEqual(t.rows[0], { ts: T0, cpu: 10, mem: 30, net: 150, disk: 4096 });
  assert.deepEqual(t.windows, [window]);
  assert.equal(t.trainUntil, 3, 'rows before trainUntil (T0 + 3 s) train only');
  assert.equal(t.meta?.scenario, 'cpu-runaway');
  assert.equal(t.meta?.probes, '12');
});

test('a window without failure is written without the field; no samples is an error', () => {
  const text = traceText(meta, [row(0), row(7)], { start: T0 + 6000, end: T0 + 7000, label: 'hang' });
  const fault = JSON.parse(text.trim().split('\n').pop() as string) as Record<string, unknown>;
  assert.deepEqual(fault, { kind: 'fault', start: T0 + 6000, end: T0 + 7000, label: 'hang' });
  assert.throws(() => traceText(meta, [], window), /cpu-runaway-1: the agent recorded no samples/);
});

test('writeTraceFile gzips .gz files; readTraceDir reads .jsonl.gz beside .jsonl, and names a corrupt file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-trace-test-'));
  try {
    const rows = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => row(i));
    writeTraceFile(join(dir, 'a.jsonl.gz'), traceText(meta, rows, window));
    writeTraceFile(join(dir, 'b.jsonl'), traceText({ ...meta, name: 'plain' }, rows, window));
    assert.deepEqual(readdirSync(dir).sort(), ['a.jsonl.gz', 'b.jsonl'], 'no temporary file left');
    const raw = readFileSync(join(dir, 'a.jsonl.gz'));
    assert.deepEqual([raw[0], raw[1]], [0x1f, 0x8b], 'gzip magic');
    assert.match(gunzipSync(raw).toString('utf8'), /^\{"kind":"meta"/);
    const traces = readTraceDir(dir);
    assert.deepEqual(traces.map((t) => t.name), ['cpu-runaway-1', 'plain']);
    assert.deepEqual(traces[0].rows, traces[1].rows);
    writeFileSync(join(dir, 'c.jsonl.gz'), 'not gzip');
    assert.throws(() => readJsonlTraceFile(join(dir, 'c.jsonl.gz')), /c\.jsonl\.gz: not a gzip file/);
    assert.throws(() => readTraceDir(dir), /c\.jsonl\.gz: not a gzip file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sampleGaps: the longest hole in the 1-s sampling and how many exceed 2 s', () => {
  const at = (...secs: number[]) => secs.map((x) => row(0, { ts: T0 + x * 1000 }));
  assert.deepEqual(sampleGaps(at(0, 1, 2, 3)), { maxMs: 1000, long: 0 });
  assert.deepEqual(sampleGaps(at(0, 1, 4, 5, 97, 98)), { maxMs: 92_000, long: 2 });
  assert.deepEqual(sampleGaps(at(5, 0, 1)), { maxMs: 4000, long: 1 }, 'in time order whatever the input order');
  assert.deepEqual(sampleGaps([]), { maxMs: 0, long: 0 });
});
