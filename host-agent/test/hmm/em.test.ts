import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { baumWelch, makeHmm, type Hmm } from '../../src/hmm/core';
import { Alphabet, type Discretization } from '../../src/hmm/discretize';
import { codedLogLikelihood, fitCoded, type CodedSequence, type CodeSets } from '../../src/hmm/em';
import { assertStochastic, randomModel, relClose, rng, sample } from './helpers';

/** One code per symbol: the plain, fully observed case. */
function identity(m: number): CodeSets {
  return new Alphabet({ method: 'quantile', metrics: [{ metric: 'cpu', thresholds: Array.from({ length: m - 1 }, (_, i) => i) }] }) as CodeSets & { codes: number };
}

/** Fully observed sequences as codes of `identity`-like alphabets: symbol k -> code k (the missing code is m). */
const coded = (seqs: number[][]): CodedSequence[] => seqs.map((s) => ({ codes: Int32Array.from(s) }));

test('without missing values or constraints it is core.baumWelch, iteration by iteration', () => {
  const truth = randomModel(31, 4, 3);
  const th = makeHmm(truth.pi, truth.a, truth.b);
  const seqs = [sample(th, 300, 32), sample(th, 120, 33)];
  const init = randomModel(34, 4, 3);
  const sets = identity(3);
  for (const k of [1, 2, 5]) {
    const ref = baumWelch(makeHmm(init.pi, init.a, init.b), seqs, { maxIterations: k, tolerance: -Infinity });
    const ours = fitCoded(makeHmm(init.pi, init.a, init.b), sets, coded(seqs), { maxIterations: k, tolerance: -Infinity });
    assert.equal(ours.history.length, ref.history.length);
    ours.history.forEach((ll, i) => assert.ok(relClose(ll, ref.history[i], 1e-12), `iteration ${i}: ${ll} vs ${ref.history[i]}`));
    for (const key of ['pi', 'a', 'b'] as const) ours.hmm[key].forEach((x, i) => assert.ok(Math.abs(x - ref.hmm[key][i]) < 1e-12, `${key}[${i}]`));
  }
});

test('agrees with pomegranate (reference) on the training likelihoods, 9 states', () => {
  const truth = randomModel(41, 9, 12);
  const seqs = [sample(makeHmm(truth.pi, truth.a, truth.b), 250, 42), sample(makeHmm(truth.pi, truth.a, truth.b), 150, 43)];
  const init = randomModel(44, 9, 12);
  const iterations = 3;
  const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(__dirname, '..', 'reference', 'pomegranate_bw.py')], {
    input: JSON.stringify({ ...init, seqs, iterations }), encoding: 'utf8',
  })) as { logLikelihoods: number[] };
  for (let k = 1; k <= iterations; k++) {
    // pomegranate's max_iterations=k makes k+1 re-estimations (see core.test.ts)
    const ours = fitCoded(makeHmm(init.pi, init.a, init.b), identity(12), coded(seqs), { maxIterations: k + 1, tolerance: -Infinity });
    assert.ok(relClose(ours.logLikelihood, ref.logLikelihoods[k - 1], 1e-9), `iteration ${k}: ${ours.logLikelihood} vs ${ref.logLikelihoods[k - 1]}`);
  }
});

// Brute force over every state path (and every completion of the missing metrics, implicitly through E).
function bruteLogLikelihood(h: Hmm, al: Alphabet, seq: CodedSequence): number {
  const T = seq.codes.length;
  const e = al.emissionByCode(h.n, h.b);
  let total = 0;
  const path = new Array<number>(T).fill(0);
  for (;;) {
    let p = 1;
    for (let t = 0; t < T; t++) {
      const q = path[t];
      if (seq.allowed && !(seq.allowed[t] & (1 << q))) { p = 0; break; }
      p *= (t === 0 ? h.pi[q] : h.a[path[t - 1] * h.n + q]) * e[q * al.codes + seq.codes[t]];
    }
    total += p;
    let k = T - 1;
    while (k >= 0 && path[k] === h.n - 1) path[k--] = 0;
    if (k < 0) break;
    path[k]++;
  }
  return Math.log(total);
}

const TWO_METRICS: Discretization = { method: 'quantile', metrics: [{ metric: 'cpu', thresholds: [1, 2] }, { metric: 'net', thresholds: [1] }] };

test('missing metrics are marginalised and constraints condition the chain: likelihood equals brute force over all paths', () => {
  const al = new Alphabet(TWO_METRICS);
  const r = rng(5);
  for (let trial = 0; trial < 20; trial++) {
    const p = randomModel(100 + trial, 3, al.symbols);
    const h = makeHmm(p.pi, p.a, p.b);
    const T = 5;
    const codes = Int32Array.from({ length: T }, () => Math.floor(r() * al.codes));
    const allowed = trial % 2 ? Int32Array.from({ length: T }, () => 1 + Math.floor(r() * 7)) : undefined;
    const seq = { codes, allowed };
    const ours = codedLogLikelihood(h, al, [seq]);
    assert.ok(relClose(ours, bruteLogLikelihood(h, al, seq), 1e-12), `trial ${trial}`);
  }
  const allMissing = { codes: Int32Array.from([al.allMissing, al.allMissing]) };
  const p = randomModel(7, 3, al.symbols);
  assert.ok(Math.abs(codedLogLikelihood(makeHmm(p.pi, p.a, p.b), al, [allMissing])) < 1e-12, 'an all-missing step carries no information');
});

