import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { alarmIndices, brierScore, countTrace, evaluateAt, parseThresholds, prCurve, sweep, type ScoredTrace, type ThresholdMetrics } from '../../src/evaluation/metrics';
import type { Row } from '../../src/evaluation/detector';
import type { FaultWindow, Trace } from '../../src/evaluation/types';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const at = (minute: number) => T0 + minute * MIN;

/** A trace of `minutes` rows one minute apart; score 0 except the given minutes. */
function scored(minutes: number, windows: FaultWindow[], spikes: Record<number, number>, trainUntil = 0): ScoredTrace {
  const rows: Row[] = Array.from({ length: minutes }, (_, i) => ({ ts: at(i), cpu: 10 }));
  const scores = rows.map((_, i) => spikes[i] ?? 0);
  const trace: Trace = { name: 'hand', rows, windows, trainUntil };
  return { trace, scores };
}

const W1: FaultWindow = { start: at(60), failure: at(80), end: at(90) };
const W2: FaultWindow = { start: at(120), failure: at(140), end: at(150) };

test('an alarm 5 min before the failure inside the window is a TP with lead time 5 min; one outside is an FP; a silent window is an FN', () => {
  const st = scored(180, [W1, W2], { 75: 0.9, 20: 0.9 });
  const c = countTrace(st, 0.5);
  assert.equal(c.tp, 1);
  assert.equal(c.fp, 1);
  assert.equal(c.fn, 1);
  assert.equal(c.late, 0);
  assert.deepEqual(c.falseAlarmTs, [at(20)]);
  assert.equal(c.outcomes[0].leadTimeMs, 5 * MIN);
  assert.equal(c.outcomes[1].predicted, false);
  // 180 min scored, 2 x 30 min of windows: 2 h of non-fault time, 1 false alarm.
  assert.equal(c.negativeHours, 2);
  assert.equal(c.negativeSamples, 180 - 31 - 31);
  assert.equal(c.negativeSamplesAbove, 1);

  const m = evaluateAt([st], 0.5);
  assert.equal(m.precision, 0.5);
  assert.equal(m.recall, 0.5);
  assert.equal(m.f1, 0.5);
  assert.equal(m.fpPerHour, 0.5);
  assert.equal(m.fpRateSamples, 1 / 118);
  assert.equal(m.leadTimeMeanMs, 5 * MIN);
  assert.equal(m.leadTimeMedianMs, 5 * MIN);
  // Above the spikes: nothing raised, precision undefined, recall 0.
  const quiet = evaluateAt([st], 0.95);
  assert.equal(quiet.precision, null);
  assert.equal(quiet.recall, 0);
  assert.equal(quiet.f1, 0);
  assert.equal(quiet.fp, 0);
});

test('the lead time is measured from the first warning in the prediction period', () => {
  const st = scored(180, [W1], { 62: 0.7, 70: 0.9, 79: 0.9 });
  const c = countTrace(st, 0.5);
  assert.equal(c.tp, 1);
  assert.equal(c.outcomes[0].leadTimeMs, 18 * MIN);
  assert.equal(countTrace(st, 0.8).outcomes[0].leadTimeMs, 10 * MIN);
});

test('an alarm after the failure but inside the window is late: neither TP nor FP', () => {
  const c = countTrace(scored(180, [W1], { 85: 1 }), 0.5);
  assert.equal(c.tp, 0);
  assert.equal(c.fn, 1);
  assert.equal(c.late, 1);
  assert.equal(c.fp, 0);
});

test('the minimal warning time turns a too-short warning into a late one', () => {
  const st = scored(180, [W1], { 75: 1 });
  assert.equal(countTrace(st, 0.5, { minWarningMs: 5 * MIN }).tp, 1, 'exactly the warning time is in time');
  const c = countTrace(st, 0.5, { minWarningMs: 10 * MIN });
  assert.equal(c.tp, 0);
  assert.equal(c.late, 1);
});

test('a window without a failure time takes its end as the failure', () => {
  const c = countTrace(scored(180, [{ start: at(60), end: at(90) }], { 70: 1 }), 0.5);
  assert.equal(c.outcomes[0].leadTimeMs, 20 * MIN);
});

test('the refractory period merges an episode into one alarm and re-raises a long one', () => {
  const burst = scored(600, [], { 100: 1, 101: 1, 102: 1 });
  assert.equal(countTrace(burst, 0.5, { refractoryMs: 60 * MIN }).fp, 1);
  assert.equal(countTrace(burst, 0.5, { refractoryMs: 0 }).fp, 3);
  const spikes: Record<number, number> = {};
  for (let i = 200; i < 380; i++) spikes[i] = 1; // 3 h above the threshold
  assert.deepEqual(
    alarmIndices(burst.trace.rows.map((r) => r.ts), burst.trace.rows.map((_, i) => spikes[i] ?? 0), 0.5, 60 * MIN),
    [200, 260, 320],
  );
});

