// Fuzz: the CSV importer (hefery-agent train --csv / score --input) and the
// evaluation trace readers (.csv with windows, .jsonl, .jsonl.gz). Whatever
// the text: either every sample is one the agent could have produced (valid
// Sample, finite, in time order), or the reader throws an Error that names
// the file (and, for a bad row, its line). Never a TypeError from deep
// inside, never a hang. Inputs: random CSV-ish text from a vocabulary of
// troublesome cells, and byte/line mutations of valid files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { parseCsvTrace, parseJsonlTrace, readJsonlTraceFile } from '../../src/evaluation/traces';
import { Sample } from '../../src/protocol/api';
import { CsvError, parseSamplesCsv } from '../../src/training/csv';

const NAME = 'fuzz-input.csv';
const CELLS = ['', ' ', '0', '1', '42.5', '100', '100.0001', '-1', '-0', 'NaN', 'Infinity', '-Infinity', '1e309', '1e-320', '0x1F', '1_000', '١٢٣', 'abc',
  '"quoted"', '2024-02-29 12:00:00', '2023-02-29 12:00:00', '2024-13-01 00:00:00', '1700000000000', '9'.repeat(30), '2024-01-01T00:00:00Z', '\u0000', '\ud800', ';', 'null'];
const HEADERS = ['timestamp', 'ts', 'cpu', 'mem', 'net', 'disk', 'other', '', 'CPU', ' cpu '];

const cell = fc.constantFrom(...CELLS);
const csvText = fc.tuple(
  fc.array(fc.constantFrom(...HEADERS), { minLength: 0, maxLength: 6 }),
  fc.array(fc.array(cell, { minLength: 0, maxLength: 7 }), { maxLength: 12 }),
  fc.constantFrom('\n', '\r\n'),
).map(([h, rows, nl]) => [h.join(','), ...rows.map((r) => r.join(','))].join(nl));

const VALID_CSV = ['timestamp,cpu,mem,net,disk', ...Array.from({ length: 20 }, (_, i) => `${1_700_000_000_000 + i * 1000},${(i * 7) % 100},${40 + (i % 5)},${i * 100},${i % 3 ? 0 : 4096}`)].join('\n');

/** Random edits of a text: delete, insert, replace a character; duplicate, drop or swap a line. */
const mutated = (base: string) => fc.array(fc.tuple(fc.nat(), fc.nat({ max: 5 }), fc.constantFrom(...',.-\n\r0123456789eaN :T"\u0000'.split(''))), { minLength: 1, maxLength: 8 }).map((edits) => {
  let s = base;
  for (const [pos, kind, ch] of edits) {
    const i = pos % (s.length + 1);
    const lines = s.split('\n');
    const l = pos % lines.length;
    if (kind === 0) s = s.slice(0, i) + s.slice(i + 1);
    else if (kind === 1) s = s.slice(0, i) + ch + s.slice(i);
    else if (kind === 2) s = s.slice(0, i) + ch + s.slice(i + 1);
    else if (kind === 3) s = [...lines.slice(0, l), lines[l], ...lines.slice(l)].join('\n');
    else if (kind === 4) s = [...lines.slice(0, l), ...lines.slice(l + 1)].join('\n');
    else s = [...lines.slice(0, l), ...lines.slice(l + 1), lines[l]].join('\n');
  }
  return s;
});

function checkSamples(samples: readonly Sample[]): void {
  let prev = -Infinity;
  for (const s of samples) {
    Sample.parse(s, 'sample');
    assert.ok(s.ts >= prev, 'in time order');
    prev = s.ts;
  }
}

/** Runs `fn`; it must return, or throw an Error whose message names `name`. Returns the error, if any. */
function namedOrOk(name: string, fn: () => void): Error | null {
  try {
    fn();
    return null;
  } catch (e) {
    assert.ok(e instanceof Error, `threw a non-Error: ${String(e)}`);
    assert.ok(!(e instanceof TypeError) && !(e instanceof RangeError), `a bug, not a clear error: ${e.stack}`);
    assert.ok(e.message.includes(name), `the error names the file: ${e.message}`);
    return e;
  }
}

