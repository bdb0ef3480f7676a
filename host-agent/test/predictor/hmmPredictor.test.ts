import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { forward, makeHmm } from '../../src/hmm/core';
import { Alphabet } from '../../src/hmm/discretize';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, validateModel, type HmmModel } from '../../src/hmm/model';
import { HmmPredictor } from '../../src/predictor/hmmPredictor';
import { ViterbiWindow } from '../../src/hmm/viterbiWindow';
import type { HealthLabel, Sample } from '../../src/protocol/api';
import { mkSample, randomModel, rng } from '../hmm/helpers';

const HEALTH: HealthLabel[] = ['normal', 'abnormal', 'failed'];

/** A random, valid model over cpu (3 levels) and net (2 levels): 6 symbols. */
function randomHmmModel(seed: number, n = 3): HmmModel {
  const p = randomModel(seed, n, 6);
  return validateModel({
    format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, version: `m${seed}`, createdAt: 0, domains: ['vm'],
    discretization: { method: 'quantile', metrics: [{ metric: 'cpu', thresholds: [30, 60] }, { metric: 'net', thresholds: [1000] }] },
    states: Array.from({ length: n }, (_, i) => ({ label: `s${i}`, health: HEALTH[i % 3] })),
    pi: p.pi, transition: p.a, emission: p.b,
    training: { from: 0, to: 0, observations: 0, sequences: 0, logLikelihood: 0, iterations: 0, restarts: 1, bestRestart: 0, stoppedBy: 'converged', incidents: 0, supervised: [] },
  }, 'test');
}

const at = (levelCpu: number, levelNet: number, ts: number) => mkSample({ cpu: [10, 50, 90][levelCpu], net: [10, 5000][levelNet] }, ts);
const symbolOf = (s: Sample) => { const al = new Alphabet(randomHmmModel(1).discretization); return al.symbolOf(al.encode(s)); };

function randomSamples(seed: number, T: number, missing = 0): Sample[] {
  const r = rng(seed);
  return Array.from({ length: T }, (_, t) => {
    const s = at(Math.floor(r() * 3), Math.floor(r() * 2), t * 1000);
    if (r() < missing) s.netRxBps = null;
    if (r() < missing / 2) s.cpuPct = null;
    return s;
  });
}

test('forward method: risk is the filtered belief pushed 1 and k steps through A, summed over abnormal and failed states', () => {
  const m = randomHmmModel(3);
  const h = makeHmm(m.pi, m.transition, m.emission);
  const samples = randomSamples(4, 40);
  const p = new HmmPredictor(m, { horizonSteps: 3 });
  let risk = null;
  for (const s of samples) risk = p.observe(s);
  const f = forward(h, samples.map(symbolOf));
  let d = Array.from(f.alpha.slice(39 * 3, 40 * 3));
  const step = (x: number[]) => [0, 1, 2].map((j) => x.reduce((acc, xi, i) => acc + xi * m.transition[i][j], 0));
  const ahead: number[][] = [];
  for (let k = 0; k < 3; k++) ahead.push((d = step(d)));
  assert.ok(risk);
  assert.ok(Math.abs(risk.next - (ahead[0][1] + ahead[0][2])) < 1e-12);
  assert.ok(Math.abs((risk.horizon ?? -1) - (ahead[2][1] + ahead[2][2])) < 1e-12);
  assert.equal(risk.horizonSteps, 3);
  assert.equal(risk.modelVersion, 'm3');
  assert.equal(risk.ts, 39_000);
  const last = Array.from(f.alpha.slice(39 * 3, 40 * 3));
  assert.equal(risk.state, `s${last.indexOf(Math.max(...last))}`);
});

test('a missing metric is marginalised: same risk as a model without that metric', () => {
  const m = randomHmmModel(5);
  // the marginal model: cpu only, emission summed over the net levels
  const marginal = validateModel({
    ...m, discretization: { method: 'quantile', metrics: [m.discretization.metrics[0]] },
    emission: m.emission.map((row) => [0, 1, 2].map((c) => row[2 * c] + row[2 * c + 1])),
  }, 'marginal');
  const full = new HmmPredictor(m);
  const cpuOnly = new HmmPredictor(marginal);
  for (const s of randomSamples(6, 30)) {
    const a = full.observe({ ...s, netRxBps: null });
    const b = cpuOnly.observe(s);
    assert.ok(a && b && Math.abs(a.next - b.next) < 1e-12 && Math.abs((a.horizon ?? 0) - (b.horizon ?? 0)) < 1e-12);
  }
});