test('rows before trainUntil are not scored: their alarms do not count, windows there are not positives', () => {
  const st = scored(180, [{ start: at(10), failure: at(20), end: at(25) }, W1], { 5: 1, 15: 1, 75: 1 }, 40);
  const c = countTrace(st, 0.5);
  assert.equal(c.tp, 1);
  assert.equal(c.fn, 0);
  assert.equal(c.fp, 0);
  assert.equal(c.outcomes.length, 1);
  assert.equal(c.negativeSamples, 140 - 31);
});

test('a detector stuck at 1 finds every window but pays one false alarm per refractory period', () => {
  const stuck: Record<number, number> = {};
  for (let i = 0; i < 600; i++) stuck[i] = 1;
  const m = evaluateAt([scored(600, [W1, W2], stuck)], 0.5, { refractoryMs: 60 * MIN });
  assert.equal(m.recall, 1);
  // 600 min with alarms at 0, 60, ..., 540; those at 60 and 120 fall in windows.
  assert.equal(m.fp, 8);
});

test('precision, recall and counts are pooled over traces', () => {
  const a = scored(180, [W1], { 75: 1 });
  const b = scored(180, [W1], { 30: 1 });
  const m = evaluateAt([a, b], 0.5);
  assert.deepEqual([m.tp, m.fp, m.fn], [1, 1, 1]);
  assert.equal(m.precision, 0.5);
});

test('the sweep is monotone: recall never rises with the threshold', () => {
  const thresholds = parseThresholds('0:1:0.05');
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 200, maxLength: 200 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 190 }), fc.integer({ min: 1, max: 9 })), { minLength: 1, maxLength: 5 }),
      (scores, ws) => {
        const sortedWs = [...ws].sort((x, y) => x[0] - y[0]).filter((w, i, all) => i === 0 || w[0] > all[i - 1][0] + all[i - 1][1]);
        const windows = sortedWs.map(([s, len]) => ({ start: at(s), failure: at(s + len - 1), end: at(s + len) }));
        const rows = scores.map((_, i) => ({ ts: at(i), cpu: 1 }));
        const rowsSweep = sweep([{ trace: { name: 'p', rows, windows }, scores }], thresholds);
        for (let i = 1; i < rowsSweep.length; i++) assert.ok((rowsSweep[i].recall ?? 0) <= (rowsSweep[i - 1].recall ?? 0));
      },
    ),
    { numRuns: 100 },
  );
});

function m(threshold: number, precision: number | null, recall: number): ThresholdMetrics {
  return { threshold, precision, recall, tp: 0, fp: 0, fn: 0, late: 0, alarms: 0, f1: 0, fpPerHour: null, fpRateSamples: null, leadTimeMeanMs: null, leadTimeMedianMs: null, leadTimesMs: [] };
}

test('the PR area is the step-wise average precision over the swept points', () => {
  const pr = prCurve([m(0.9, null, 0), m(0.7, 1, 0.25), m(0.5, 0.5, 0.5), m(0.3, 0.25, 1)]);
  assert.deepEqual(pr.points.map((p) => p.threshold), [0.7, 0.5, 0.3]);
  assert.equal(pr.area, 0.25 * 1 + 0.25 * 0.5 + 0.5 * 0.25);
});

test('thresholds parse from ranges and lists, and bad ones are named', () => {
  assert.deepEqual(parseThresholds('0.1:0.9:0.1'), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(parseThresholds('0.2, 0.5'), [0.2, 0.5]);
  assert.throws(() => parseThresholds('0.9:0.1:0.1'), /from <= to/);
  assert.throws(() => parseThresholds('a,b'), /comma-separated/);
  assert.throws(() => parseThresholds('1.5'), /outside \[0, 1\]/);
});

test('scores of the wrong length are refused', () => {
  const st = scored(10, [], {});
  assert.throws(() => countTrace({ trace: st.trace, scores: [0, 1] }, 0.5), /2 scores for 10 rows/);
});

test('the Brier score reads a score at t as the probability that row t + 1 is in a fault window', () => {
  // 10 scored rows (the 10th has no successor): rows 4..6 are in the window
  const st = scored(11, [{ start: at(4), failure: at(5), end: at(6) }], {}, 1);
  const constant = { ...st, scores: st.scores.map(() => 0.3) };
  // t = 1..9, y(t+1) = 1 for t + 1 in 4..6: three ones, six zeros
  assert.ok(Math.abs((brierScore([constant]) as number) - (3 * 0.49 + 6 * 0.09) / 9) < 1e-12);
  const perfect = { ...st, scores: st.scores.map((_, t) => (t + 1 >= 4 && t + 1 <= 6 ? 1 : 0)) };
  assert.equal(brierScore([perfect]), 0);
  assert.equal(brierScore([]), null);
});
