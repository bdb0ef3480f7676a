// Fuzz: the model loader. A real trained model's file, damaged at random:
// bytes flipped, the file cut short, garbage inserted, and any part of the
// JSON document replaced by another value (wrong types, huge arrays,
// numbers like 1e400 that JSON reads as Infinity, deep nesting). Loading
// either gives a model the live predictor can use (risk null or valid), or
// a ModelError naming the file: never another exception, never a hang. And
// the daemon's predictor factory turns a damaged newest model into "no
// model" (risk unknown, safe interval) with a log line naming the file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ModelError } from '../../src/hmm/model';
import { trainModel } from '../../src/hmm/train';
import { memoryLogger } from '../../src/log';
import { predictorFactory } from '../../src/predictor/factory';
import { HmmPredictor } from '../../src/predictor/hmmPredictor';
import { readModelFile, serializeModel } from '../../src/predictor/modelFiles';
import { Risk } from '../../src/protocol/api';
import { syntheticHistory } from '../hmm/helpers';

const history = syntheticHistory(1200, 11);
const { model } = trainModel([{ domain: 'vm', samples: history.samples }], { restarts: 1, maxIterations: 20, now: 1 });
const TEXT = serializeModel(model);

/** Loads `text` as a model file: a usable model or a ModelError naming the file. */
function loadOrNamedError(path: string, text: string | Buffer): void {
  writeFileSync(path, text);
  let m;
  try {
    m = readModelFile(path);
  } catch (e) {
    assert.ok(e instanceof ModelError, `not a ModelError: ${(e as Error)?.stack ?? String(e)}`);
    assert.ok(e.message.startsWith(`model ${path}: `), e.message);
    return;
  }
  const p = new HmmPredictor(m);
  for (const s of history.samples.slice(0, 50)) {
    const r = p.observe(s);
    if (r !== null) Risk.parse(r, 'risk');
  }
}

/** Every path into a JSON value (object keys and array indexes), arrays sampled to keep the list short. */
function paths(v: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => (i < 3 || i === v.length - 1) && paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}
const PATHS = paths(JSON.parse(TEXT));

function replaceAt(doc: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = Array.isArray(doc) ? [...doc] : { ...(doc as Record<string, unknown>) };
  const [head, ...rest] = path;
  (copy as Record<string | number, unknown>)[head] = replaceAt((doc as Record<string | number, unknown>)[head], rest, value);
  return copy;
}

const strange = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, '', 'x'.repeat(100), -1, 0, 1, 2, 0.5, 1e-300, 1 - 1e-9, 31, 32, 1000),
  fc.constant('__RAW__1e400'),
  fc.constant('__RAW__' + '['.repeat(5000) + ']'.repeat(5000)),
  fc.integer({ min: 0, max: 50_000 }).map((n) => Array.from({ length: n }, () => 0.5)),
);

test('fuzz: a model file with random parts replaced is a usable model or a ModelError naming the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-model-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'm.json');
  fc.assert(fc.property(fc.constantFrom(...PATHS), strange, (p, value) => {
    let text: string;
    if (typeof value === 'string' && value.startsWith('__RAW__')) {
      const marker = '"__MARK__"';
      text = JSON.stringify(replaceAt(JSON.parse(TEXT), p, '__MARK__')).replace(marker, value.slice(7));
    } else text = JSON.stringify(replaceAt(JSON.parse(TEXT), p, value));
    loadOrNamedError(path, text);
  }), { numRuns: 400 });
});

test('fuzz: a model file with flipped bytes, cut short or with garbage inserted is a usable model or a ModelError naming the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-model-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'm.json');
  const bytes = Buffer.from(TEXT);
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })), { nil: undefined }),
    (flips, cut, insert) => {
      let b = Buffer.from(bytes);
      for (const [pos, v] of flips) b[pos % b.length] = v;
      if (insert) b = Buffer.concat([b.subarray(0, insert[0] % b.length), Buffer.from(insert[1]), b.subarray(insert[0] % b.length)]);
      if (cut !== undefined) b = b.subarray(0, cut % b.length);
      loadOrNamedError(path, b);
    },
  ), { numRuns: 600 });
});

test('a damaged newest model: the daemon\'s predictor factory gives no predictor (risk unknown) and logs the file and the reason', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-model-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'vm1'));
  writeFileSync(join(dir, 'vm1', '20200101T000000Z-aaaaaa.json'), TEXT);
  writeFileSync(join(dir, 'vm1', '20300101T000000Z-bbbbbb.json'), TEXT.slice(0, TEXT.length / 2));
  const log = memoryLogger();
  const make = predictorFactory(dir, {}, log);
  assert.equal(make('vm1'), null);
  const line = log.lines.find((l) => l.includes('ERROR'));
  assert.match(line ?? '', new RegExp(`vm1: no risk prediction: model ${join(dir, 'vm1', '20300101T000000Z-bbbbbb.json').replace(/[.]/g, '\\.')}: not valid JSON \\(truncated or corrupt file\\?\\)`));
});
