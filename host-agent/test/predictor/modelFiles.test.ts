import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError, modelSummary, newModelVersion, parseModel, type HmmModel } from '../../src/hmm/model';
import { trainModel } from '../../src/hmm/train';
import { newestModelPath, readModelFile, readNewestModel, serializeModel, writeModel } from '../../src/predictor/modelFiles';
import { syntheticHistory } from '../hmm/helpers';

const model = trainModel([{ domain: 'vm1', samples: syntheticHistory(600, 3).samples }], { restarts: 1, maxIterations: 5, now: 1_767_225_600_000, version: '20260101T000000Z-abcdef' }).model;
const text = serializeModel(model);
const tweak = (f: (m: Record<string, unknown>) => void): string => {
  const m = JSON.parse(text) as Record<string, unknown>;
  f(m);
  return JSON.stringify(m);
};

test('round trip: a written model reads back identical; the newest file of a domain wins; old files are pruned', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-models-'));
  try {
    assert.equal(readNewestModel(dir, 'vm1'), null, 'no model yet');
    const path = writeModel(dir, 'vm1', model);
    assert.equal(path, join(dir, 'vm1', `${model.version}.json`));
    assert.deepEqual(readModelFile(path), model);
    const later = { ...model, version: '20260102T000000Z-000001' } as HmmModel;
    writeModel(dir, 'vm1', later);
    assert.equal(readNewestModel(dir, 'vm1')?.model.version, later.version);
    for (let i = 0; i < 12; i++) writeModel(dir, 'vm1', { ...model, version: `20260103T0000${String(i).padStart(2, '0')}Z-000000` } as HmmModel, 5);
    const files = readdirSync(join(dir, 'vm1'));
    assert.equal(files.length, 5, files.join());
    assert.ok(files.every((f) => !f.includes('.tmp-')), 'no temporary file left behind');
    assert.equal(newestModelPath(dir, 'vm1'), join(dir, 'vm1', '20260103T000011Z-000000.json'));
    assert.throws(() => newestModelPath(dir, '../etc'), /not a domain name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the API summary carries the matrices, the states and the training range', () => {
  const s = modelSummary(model, 'vm1');
  assert.equal(s.version, model.version);
  assert.equal(s.trainedFrom, model.training.from);
  assert.equal(s.symbols, 81);
  assert.equal(s.transition.length, 9);
  assert.deepEqual(s.states[0], model.states[0]);
  assert.match(newModelVersion(Date.UTC(2026, 0, 2, 3, 4, 5), () => 0.5), /^20260102T030405Z-800000$/);
});

const CORRUPT: Array<[string, string, RegExp]> = [
  ['truncated', text.slice(0, Math.floor(text.length / 2)), /not valid JSON \(truncated or corrupt file\?\)/],
  ['empty', '', /not valid JSON/],
  ['not an object', '[1,2]', /not a JSON object/],
  ['another format', tweak((m) => (m.format = 'other')), /not a Hefery HMM model \(format "other"/],
  ['another format version', tweak((m) => (m.formatVersion = 2)), /format version 2 is not supported \(this agent reads version 1\)/],
  ['a missing field', tweak((m) => delete m.pi), /^model .*: pi: expected array, got undefined/],
  ['an unknown field', tweak((m) => (m.extra = 1)), /extra: expected no such field/],
  ['an unknown health', tweak((m) => ((m.states as Array<{ health: string }>)[0].health = 'sick')), /states\[0\]\.health: expected one of normal, abnormal, failed/],
  ['a non-number', tweak((m) => ((m.transition as unknown[][])[0][0] = null)), /transition\[0\]\[0\]: expected finite number, got null/],
  ['a negative probability', tweak((m) => ((m.pi as number[])[0] = -0.1)), /pi\[0\] = -0\.1 is not a probability/],
  ['a non-stochastic row', tweak((m) => ((m.emission as number[][])[2][0] += 0.5)), /emission row 2 sums to 1\.(5|49)\d*, not 1 \(not stochastic\)/],
  ['a transition of the wrong shape', tweak((m) => (m.transition as number[][]).pop()), /transition must be 9x9 for 9 states/],
  ['a state count that does not match pi', tweak((m) => (m.states as unknown[]).pop()), /pi has 9 entries for 8 states/],
  ['emission columns that do not match the discretization', tweak((m) => ((m.discretization as { metrics: unknown[] }).metrics.pop())), /emission row 0 has 81 columns, but the discretization \(cpu: 3 levels, mem: 3 levels, net: 3 levels\) gives 27 symbols/],
  ['a metric listed twice', tweak((m) => { const d = m.discretization as { metrics: Array<{ metric: string }> }; d.metrics[1].metric = 'cpu'; }), /discretization lists metric "cpu" twice/],
  ['descending thresholds', tweak((m) => { const d = m.discretization as { metrics: Array<{ thresholds: number[] }> }; d.metrics[0].thresholds = [5, 1]; }), /thresholds of "cpu" are not ascending: 5, 1/],
  ['an unknown metric', tweak((m) => { const d = m.discretization as { metrics: Array<{ metric: string }> }; d.metrics[0].metric = 'gpu'; }), /metrics\[0\]\.metric: expected one of cpu, mem, net, disk/],
  ['a training range that ends before it starts', tweak((m) => { const t = m.training as { from: number; to: number }; t.to = t.from - 1; }), /training range ends .* before it starts/],
  ['a bad version id', tweak((m) => (m.version = '../../x')), /version: expected string matching/],
];

for (const [what, body, message] of CORRUPT) {
  test(`a model file with ${what} is a clear ModelError naming the file`, () => {
    assert.throws(() => parseModel(body, '/models/vm1/x.json'), (e: Error) => {
      assert.ok(e instanceof ModelError, `${e.name}: ${e.message}`);
      assert.ok(e.message.startsWith('model /models/vm1/x.json: '), e.message);
      assert.match(e.message, message);
      return true;
    });
  });
}

test('an unreadable or corrupt newest file is an error, not a silent fallback to an older model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-models-'));
  try {
    writeModel(dir, 'vm1', model);
    writeFileSync(join(dir, 'vm1', '29990101T000000Z-000000.json'), text.slice(0, 100));
    assert.throws(() => readNewestModel(dir, 'vm1'), /29990101T000000Z-000000\.json: not valid JSON/);
    mkdirSync(join(dir, 'vm2', '29990101T000000Z-000000.json'), { recursive: true });
    assert.throws(() => readNewestModel(dir, 'vm2'), /cannot read: EISDIR/);
    assert.ok(existsSync(join(dir, 'vm1', `${model.version}.json`)));
    assert.equal(readFileSync(join(dir, 'vm1', `${model.version}.json`), 'utf8'), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
