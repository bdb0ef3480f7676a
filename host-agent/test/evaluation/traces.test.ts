import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/evaluate';
import { parseCsvTrace, parseJsonlTrace, parseTraceWindows, readTraceDir } from '../../src/evaluation/traces';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);

/** A JSONL trace: cpu 20 +- 1, a fault whose cpu ramps up to 95 from minute 60 to the failure at 80. */
function jsonlTrace(name: string): string {
  const lines = [JSON.stringify({ kind: 'meta', name, trainUntil: T0 + 30 * MIN, scenario: 'cpu-hog' })];
  for (let i = 0; i < 180; i++) {
    const cpu = i >= 60 && i <= 80 ? 20 + (75 * (i - 60)) / 20 : 20 + (i % 2);
    lines.push(JSON.stringify({ kind: 'sample', ts: T0 + i * MIN, cpu, mem: 40, net: null }));
  }
  lines.push(JSON.stringify({ kind: 'fault', start: new Date(T0 + 60 * MIN).toISOString(), failure: T0 + 80 * MIN, end: T0 + 90 * MIN, label: 'cpu-hog' }));
  return lines.join('\n') + '\n';
}

test('a JSONL trace reads samples, faults and meta (trainUntil as a time)', () => {
  const t = parseJsonlTrace(jsonlTrace('hog'), 'hog.jsonl');
  assert.equal(t.name, 'hog');
  assert.equal(t.rows.length, 180);
  assert.equal(t.trainUntil, 30);
  assert.deepEqual(t.windows, [{ start: T0 + 60 * MIN, failure: T0 + 80 * MIN, end: T0 + 90 * MIN, label: 'cpu-hog' }]);
  assert.equal(t.rows[0].net, undefined);
  assert.equal(t.meta?.scenario, 'cpu-hog');
});

test('bad traces are refused naming the file, line and field', () => {
  assert.throws(() => parseJsonlTrace('{"kind":"sample","ts":1,"cpu":"x"}\n', 'a.jsonl'), /a\.jsonl:1 cpu: "x" is not a number/);
  assert.throws(() => parseJsonlTrace('{"kind":"sample","ts":1}\nnope\n', 'a.jsonl'), /a\.jsonl:2: not JSON/);
  assert.throws(() => parseJsonlTrace('{"kind":"alarm"}\n', 'a.jsonl'), /unknown kind "alarm"/);
  assert.throws(() => parseJsonlTrace('{"ts":5}\n{"ts":3}\n', 'a.jsonl'), /not in time order at row 1/);
  assert.throws(() => parseJsonlTrace('{"ts":5}\n{"kind":"fault","start":10,"end":5}\n', 'a.jsonl'), /window 0 ends \(5\) before it starts \(10\)/);
  assert.throws(() => parseCsvTrace('when,cpu\n1,2\n', 'b.csv', []), /b\.csv: header needs a "ts" or "timestamp" column/);
  assert.throws(() => parseTraceWindows('{"b.csv": [[1]]}', 'w.json'), /window pair must be \[start, end\]/);
});

test('a CSV trace takes its faults from the windows file; NAB-style and ISO times both work', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-traces-'));
  try {
    writeFileSync(join(dir, 'vm1.csv'), 'ts,cpu,mem\n2026-01-01 00:00:00,10,20\n2026-01-01T00:01:00Z,11,\n1767225720000,90,30\n');
    writeFileSync(join(dir, 'windows.json'), JSON.stringify({ 'vm1.csv': [{ start: '2026-01-01 00:01:00', failure: '2026-01-01 00:02:00', end: '2026-01-01 00:03:00' }] }));
    const [t] = readTraceDir(dir, undefined, 0);
    assert.deepEqual(t.rows.map((r) => r.ts), [T0, T0 + MIN, T0 + 2 * MIN]);
    assert.equal(t.rows[1].mem, undefined);
    assert.equal(t.windows[0].failure, T0 + 2 * MIN);
    rmSync(join(dir, 'windows.json'));
    assert.throws(() => readTraceDir(dir), /CSV traces need a windows file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hefery-agent evaluate --traces scores the baselines and writes the JSON report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-eval-'));
  try {
    writeFileSync(join(dir, 'hog1.jsonl'), jsonlTrace('hog1'));
    writeFileSync(join(dir, 'hog2.jsonl'), jsonlTrace('hog2'));
    const json = join(dir, 'out.json');
    const code = await run(['--traces', dir, '--detectors', 'threshold,ewma', '--thresholds', '0.5,0.9', '--refractory', '30m', '--json', json]);
    assert.equal(code, 0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { refractoryMs: number; detectors: Array<{ detector: string; sweep: Array<{ threshold: number; tp: number; fn: number; fp: number; leadTimeMedianMs: number | null }> }> };
    assert.equal(doc.refractoryMs, 30 * MIN);
    const thr = doc.detectors.find((d) => d.detector === 'threshold');
    assert.ok(thr);
    // cpu reaches 50% at minute 68 (score 0.5), 12 min before the failure, and 90% at minute 79 (91.25%).
    const at05 = thr.sweep.find((s) => s.threshold === 0.5);
    assert.deepEqual([at05?.tp, at05?.fn, at05?.fp, at05?.leadTimeMedianMs], [2, 0, 0, 12 * MIN]);
    const at09 = thr.sweep.find((s) => s.threshold === 0.9);
    assert.deepEqual([at09?.tp, at09?.fn, at09?.leadTimeMedianMs], [2, 0, 1 * MIN]);
    assert.ok(doc.detectors.some((d) => d.detector === 'ewma'));

    // A 5-minute minimal warning time makes the 1-minute warnings late.
    assert.equal(await run(['--traces', dir, '--detectors', 'threshold', '--thresholds', '0.9', '--warning', '5m', '--json', json]), 0);
    const late = JSON.parse(readFileSync(json, 'utf8')) as { detectors: Array<{ sweep: Array<{ tp: number; late: number }> }> };
    assert.deepEqual([late.detectors[0].sweep[0].tp, late.detectors[0].sweep[0].late], [0, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hefery-agent evaluate refuses a bad command line', async () => {
  await assert.rejects(run(['--traces', 'a', '--nab', 'b']), { name: 'UsageError', message: /exactly one of --traces DIR and --nab DIR/ });
  await assert.rejects(run(['--traces', 'a', '--thresholds', '2']), { name: 'UsageError', message: /outside \[0, 1\]/ });
  await assert.rejects(run(['--traces', 'a', '--detectors', 'magic']), { name: 'UsageError', message: /unknown detector "magic"/ });
  await assert.rejects(run(['--traces', 'a', '--nab-out', 'x']), { name: 'UsageError', message: /--nab-out needs --nab/ });
});
