import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { trainModel, TrainingCancelled, TrainingDataError, type TrainProgressInfo } from '../../src/hmm/train';
import { splitSequences } from '../../src/hmm/sequences';
import { HmmPredictor } from '../../src/predictor/hmmPredictor';
import type { Sample } from '../../src/protocol/api';
import { assertStochastic, mkSample, rng, syntheticHistory } from './helpers';

/** Share of samples where (risk >= 0.5) agrees with the truth, per class. */
function agreement(model: ReturnType<typeof trainModel>['model'], samples: Sample[], truth: boolean[]): { abnormal: number; normal: number } {
  const p = new HmmPredictor(model);
  let hitA = 0, nA = 0, hitN = 0, nN = 0;
  samples.forEach((s, i) => {
    const r = p.observe(s);
    assert.ok(r, `risk at ${i}`);
    if (truth[i]) { nA++; if (r.next >= 0.5) hitA++; } else { nN++; if (r.next < 0.5) hitN++; }
  });
  return { abnormal: hitA / nA, normal: hitN / nN };
}

test('sequences split at gaps, non-running samples, samples without metrics and time going backwards', () => {
  const s = (ts: number, cpu: number | null = 5, state: Sample['state'] = 'running') => ({ ...mkSample({ cpu }, ts), state });
  const seqs = splitSequences([s(0), s(1000), s(2000), s(30_000), s(31_000, null), s(32_000), s(33_000, 5, 'paused'), s(34_000), s(33_500), s(34_500)], 10_000);
  assert.deepEqual(seqs.map((q) => q.map((x) => x.ts)), [[0, 1000, 2000], [30_000], [32_000], [34_000], [33_500, 34_500]]);
  // default gap: max(10 s, 5 x median step): 5-minute rows stay one sequence
  assert.equal(splitSequences(Array.from({ length: 10 }, (_, i) => s(i * 300_000))).length, 1);
});

test('unsupervised: abnormal episodes get abnormal states and high risk; the failed states stay at their prior, rarely entered', () => {
  const train = syntheticHistory(6000, 1);
  const { model, restartLogLikelihoods } = trainModel([{ domain: 'vm1', samples: train.samples }], { restarts: 2, maxIterations: 40 });
  assert.equal(restartLogLikelihoods.length, 2);
  assert.equal(model.training.logLikelihood, Math.max(...restartLogLikelihoods));
  assert.deepEqual(model.training.supervised, []);
  assert.equal(model.states.length, 9);
  assert.ok(model.states.some((s) => s.health === 'abnormal'), model.states.map((s) => s.label).join());
  assert.deepEqual(model.states.slice(6).map((s) => s.health), ['failed', 'failed', 'failed']);
  for (let i = 0; i < 6; i++) for (let j = 6; j < 9; j++) assert.ok(model.transition[i][j] < 1e-3, `into failed ${i}->${j}: ${model.transition[i][j]}`);
  const test = syntheticHistory(4000, 2);
  const ok = agreement(model, test.samples, test.abnormal);
  assert.ok(ok.abnormal > 0.9 && ok.normal > 0.98, JSON.stringify(ok));
  assert.deepEqual(model.discretization.metrics.map((m) => m.metric), ['cpu', 'mem', 'net', 'disk']);
  assert.equal(model.training.observations, 6000);
  assert.equal(model.training.from, train.samples[0].ts);
  assert.equal(model.training.to, train.samples[5999].ts);
});

/** Episodes that are not extreme at all (cpu 50-60 % inside a 20-80 % normal range), only the incidents say they are abnormal. */
function subtle(T: number, seed: number) {
  const r = rng(seed);
  const samples: Sample[] = [];
  const abnormal: boolean[] = [];
  const windows: Array<{ from: number; to: number }> = [];
  let left = 0;
  for (let t = 0; t < T; t++) {
    const ts = 1_700_000_000_000 + t * 1000;
    if (left === 0 && t > 50 && r() < 0.004) { left = 40; windows.push({ from: ts, to: ts + 39_000 }); }
    const a = left > 0;
    if (a) left--;
    samples.push(mkSample({ cpu: a ? 50 + 10 * r() : r() < 0.5 ? 20 + 10 * r() : 70 + 10 * r(), net: a ? 0 : 1000 + 1000 * r() }, ts));
    abnormal.push(a);
  }
  return { samples, abnormal, windows };
}

