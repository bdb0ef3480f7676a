import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Alphabet, learnDiscretization, levelOf, metricValue, quantile, type Discretization } from '../../src/hmm/discretize';
import type { Sample } from '../../src/protocol/api';
import { mkSample } from './helpers';

test('metric values: net and disk are rx+tx and read+write; either half missing is missing', () => {
  const s: Sample = { domain: 'vm', ts: 1, state: 'running', cpuPct: 5, memPct: null, netRxBps: 10, netTxBps: 3, diskRdBps: 7, diskWrBps: null };
  assert.equal(metricValue(s, 'cpu'), 5);
  assert.equal(metricValue(s, 'mem'), null);
  assert.equal(metricValue(s, 'net'), 13);
  assert.equal(metricValue(s, 'disk'), null);
});

test('quantile interpolates between order statistics', () => {
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([0, 10], 0.95), 9.5);
  assert.equal(quantile([7], 0.3), 7);
});

test("the paper's mean rule: 2 levels below/above the mean; 3 levels add mean + 2 sd", () => {
  const samples = [10, 20, 30, 40].map((cpu) => mkSample({ cpu }));
  const two = learnDiscretization(samples, { method: 'mean', levels: 2 });
  assert.deepEqual(two, { method: 'mean', metrics: [{ metric: 'cpu', thresholds: [25] }] });
  const three = learnDiscretization(samples, { method: 'mean', levels: 3 });
  const sd = Math.sqrt((15 ** 2 + 5 ** 2 + 5 ** 2 + 15 ** 2) / 4);
  assert.deepEqual(three.metrics[0].thresholds, [25, 25 + 2 * sd]);
  assert.equal(levelOf(25, [25]), 0, 'at the mean is below');
  assert.equal(levelOf(25.01, [25]), 1);
});

test('quantile thresholds: default median and 95th percentile; tertiles on request', () => {
  const samples = Array.from({ length: 101 }, (_, i) => mkSample({ cpu: i, disk: 100 - i }));
  const d = learnDiscretization(samples);
  assert.equal(d.method, 'quantile');
  assert.deepEqual(d.metrics, [{ metric: 'cpu', thresholds: [50, 95] }, { metric: 'disk', thresholds: [50, 95] }]);
  const t = learnDiscretization(samples, { quantiles: [1 / 3, 2 / 3] });
  assert.ok(Math.abs(t.metrics[0].thresholds[0] - 100 / 3) < 1e-9);
  assert.throws(() => learnDiscretization(samples, { levels: 4 }), /levels must be 2 or 3/);
  assert.throws(() => learnDiscretization(samples, { quantiles: [0.9, 0.5] }), /ascending/);
  assert.throws(() => learnDiscretization(samples, { levels: 3, quantiles: [0.5] }), /3 levels need 2 quantile cut point/);
});

test('edge cases: a constant series puts its value in level 0 and anything above in the top level; an all-null metric is not modelled', () => {
  const samples = Array.from({ length: 20 }, () => mkSample({ cpu: 3, mem: null, disk: 0 }));
  const d = learnDiscretization(samples);
  assert.deepEqual(d.metrics.map((m) => m.metric), ['cpu', 'disk']);
  assert.deepEqual(d.metrics[0].thresholds, [3, 3]);
  const al = new Alphabet(d);
  assert.equal(al.symbols, 9);
  assert.equal(al.encode(mkSample({ cpu: 3, disk: 0 })), al.codeOfSymbol(0));
  assert.equal(al.encode(mkSample({ cpu: 3.5, disk: 1 })), al.codeOfSymbol(8));
  assert.throws(() => learnDiscretization([mkSample({})]), /no metric .* has any value/);
  assert.throws(() => learnDiscretization([]), /no metric/);
});

test("mixed-radix numbering: the first metric is the most significant digit; codes add a 'missing' digit", () => {
  const d: Discretization = { method: 'quantile', metrics: [{ metric: 'cpu', thresholds: [10, 50] }, { metric: 'net', thresholds: [100] }] };
  const al = new Alphabet(d);
  assert.equal(al.symbols, 6);
  assert.equal(al.codes, 12);
  const sym = (cpu: number, net: number) => al.symbolOf(al.encode(mkSample({ cpu, net })));
  assert.equal(sym(5, 50), 0);
  assert.equal(sym(5, 500), 1);
  assert.equal(sym(20, 50), 2);
  assert.equal(sym(90, 500), 5);
  const cpuOnly = al.encode(mkSample({ cpu: 90, net: null }));
  assert.equal(al.isComplete(cpuOnly), false);
  assert.deepEqual([...al.list.subarray(al.start[cpuOnly], al.start[cpuOnly + 1])], [4, 5]);
  const netOnly = al.encode(mkSample({ cpu: null, net: 500 }));
  assert.deepEqual([...al.list.subarray(al.start[netOnly], al.start[netOnly + 1])], [1, 3, 5]);
  assert.equal(al.encode(mkSample({})), al.allMissing);
  assert.equal(al.start[al.allMissing + 1] - al.start[al.allMissing], 6);
});

test('property: every code lists exactly the symbols that agree with its known levels; emission by code is their sum', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 1e6 }), (nth, seed) => {
    const names = ['cpu', 'mem', 'net', 'disk'] as const;
    const d: Discretization = { method: 'quantile', metrics: nth.map((k, i) => ({ metric: names[i], thresholds: Array.from({ length: k }, (_, j) => j * 10) })) };
    const al = new Alphabet(d);
    const digits = new Int32Array(nth.length);
    const levels = new Int32Array(nth.length);
    for (let c = 0; c < al.codes; c++) {
      al.codeDigits(c, digits);
      const expected: number[] = [];
      for (let s = 0; s < al.symbols; s++) {
        al.symbolLevels(s, levels);
        if (levels.every((l, i) => digits[i] === al.levels[i] || digits[i] === l)) expected.push(s);
      }
      assert.deepEqual([...al.list.subarray(al.start[c], al.start[c + 1])], expected);
    }
    let x = seed;
    const b = Array.from({ length: 2 * al.symbols }, () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648));
    const e = al.emissionByCode(2, b);
    const full = al.emissionByCode(2, b)[al.allMissing];
    assert.ok(Math.abs(full - b.slice(0, al.symbols).reduce((p, q) => p + q, 0)) < 1e-12);
    for (let s = 0; s < al.symbols; s++) assert.equal(e[al.codeOfSymbol(s)], b[s]);
  }), { numRuns: 30 });
});
