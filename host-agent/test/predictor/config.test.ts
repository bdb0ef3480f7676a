import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config';

const ctx = { baseDir: '/etc/hefery' };
const err = (prediction: unknown) => {
  try {
    parseConfig({ prediction }, ctx);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return (e as Error).message;
  }
  return 'no error';
};

test('the prediction section: defaults, overrides, and errors naming the field', () => {
  const d = parseConfig({}, ctx).prediction;
  assert.deepEqual(d.predictor, { method: 'forward', horizonSteps: 10, windowLength: 30 });
  assert.deepEqual(d.training.discretization, { method: 'quantile', levels: 3 });
  const c = parseConfig({ prediction: { method: 'viterbi-window', windowLength: 12, discretization: 'mean', levels: 2, loadLevels: 2, restarts: 4, maxIterations: 50 } }, ctx).prediction;
  assert.deepEqual(c.predictor, { method: 'viterbi-window', horizonSteps: 10, windowLength: 12 });
  assert.deepEqual(c.training.discretization, { method: 'mean', levels: 2 });
  assert.equal(c.training.loads, 2);
  assert.equal(c.training.restarts, 4);
  assert.deepEqual(parseConfig({ prediction: { quantiles: [0.3, 0.7] } }, ctx).prediction.training.discretization, { method: 'quantile', levels: 3, quantiles: [0.3, 0.7] });
  assert.equal(err({ method: 'magic' }), 'prediction.method: expected one of forward, viterbi-window, got string "magic"');
  assert.equal(err({ levels: 4 }), 'prediction.levels: expected number <= 3, got number 4');
  assert.equal(err({ horizonSteps: 0 }), 'prediction.horizonSteps: expected number >= 1, got number 0');
  assert.equal(err({ quantiles: [0.5], levels: 3 }), 'prediction.quantiles: 3 levels need 2 cut point(s), got 1');
  assert.equal(err({ quantiles: [0.9, 0.5] }), 'prediction.quantiles: expected ascending cut points in (0, 1), got 0.9, 0.5');
  assert.equal(err({ discretization: 'mean', quantiles: [0.5] }), 'prediction.quantiles: only used with "discretization": "quantile"');
  assert.equal(err({ restart: 3 }), 'prediction.restart: expected no such field, got number 3');
  const t = parseConfig({ prediction: { thresholdsFrom: 'healthy', calibrate: false } }, ctx).prediction.training;
  assert.deepEqual([t.thresholdsFrom, t.calibrate], ['healthy', false]);
  assert.deepEqual([d.training.thresholdsFrom, d.training.calibrate], [undefined, undefined], 'unset: the trainer\'s defaults (all, calibrated)');
  assert.equal(err({ thresholdsFrom: 'some' }), 'prediction.thresholdsFrom: expected one of all, healthy, got string "some"');
});