test('property: with missing values and constraints, rows stay stochastic and the likelihood never decreases (pseudocount 0)', () => {
  const al = new Alphabet(TWO_METRICS);
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 5 }), fc.boolean(), (seed, n, constrained) => {
    const r = rng(seed);
    const truth = randomModel(seed, n, al.symbols);
    const th = makeHmm(truth.pi, truth.a, truth.b);
    const seqs: CodedSequence[] = [sample(th, 120, seed + 1), sample(th, 60, seed + 2)].map((s) => {
      const codes = Int32Array.from(s, (sym) => {
        const c = al.codeOfSymbol(sym);
        if (r() > 0.2) return c;
        // hide one or both metrics
        const digits = new Int32Array(2);
        al.codeDigits(c, digits);
        if (r() < 0.5) digits[0] = al.levels[0]; else digits[1] = al.levels[1];
        if (r() < 0.2) { digits[0] = al.levels[0]; digits[1] = al.levels[1]; }
        return digits[0] * (al.levels[1] + 1) + digits[1];
      });
      const allowed = constrained ? Int32Array.from(codes, () => (r() < 0.3 ? 1 + Math.floor(r() * ((1 << n) - 1)) : (1 << n) - 1)) : undefined;
      return { codes, allowed };
    });
    const init = randomModel(seed + 3, n, al.symbols);
    const res = fitCoded(makeHmm(init.pi, init.a, init.b), al, seqs, { maxIterations: 12, tolerance: -Infinity });
    for (let k = 1; k < res.history.length; k++) assert.ok(res.history[k] >= res.history[k - 1] - 1e-7 * Math.abs(res.history[k - 1]), `ll went down at ${k}: ${res.history}`);
    assertStochastic(res.hmm.pi, 1, n, 'pi');
    assertStochastic(res.hmm.a, n, n, 'A');
    assertStochastic(res.hmm.b, n, al.symbols, 'B');
  }), { numRuns: 30 });
});

test('pseudocounts shaped like the prior: a state the data never visits keeps its prior rows, nothing observed is trapped at zero', () => {
  const al = identity(3);
  const prior = makeHmm([0.5, 0.3, 0.2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]], [[0.6, 0.3, 0.1], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6]]);
  const codes = Int32Array.from(sample(prior, 400, 9));
  const allowed = new Int32Array(codes.length).fill(0b011); // state 2 excluded everywhere
  const res = fitCoded(prior, al, [{ codes, allowed }], { maxIterations: 20, pseudocount: 1 });
  for (let k = 0; k < 3; k++) {
    assert.ok(Math.abs(res.hmm.b[6 + k] - prior.b[6 + k]) < 1e-12, 'emission row of the unvisited state');
    assert.ok(Math.abs(res.hmm.a[6 + k] - prior.a[6 + k]) < 1e-12, 'transitions out of the unvisited state');
  }
  assert.ok(res.hmm.a[2] > 0 && res.hmm.a[2] < 0.01, `transition into it ~ prior/T: ${res.hmm.a[2]}`);
  assert.ok(res.occupancy[2] === 0);
  assert.ok([...res.hmm.b].every((x) => x > 0));
});

test('stops on the relative-change rule, reports progress and honours shouldStop', () => {
  const p = randomModel(3, 3, 4);
  const h = makeHmm(p.pi, p.a, p.b);
  const codes = Int32Array.from(sample(h, 500, 4));
  const seen: Array<[number, number]> = [];
  const res = fitCoded(h, identity(4), [{ codes }], { maxIterations: 500, tolerance: -Infinity, relativeChange: 0.01, onIteration: (i, ll) => seen.push([i, ll]) });
  assert.equal(res.stoppedBy, 'converged');
  assert.ok(res.iterations < 500);
  assert.deepEqual(seen.map((s) => s[0]), Array.from({ length: res.iterations }, (_, i) => i));
  let calls = 0;
  const stopped = fitCoded(h, identity(4), [{ codes }], { maxIterations: 500, tolerance: -Infinity, shouldStop: () => ++calls > 3 });
  assert.equal(stopped.stoppedBy, 'stopped');
  assert.equal(stopped.iterations, 3);
  assert.throws(() => fitCoded(h, identity(4), [{ codes: Int32Array.from([9]) }]), /observation code 9 outside 0\.\.4/);
  assert.throws(() => fitCoded(h, identity(4), [{ codes: new Int32Array(0) }]), /at least one non-empty sequence/);
});
