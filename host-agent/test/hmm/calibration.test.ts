import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { calibrate, fitPlatt, logit, sigmoid } from '../../src/hmm/calibration';
import { rng } from './helpers';

test('Platt scaling: an overconfident score is pulled to the frequency it really has', () => {
  // risk 0.9 is right 30 % of the time, risk 0.01 right 1 % of the time
  const r = rng(1);
  const risks: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const high = i % 4 === 0;
    risks.push(high ? 0.9 : 0.01);
    labels.push(r() < (high ? 0.3 : 0.01) ? 1 : 0);
  }
  const c = fitPlatt(risks, labels);
  assert.ok(c);
  assert.equal(c.samples, 4000);
  assert.ok(Math.abs(calibrate(c, 0.9) - 0.3) < 0.05, `${calibrate(c, 0.9)}`);
  assert.ok(Math.abs(calibrate(c, 0.01) - 0.01) < 0.01, `${calibrate(c, 0.01)}`);
});

test('Platt scaling stays finite on separable data (smoothed targets), and needs both classes', () => {
  const risks = [...Array(100).fill(0.97), ...Array(4200).fill(0.003)];
  const labels = [...Array(100).fill(1), ...Array(4200).fill(0)];
  const c = fitPlatt(risks, labels);
  assert.ok(c && Number.isFinite(c.a) && Number.isFinite(c.b));
  assert.ok(Math.abs(calibrate(c, 0.97) - 101 / 102) < 1e-3, 'the positives get Platt\'s target (N+ + 1)/(N+ + 2)');
  assert.ok(calibrate(c, 0.003) < 1e-3);
  assert.equal(fitPlatt([0.1, 0.2], [0, 0]), null);
  assert.equal(fitPlatt([0.1, 0.2], [1, 1]), null);
  assert.throws(() => fitPlatt([0.1], [0, 1]), /1 risks but 2 labels/);
});

test('property: the calibration never reverses the order of risks, and stays in [0, 1]', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
    const r = rng(seed);
    const risks = Array.from({ length: 200 }, () => r());
    // labels anti-correlated with the risk: the best fit would reverse it, the slope stays >= 0
    const labels = risks.map((x) => (r() < 1 - x ? 1 : 0));
    const c = fitPlatt(risks, labels);
    if (!c) return;
    assert.ok(c.a >= 0);
    const sorted = [...risks].sort((x, y) => x - y).map((x) => calibrate(c, x));
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i] >= sorted[i - 1]);
    assert.ok(sorted.every((x) => x >= 0 && x <= 1));
  }), { numRuns: 30 });
  assert.ok(Math.abs(sigmoid(logit(0.3)) - 0.3) < 1e-12);
  assert.equal(sigmoid(-1000), 0);
  assert.ok(Number.isFinite(logit(0)) && Number.isFinite(logit(1)));
});
