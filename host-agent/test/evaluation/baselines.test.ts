import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EwmaDetector, ThresholdDetector } from '../../src/evaluation/baselines';
import type { Detector, Row } from '../../src/evaluation/detector';

const rowArb = fc.record({
  cpu: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
  mem: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
  net: fc.option(fc.double({ min: 0, max: 1e9, noNaN: true }), { nil: null }),
  disk: fc.option(fc.double({ min: 0, max: 1e9, noNaN: true }), { nil: null }),
});
const toRows = (xs: Array<Omit<Row, 'ts'>>): Row[] => xs.map((x, i) => ({ ts: 1_000_000 + i * 1000, ...x }));

const detectors: Array<() => Detector> = [
  () => new ThresholdDetector(),
  () => new ThresholdDetector({ mode: 'binary' }),
  () => new EwmaDetector(),
  () => new EwmaDetector({ alpha: 0.5, z50: 1 }),
];

for (const make of detectors) {
  const name = make().name;
  test(`${name} is causal: changing rows after t leaves the scores up to t unchanged, and scores stay in [0, 1]`, () => {
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 2, maxLength: 60 }), fc.array(rowArb, { minLength: 1, maxLength: 60 }), fc.array(rowArb, { minLength: 0, maxLength: 30 }), fc.nat(), (train, rows, other, cut) => {
        const d = make();
        d.fit(toRows(train));
        const a = toRows(rows);
        const k = cut % a.length;
        const b = toRows([...rows.slice(0, k + 1), ...other]);
        const sa = d.score(a);
        const sb = d.score(b);
        assert.equal(sa.length, a.length);
        assert.deepEqual(sb.slice(0, k + 1), sa.slice(0, k + 1));
        for (const s of [...sa, ...sb]) assert.ok(s >= 0 && s <= 1, `score ${s}`);
        assert.deepEqual(d.score(a), sa, 'scoring twice gives the same scores');
      }),
      { numRuns: 150 },
    );
  });
}

test('threshold: the score is the fraction of the high level, the largest over metrics; binary mode is 0/1', () => {
  const d = new ThresholdDetector();
  d.fit([]);
  assert.deepEqual(d.score(toRows([{ cpu: 45 }, { cpu: 45, mem: 80 }, { cpu: 150 }])), [0.45, 0.8, 1]);
  const b = new ThresholdDetector({ mode: 'binary', level: 0.9 });
  b.fit([]);
  assert.deepEqual(b.score(toRows([{ cpu: 89.9 }, { cpu: 90 }, { mem: 95 }])), [0, 1, 1]);
});

test('threshold: net/disk scale is learned from training, a row without data holds the previous score', () => {
  const d = new ThresholdDetector({ metrics: ['net'], learnedScale: 2 });
  d.fit(toRows([{ net: 100 }, { net: 500 }]));
  assert.deepEqual(d.score(toRows([{ net: 250 }, { net: null }, { net: 2000 }])), [0.25, 0.25, 1]);
  const untrained = new ThresholdDetector({ metrics: ['net'] });
  untrained.fit([]);
  assert.deepEqual(untrained.score(toRows([{ net: 1e6 }])), [0], 'no training data: the metric is ignored');
  assert.throws(() => new ThresholdDetector({ high: { cpu: -1 } }), /high\.cpu must be a positive number/);
});

test('ewma: a flat series scores ~0, a 1-sigma step 1/(1+z50), a 5-sigma spike 5/(5+z50)', () => {
  const d = new EwmaDetector({ alpha: 0.1, z50: 5 });
  const train = toRows(Array.from({ length: 200 }, (_, i) => ({ cpu: 50 + (i % 2 ? 1 : -1) })));
  d.fit(train); // mean 50, sd 1
  const s = d.score(toRows([{ cpu: 50 }, { cpu: 51 }, { cpu: 49 }, { cpu: 55 }]));
  assert.ok(s[0] < 0.01);
  assert.ok(Math.abs(s[1] - 1 / 6) < 0.03 && Math.abs(s[2] - 1 / 6) < 0.03, String(s)); // the moving mean/variance shift a little after each row
  assert.ok(Math.abs(s[3] - 0.5) < 0.03, `spike ${s[3]}`);
  assert.throws(() => new EwmaDetector({ alpha: 0 }), /alpha must be in \(0, 1\]/);
});