test('semi-supervised: incident windows pin the abnormal block down even when the episodes are not extreme', () => {
  const d = subtle(8000, 5);
  const incidents = d.windows.map((w) => ({ ...w, health: 'abnormal' as const }));
  const { model } = trainModel([{ domain: 'vm1', samples: d.samples, incidents }], { restarts: 1, maxIterations: 40, leadMs: 0, recoveryMs: 0 });
  assert.deepEqual(model.training.supervised, ['abnormal']);
  assert.equal(model.training.incidents, incidents.length);
  assert.deepEqual(model.states.slice(3, 6).map((s) => s.health), ['abnormal', 'abnormal', 'abnormal']);
  const fresh = subtle(4000, 6);
  const ok = agreement(model, fresh.samples, fresh.abnormal);
  assert.ok(ok.abnormal > 0.8 && ok.normal > 0.95, JSON.stringify(ok));
  // without the incidents the same data has nothing extreme to call abnormal
  const { model: blind } = trainModel([{ domain: 'vm1', samples: d.samples }], { restarts: 1, maxIterations: 40 });
  const blindOk = agreement(blind, fresh.samples, fresh.abnormal);
  assert.ok(blindOk.abnormal < ok.abnormal, `${JSON.stringify(blindOk)} vs ${JSON.stringify(ok)}`);
});

test('failed incidents train the failed block', () => {
  const base = syntheticHistory(5000, 8);
  const samples = base.samples.map((s) => ({ ...s }));
  const incidents = [];
  for (const start of [1000, 3000]) {
    for (let t = start; t < start + 50; t++) Object.assign(samples[t], { cpuPct: 0, memPct: 40, netRxBps: 0, netTxBps: 0, diskRdBps: 0, diskWrBps: 0 });
    incidents.push({ from: samples[start].ts, to: samples[start + 49].ts, health: 'failed' as const });
  }
  const { model } = trainModel([{ domain: 'vm1', samples, incidents }], { restarts: 1, maxIterations: 30 });
  assert.ok(model.training.supervised.includes('failed'));
  const p = new HmmPredictor(model);
  let last = null;
  for (let t = 0; t < 1030; t++) last = p.observe(samples[t]);
  assert.ok(last && last.next > 0.9 && last.state?.startsWith('failed/'), JSON.stringify(last));
});

test('pooled training over several domains, reproducible with a seed, progress per restart, cancellation', () => {
  const a = syntheticHistory(1500, 11, { domain: 'vm1' });
  const b = syntheticHistory(1500, 12, { domain: 'vm2' });
  const seen: TrainProgressInfo[] = [];
  const o = { restarts: 2, maxIterations: 5, now: 1_700_000_000_000, version: 'v1', seed: 7 };
  const one = trainModel([{ domain: 'vm1', samples: a.samples }, { domain: 'vm2', samples: b.samples }], { ...o, onProgress: (p) => seen.push(p) }).model;
  assert.deepEqual(one.domains, ['vm1', 'vm2']);
  assert.equal(one.training.observations, 3000);
  assert.equal(one.training.sequences, 2);
  assert.deepEqual([...new Set(seen.map((p) => p.restart))], [0, 1]);
  assert.ok(seen.every((p) => p.restarts === 2 && Number.isFinite(p.logLikelihood)));
  assert.deepEqual(seen.filter((p) => p.restart === 0).map((p) => p.iteration), [0, 1, 2, 3, 4, 5].slice(0, seen.filter((p) => p.restart === 0).length));
  const two = trainModel([{ domain: 'vm1', samples: a.samples }, { domain: 'vm2', samples: b.samples }], o).model;
  assert.deepEqual(two, one);
  let polls = 0;
  assert.throws(() => trainModel([{ domain: 'vm1', samples: a.samples }], { ...o, shouldStop: () => ++polls > 2 }), TrainingCancelled);
});

test('unusable data is a clear error', () => {
  assert.throws(() => trainModel([{ domain: 'vm1', samples: [] }]), (e: Error) => e instanceof TrainingDataError && /no usable samples for vm1/.test(e.message));
  const off = [mkSample({ cpu: 3 }, 0)].map((s) => ({ ...s, state: 'shutoff' as const }));
  assert.throws(() => trainModel([{ domain: 'vm1', samples: off }]), TrainingDataError);
  assert.throws(() => trainModel([{ domain: 'vm1', samples: syntheticHistory(50, 1).samples }], { restarts: 0 }), /restarts must be an integer >= 1/);
});

test('property: every trained model is stochastic and valid, whatever the data (constant series, missing metrics, one metric)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 120 }), fc.constantFrom('const', 'holes', 'cpu-only'), fc.constantFrom('mean', 'quantile'), fc.constantFrom(2, 3), (seed, T, kind, method, levels) => {
    const r = rng(seed);
    const samples = Array.from({ length: T }, (_, t) => mkSample(kind === 'const'
      ? { cpu: 7, mem: 40, net: 0, disk: 0 }
      : kind === 'cpu-only' ? { cpu: 100 * r() }
        : { cpu: r() < 0.3 ? null : 100 * r(), mem: r() < 0.5 ? null : 50, net: r() < 0.2 ? null : 1e4 * r(), disk: null }, t * 1000));
    const { model } = trainModel([{ domain: 'vm', samples }], { restarts: 2, maxIterations: 5, seed, discretization: { method, levels } });
    const n = model.states.length;
    assertStochastic(model.pi, 1, n, 'pi');
    assertStochastic(model.transition.flat(), n, n, 'A');
    assertStochastic(model.emission.flat(), n, model.emission[0].length, 'B');
  }), { numRuns: 40 });
});
