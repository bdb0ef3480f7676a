import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { calibrate } from '../../src/hmm/calibration';
import { Alphabet, learnDiscretization } from '../../src/hmm/discretize';
import { blockMask, FAILED_ESCAPE, layout, structuredModel } from '../../src/hmm/structure';
import { incidentMasks, trainModel, TrainingCancelled, TrainingDataError, type TrainProgressInfo } from '../../src/hmm/train';
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
  // the incidents supervise the abnormal block; holding everything else to normal supervises the normal block
  assert.deepEqual(model.training.supervised, ['normal', 'abnormal']);
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

test('the semi-supervision masks: inside, lead (never failed; a window at most its own length), recovery, outside', () => {
  const l = layout(3);
  const [normal, abnormal, failed] = (['normal', 'abnormal', 'failed'] as const).map((h) => blockMask(l, h));
  const all = normal | abnormal | failed;
  const incidents = [
    { from: 100_000, to: 160_000, health: 'abnormal' as const }, // a marked window of 60 s
    { from: 1_000_000, to: 1_000_000, health: 'failed' as const }, // a crash event
  ];
  const m = incidentMasks(l, [{ domain: 'vm', samples: [], incidents }], { leadMs: 600_000, recoveryMs: 300_000 });
  assert.equal(m.normalOutside, true);
  const at = (ts: number) => m.at(ts, incidents);
  assert.equal(at(130_000), abnormal, 'inside the window');
  assert.equal(at(50_000), normal | abnormal, 'lead of the window: its own 60 s, normal or abnormal');
  assert.equal(at(30_000), normal, 'before that lead: normal');
  assert.equal(at(300_000), all, 'recovery after the window');
  assert.equal(at(500_000), normal | abnormal, '10 min before the crash event: its precursor, not failed yet');
  assert.equal(at(1_000_000), failed);
  const seen: unknown[] = [];
  m.at(1_000_000, incidents, (inc) => seen.push(inc));
  assert.deepEqual(seen, [incidents[1]]);
  // no failure incident anywhere: the failed block is never allowed; no incident at all: everything else free
  const onlyAbnormal = incidentMasks(l, [{ domain: 'vm', samples: [], incidents: [incidents[0]] }]);
  assert.equal(onlyAbnormal.at(300_000, [incidents[0]]), normal | abnormal);
  const none = incidentMasks(l, [{ domain: 'vm', samples: [] }]);
  assert.equal(none.normalOutside, false);
  assert.equal(none.at(5, []), normal | abnormal);
});

test('the failed block: near-absorbing in the structure, unreachable until a failure incident is seen', () => {
  const al = new Alphabet(learnDiscretization(syntheticHistory(200, 3).samples));
  const l = layout(3);
  const h = structuredModel(l, al, new Float64Array(al.symbols).fill(1));
  for (let i = 6; i < 9; i++) {
    let out = 0;
    for (let j = 0; j < 6; j++) out += h.a[i * 9 + j];
    assert.ok(Math.abs(out - FAILED_ESCAPE) < 1e-12, `failed state ${i} leaves with ${out}`);
  }
  // unsupervised (and with abnormal incidents only): never entered, so never part of the risk
  const d = syntheticHistory(3000, 4);
  const { model } = trainModel([{ domain: 'vm1', samples: d.samples }], { restarts: 1, maxIterations: 20 });
  for (let i = 0; i < 6; i++) for (let j = 6; j < 9; j++) assert.equal(model.transition[i][j], 0, `${i}->${j}`);
  assert.deepEqual(model.pi.slice(6), [0, 0, 0]);
  // a failure incident makes them part of the model
  const samples = d.samples.map((s, t) => (t >= 1500 && t < 1550 ? { ...s, cpuPct: 0, netRxBps: 0, diskWrBps: 0 } : s));
  const { model: seen } = trainModel([{ domain: 'vm1', samples, incidents: [{ from: samples[1500].ts, to: samples[1549].ts, health: 'failed' }] }], { restarts: 1, maxIterations: 20 });
  assert.ok(seen.transition.slice(0, 6).some((row) => row.slice(6).some((p) => p > 0)));
});

test('with incidents the normal block stays normal (it was supervised), and the risk is calibrated on them', () => {
  const d = syntheticHistory(6000, 9);
  // the first half of the episodes are known incidents; the model must learn them as abnormal
  const known = d.episodes.slice(0, Math.ceil(d.episodes.length / 2)).map(([from, to]) => ({ from, to, health: 'abnormal' as const }));
  const { model } = trainModel([{ domain: 'vm1', samples: d.samples, incidents: known }], { restarts: 1, maxIterations: 30 });
  assert.deepEqual(model.states.slice(0, 3).map((s) => s.health), ['normal', 'normal', 'normal']);
  const c = model.calibration;
  assert.ok(c && c.method === 'platt' && c.a > 0 && c.positives > 0 && c.samples > c.positives, JSON.stringify(c));
  // the predictor reports the calibrated risk: the same model without calibration gives the raw one
  const raw = new HmmPredictor({ ...model, calibration: undefined });
  const cal = new HmmPredictor(model);
  for (const s of d.samples.slice(0, 400)) {
    const r = raw.observe(s);
    const k = cal.observe(s);
    assert.ok(r && k);
    assert.ok(Math.abs(k.next - calibrate(c, r.next)) < 1e-12 && Math.abs((k.horizon ?? 0) - calibrate(c, r.horizon ?? 0)) < 1e-12);
  }
  assert.equal(trainModel([{ domain: 'vm1', samples: d.samples, incidents: known }], { restarts: 1, maxIterations: 30, calibrate: false }).model.calibration, undefined);
  assert.equal(trainModel([{ domain: 'vm1', samples: d.samples }], { restarts: 1, maxIterations: 5 }).model.calibration, undefined, 'no incidents: nothing to calibrate against');
});

test('discretization thresholds from all samples (default) or from the healthy ones only', () => {
  const d = syntheticHistory(4000, 10);
  const incidents = d.episodes.map(([from, to]) => ({ from, to, health: 'abnormal' as const }));
  const cpuTop = (m: ReturnType<typeof trainModel>['model']) => m.discretization.metrics.find((x) => x.metric === 'cpu')?.thresholds[1] ?? NaN;
  const all = trainModel([{ domain: 'vm1', samples: d.samples, incidents }], { restarts: 1, maxIterations: 2 }).model;
  const healthy = trainModel([{ domain: 'vm1', samples: d.samples, incidents }], { restarts: 1, maxIterations: 2, thresholdsFrom: 'healthy' }).model;
  // normal cpu is 20-30 %, episodes 90-95 %: the healthy 95th percentile stays within the normal range
  assert.ok(cpuTop(healthy) < 30 && cpuTop(all) > 30, `${cpuTop(healthy)} vs ${cpuTop(all)}`);
  assert.equal(all.training.options?.thresholdsFrom, 'all');
  assert.equal(healthy.training.options?.thresholdsFrom, 'healthy');
});