test('unsure is null: every metric missing (time still moves on), or a domain that is not running (filter reset)', () => {
  const m = randomHmmModel(7);
  const p = new HmmPredictor(m, { horizonSteps: 1 });
  const s0 = at(2, 1, 0);
  const r0 = p.observe(s0);
  assert.ok(r0);
  assert.equal(p.observe(mkSample({}, 1000)), null);
  const r2 = p.observe(at(0, 0, 2000));
  // by hand: belief after s0, one blind step through A, then the update with s2's symbol
  const h = makeHmm(m.pi, m.transition, m.emission);
  const b0 = forward(h, [symbolOf(s0)]).alpha;
  const step = (x: ArrayLike<number>) => [0, 1, 2].map((j) => Array.from(x).reduce((acc, xi, i) => acc + xi * m.transition[i][j], 0));
  const prior = step(step(b0));
  const o = symbolOf(at(0, 0, 0));
  const post = prior.map((x, j) => x * m.emission[j][o]);
  const z = post.reduce((x, y) => x + y, 0);
  const next = step(post.map((x) => x / z));
  assert.ok(r2 && Math.abs(r2.next - (next[1] + next[2])) < 1e-12);
  assert.equal(p.observe({ ...at(1, 1, 3000), state: 'shutoff' }), null);
  const fresh = new HmmPredictor(m, { horizonSteps: 1 });
  assert.deepEqual(p.observe(at(1, 0, 4000)), fresh.observe(at(1, 0, 4000)), 'after a non-running sample the filter starts afresh');
  p.observe(at(2, 1, 5000));
  p.reset();
  assert.deepEqual(p.observe(at(0, 1, 6000)), new HmmPredictor(m, { horizonSteps: 1 }).observe(at(0, 1, 6000)));
});

test('property: the risk at t does not change when samples after t change (both methods)', () => {
  const m = randomHmmModel(9);
  fc.assert(fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 20 }), fc.constantFrom('forward', 'viterbi-window'), (seed, T, extra, method) => {
    const past = randomSamples(seed, T, 0.2);
    const future = randomSamples(seed + 1, extra, 0.2).map((s) => ({ ...s, ts: s.ts + T * 1000 }));
    const run = (xs: Sample[]) => { const p = new HmmPredictor(m, { method: method as 'forward' | 'viterbi-window', windowLength: 7 }); return xs.map((s) => p.observe(s)); };
    assert.deepEqual(run([...past, ...future]).slice(0, T), run(past));
  }), { numRuns: 60 });
});

/** Algorithm 1 by brute force: every path over the window, the best one's last state, then A^k. */
function bruteAlgorithm1(m: HmmModel, window: Sample[], k: number): { last: number; risk: number } {
  const n = m.states.length;
  const al = new Alphabet(m.discretization);
  const e = al.emissionByCode(n, m.emission.flat());
  const codes = window.map((s) => al.encode(s));
  let best = -Infinity;
  let last = -1;
  const path = new Array<number>(codes.length).fill(0);
  for (;;) {
    let lp = Math.log(m.pi[path[0]]) + Math.log(e[path[0] * al.codes + codes[0]]);
    for (let t = 1; t < codes.length; t++) lp += Math.log(m.transition[path[t - 1]][path[t]]) + Math.log(e[path[t] * al.codes + codes[t]]);
    if (lp > best) { best = lp; last = path[codes.length - 1]; }
    let i = codes.length - 1;
    while (i >= 0 && path[i] === n - 1) path[i--] = 0;
    if (i < 0) break;
    path[i]++;
  }
  let d: number[] = Array.from({ length: n }, (_, j) => (j === last ? 1 : 0));
  for (let s = 0; s < k; s++) d = d.map((_, j) => d.reduce((acc, di, i) => acc + di * m.transition[i][j], 0));
  return { last, risk: d.reduce((acc, x, j) => acc + (m.states[j].health === 'normal' ? 0 : x), 0) };
}

test("viterbi-window method: the paper's Algorithm 1 equals brute force over every path of the window", () => {
  for (let seed = 1; seed <= 15; seed++) {
    const m = randomHmmModel(seed, seed % 2 ? 3 : 4);
    const W = 1 + (seed % 5);
    const k = 1 + (seed % 3);
    const p = new HmmPredictor(m, { method: 'viterbi-window', windowLength: W, horizonSteps: k });
    const samples = randomSamples(seed + 50, 12, 0.15).filter((s) => s.cpuPct !== null || s.netRxBps !== null);
    samples.forEach((s, t) => {
      const r = p.observe(s);
      const window = samples.slice(Math.max(0, t + 1 - W), t + 1);
      const one = bruteAlgorithm1(m, window, 1);
      const many = bruteAlgorithm1(m, window, k);
      assert.ok(r, `seed ${seed} t ${t}`);
      assert.equal(r.state, `s${one.last}`, `seed ${seed} t ${t}`);
      assert.ok(Math.abs(r.next - one.risk) < 1e-12 && Math.abs((r.horizon ?? -1) - many.risk) < 1e-12, `seed ${seed} t ${t}`);
    });
  }
  assert.throws(() => new ViterbiWindow(2, [1, 0], [1, 0, 0, 1], [1, 1], 1, 0), /window must be an integer >= 1/);
  assert.throws(() => new HmmPredictor(randomHmmModel(1), { method: 'magic' as 'forward' }), /prediction method must be one of forward, viterbi-window/);
  assert.throws(() => new HmmPredictor(randomHmmModel(1), { horizonSteps: 0 }), /horizon must be an integer >= 1/);
});