test('fuzz: the CSV importer gives valid samples or a CsvError naming the file and line', () => {
  fc.assert(fc.property(fc.oneof(csvText, mutated(VALID_CSV)), (text) => {
    const err = namedOrOk(NAME, () => checkSamples(parseSamplesCsv(text, NAME, 'vm1').samples));
    if (err) assert.ok(err instanceof CsvError, `${err.name}: ${err.message}`);
    if (err && /:\d+: /.test(err.message)) assert.match(err.message, new RegExp(`^${NAME.replace('.', '\\.')}:\\d+: `));
  }), { numRuns: 1500 });
});

test('fuzz: CSV traces (evaluation) give valid rows or an error naming the file', () => {
  fc.assert(fc.property(fc.oneof(csvText, mutated(VALID_CSV)), (text) => {
    namedOrOk(NAME, () => {
      const t = parseCsvTrace(text, NAME, [{ start: 1_700_000_005_000, end: 1_700_000_009_000 }]);
      for (const r of t.rows) assert.ok(Number.isFinite(r.ts));
    });
  }), { numRuns: 800 });
});

const VALID_JSONL = [
  JSON.stringify({ kind: 'meta', name: 'renamed-inside', trainUntil: 1_700_000_003_000 }),
  ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ kind: 'sample', ts: 1_700_000_000_000 + i * 1000, cpu: i * 9, mem: 40, net: 1000, disk: 0 })),
  JSON.stringify({ kind: 'fault', start: 1_700_000_004_000, failure: 1_700_000_006_000, end: 1_700_000_008_000 }),
].join('\n');
const JSONL_NAME = 'fuzz-trace.jsonl';

test('fuzz: JSONL traces give valid rows or an error naming the file (also when the trace renames itself)', () => {
  fc.assert(fc.property(mutated(VALID_JSONL), (text) => {
    namedOrOk(JSONL_NAME, () => {
      const t = parseJsonlTrace(text, JSONL_NAME);
      for (const r of t.rows) assert.ok(Number.isFinite(r.ts));
    });
  }), { numRuns: 800 });
});

test('values nested thousands of levels deep in a trace line: an error naming the file and line, not a stack overflow', () => {
  const deep = '['.repeat(20_000) + ']'.repeat(20_000);
  for (const line of [`{"kind":"sample","ts":${deep}}`, `{"kind":${deep}}`, `{"kind":"sample","ts":1,"cpu":${deep}}`, `{"kind":"fault","start":${deep},"end":2}`]) {
    const err = namedOrOk(JSONL_NAME, () => void parseJsonlTrace(line, JSONL_NAME));
    assert.match(err?.message ?? '', new RegExp(`^${JSONL_NAME.replace('.', '\\.')}:1[: ]`));
  }
});

test('fuzz: corrupt .jsonl.gz files give an error naming the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-gz-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gz = gzipSync(VALID_JSONL);
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.option(fc.nat(), { nil: undefined }), (flips, cut) => {
    const bytes = Buffer.from(gz);
    for (const [pos, v] of flips) bytes[pos % bytes.length] = v;
    const path = join(dir, 'corrupt.jsonl.gz');
    writeFileSync(path, cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length));
    namedOrOk('corrupt.jsonl.gz', () => void readJsonlTraceFile(path));
  }), { numRuns: 300 });
});

test('a large CSV is read whole (rows per second printed)', () => {
  const n = 50_000;
  const rows = ['timestamp,cpu,mem,net,disk'];
  for (let i = 0; i < n; i++) rows.push(`${1_700_000_000_000 + i * 1000},${i % 100},50,${i},0`);
  const t = performance.now();
  const r = parseSamplesCsv(rows.join('\n'), 'big.csv');
  const ms = performance.now() - t;
  assert.equal(r.samples.length, n);
  console.log(`# ${n} CSV rows read in ${ms.toFixed(0)} ms (${Math.round((n / ms) * 1000)} rows/s)`);
});
