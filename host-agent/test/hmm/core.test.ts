import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { baumWelch, ForwardFilter, forward, makeHmm, posteriors, viterbi } from '../../src/hmm/core';
import { randomModel, relClose, sample } from './helpers';

const REFERENCE = join(__dirname, '..', 'reference', 'pomegranate_hmm.py');

for (const seed of [1, 2, 3]) {
  test(`matches pomegranate (reference) on a random 9-state model, seed ${seed}: log-likelihood, posteriors, Viterbi`, () => {
    const p = randomModel(seed, 9, 12);
    const h = makeHmm(p.pi, p.a, p.b);
    const seq = sample(h, 400, seed + 100);
    const ref = JSON.parse(execFileSync('/usr/bin/python3', [REFERENCE], { input: JSON.stringify({ ...p, seq }), encoding: 'utf8' })) as {
      logLikelihood: number; posteriors: number[][]; viterbi: number[]; viterbiLogProbability: number;
    };
    const f = forward(h, seq);
    assert.ok(relClose(f.logLikelihood, ref.logLikelihood, 1e-9), `ll ${f.logLikelihood} vs ${ref.logLikelihood}`);
    const g = posteriors(h, seq);
    for (let t = 0; t < seq.length; t++) {
      for (let i = 0; i < 9; i++) {
        assert.ok(Math.abs(g[t * 9 + i] - ref.posteriors[t][i]) <= 1e-9, `posterior t=${t} i=${i}: ${g[t * 9 + i]} vs ${ref.posteriors[t][i]}`);
      }
    }
    const v = viterbi(h, seq);
    assert.deepEqual(v.path, ref.viterbi);
    assert.ok(relClose(v.logProbability, ref.viterbiLogProbability, 1e-9));
  });
}

test('the scaled forward pass does not underflow on 200,000 observations', () => {
  const p = randomModel(7, 9, 12);
  const h = makeHmm(p.pi, p.a, p.b);
  const ll = forward(h, sample(h, 200_000, 8)).logLikelihood;
  assert.ok(Number.isFinite(ll) && ll < -100_000, `ll ${ll}`);
});

test('a symbol outside the alphabet is a clear error', () => {
  const p = randomModel(1, 2, 3);
  assert.throws(() => forward(makeHmm(p.pi, p.a, p.b), [0, 3]), /observation 1: symbol 3 outside 0\.\.2/);
  assert.throws(() => makeHmm([1], [[1, 0]], [[1]]), /transition matrix must be 1x1/);
});

test('property: Baum-Welch keeps rows stochastic and never lowers the likelihood', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 2, max: 6 }), (seed, n, m) => {
    const truth = randomModel(seed, n, m);
    const th = makeHmm(truth.pi, truth.a, truth.b);
    const seqs = [sample(th, 150, seed + 1), sample(th, 80, seed + 2)];
    const init = randomModel(seed + 3, n, m);
    const res = baumWelch(makeHmm(init.pi, init.a, init.b), seqs, { maxIterations: 15, tolerance: 0 });
    for (let k = 1; k < res.history.length; k++) assert.ok(res.history[k] >= res.history[k - 1] - 1e-7, `ll went down at ${k}: ${res.history}`);
    const rows = (x: Float64Array, r: number, c: number) => { for (let i = 0; i < r; i++) { let s = 0; for (let j = 0; j < c; j++) s += x[i * c + j]; assert.ok(Math.abs(s - 1) < 1e-9); } };
    rows(res.hmm.pi, 1, n); rows(res.hmm.a, n, n); rows(res.hmm.b, n, m);
  }), { numRuns: 40 });
});

test('Baum-Welch with pseudocounts leaves no probability at zero', () => {
  const h = makeHmm([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[0.5, 0.5, 0], [0, 0.5, 0.5]]);
  const res = baumWelch(h, [[0, 1, 1, 0, 0, 1]], { maxIterations: 5, pseudocount: 0.01 });
  assert.ok([...res.hmm.b].every((x) => x > 0), 'symbol 2 unseen, yet not impossible');
});

test('property: the filter output at t does not depend on observations after t', () => {
  const p = randomModel(11, 9, 12);
  const h = makeHmm(p.pi, p.a, p.b);
  const risky = [false, false, false, true, true, true, true, true, true];
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 11 }), { minLength: 2, maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 11 }), { maxLength: 20 }), (past, future) => {
    const run = (obs: number[]) => { const f = new ForwardFilter(h, risky); const out: number[] = []; for (const o of obs) { f.step(o); out.push(f.risk(1)); } return out; };
    const a = run(past);
    const b = run([...past, ...future]).slice(0, past.length);
    assert.deepEqual(b, a);
  }), { numRuns: 50 });
});

test('the filter equals the batch forward pass, and k-step risk is alpha A^k on risky states', () => {
  const p = randomModel(5, 4, 5);
  const h = makeHmm(p.pi, p.a, p.b);
  const obs = sample(h, 50, 6);
  const risky = [false, true, false, true];
  const f = new ForwardFilter(h, risky);
  let ll = 0;
  for (const o of obs) ll += f.step(o);
  const batch = forward(h, obs);
  assert.ok(Math.abs(ll - batch.logLikelihood) < 1e-9);
  const last = Array.from(batch.alpha.slice(49 * 4, 50 * 4));
  let d = last;
  for (let k = 0; k < 3; k++) d = [0, 1, 2, 3].map((j) => d.reduce((s, di, i) => s + di * p.a[i][j], 0));
  assert.ok(Math.abs(f.risk(3) - (d[1] + d[3])) < 1e-12);
});

test('Baum-Welch agrees with pomegranate (reference) iteration by iteration', () => {
  const truth = randomModel(21, 9, 12);
  const th = makeHmm(truth.pi, truth.a, truth.b);
  const seqs = [sample(th, 300, 22), sample(th, 200, 23)];
  const init = randomModel(24, 9, 12);
  const iterations = 5;
  const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(__dirname, '..', 'reference', 'pomegranate_bw.py')], {
    input: JSON.stringify({ ...init, seqs, iterations }), encoding: 'utf8',
  })) as { logLikelihoods: number[] };
  // pomegranate 0.14's fit() makes one re-estimation before its iteration
  // loop, so its max_iterations=k is k+1 re-estimations (seen on this data).
  for (let k = 1; k <= iterations; k++) {
    const ours = baumWelch(makeHmm(init.pi, init.a, init.b), seqs, { maxIterations: k + 1, tolerance: -Infinity }).logLikelihood;
    assert.ok(relClose(ours, ref.logLikelihoods[k - 1], 1e-9), `iteration ${k}: ${ours} vs ${ref.logLikelihoods[k - 1]}`);
  }
});
