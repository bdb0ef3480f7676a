import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainingCurves } from '../src/lib/training';
import { describeMatrix, luminance, mix, parseColor } from '../src/lib/heat';
import { parseLocalTime, RangeInputError, resolveRange } from '../src/lib/ranges';
import { throttle, type Timer } from '../src/lib/throttle';
import { formatInterval, formatRate } from '../src/lib/format';

test('TrainingCurves: one column per restart aligned on iterations, best final likelihood', () => {
  const c = new TrainingCurves();
  const p = (restart: number, iteration: number, ll: number) => ({ jobId: 'j', restart, restarts: 2, iteration, logLikelihood: ll });
  c.add(p(0, 1, -100));
  c.add(p(0, 2, -90));
  c.add(p(1, 1, -120));
  c.add(p(1, 2, -80));
  c.add(p(1, 3, -79));
  assert.deepEqual(c.columns(), [[1, 2, 3], [-100, -90, null], [-120, -80, -79]]);
  assert.deepEqual(c.best(), { restart: 1, logLikelihood: -79, iterations: 3 });
  assert.equal(c.points, 5);
  assert.equal(c.restarts, 2);
  c.clear();
  assert.deepEqual(c.columns(), [[]]);
  assert.equal(c.best(), undefined);
});

test('heat: colours parse in the forms computed styles give, mix clamps, rows are described by their largest entries', () => {
  assert.deepEqual(parseColor('#fff'), [255, 255, 255]);
  assert.deepEqual(parseColor('#3794ffcc'), [0x37, 0x94, 0xff]);
  assert.deepEqual(parseColor('rgb(1, 2, 3)'), [1, 2, 3]);
  assert.deepEqual(parseColor('rgba(10 20 30 / 50%)'), [10, 20, 30]);
  assert.equal(parseColor('var(--x)'), undefined);
  assert.equal(mix([0, 0, 0], [200, 100, 0], 0.5), 'rgb(100, 50, 0)');
  assert.equal(mix([0, 0, 0], [200, 100, 0], 7), 'rgb(200, 100, 0)');
  assert.ok(luminance([255, 255, 255]) > 0.99 && luminance([0, 0, 0]) === 0);
  assert.equal(describeMatrix([[0.9, 0.1], [0.3, 0.7]], ['ok', 'bad'], (j) => ['ok', 'bad'][j], 1), 'ok: ok 90 %; bad: bad 70 %');
});

test('ranges: presets relative to now, custom parsed as local time with clear errors', () => {
  const now = new Date(2024, 4, 1, 12, 0, 0).getTime();
  assert.deepEqual(resolveRange('hour', now), { from: now - 3_600_000, to: now });
  assert.deepEqual(resolveRange('all', now), { from: null, to: null });
  assert.deepEqual(resolveRange('custom', now, { from: '2024-05-01 10:30', to: '' }), { from: new Date(2024, 4, 1, 10, 30).getTime(), to: now });
  assert.equal(parseLocalTime('2024-05-01T10:30:15', 'from'), new Date(2024, 4, 1, 10, 30, 15).getTime());
  assert.throws(() => parseLocalTime('yesterday', 'from'), (e: Error) => e instanceof RangeInputError && /from: expected a time like/.test(e.message));
  assert.throws(() => parseLocalTime('2024-02-30 10:00', 'to'), /to: "2024-02-30 10:00" is not a valid date and time/);
  assert.throws(() => resolveRange('custom', now, { from: '2024-05-01 11:00', to: '2024-05-01 10:00' }), /end must be after the start/);
});

test('throttle: runs at once, then coalesces a burst into one run after the interval', () => {
  let t = 0;
  const timers: Array<{ fn: () => void; at: number }> = [];
  const timer: Timer = { now: () => t, set: (fn, ms) => timers.push({ fn, at: t + ms }), clear: () => timers.splice(0) };
  let runs = 0;
  const th = throttle(() => runs++, 100, timer);
  th.schedule();
  assert.equal(runs, 1);
  for (let i = 0; i < 50; i++) th.schedule();
  assert.equal(runs, 1);
  assert.equal(timers.length, 1);
  assert.equal(timers[0].at, 100);
  t = 100;
  timers.shift()!.fn();
  assert.equal(runs, 2);
  th.schedule();
  assert.equal(runs, 2, 'still within the interval after the last run');
  th.flush();
  assert.equal(runs, 3);
});

test('format: intervals and rates as people read them', () => {
  assert.equal(formatInterval(25), '25 ms');
  assert.equal(formatInterval(2500), '2.5 s');
  assert.equal(formatInterval(null), 'none');
  assert.equal(formatRate(512), '512 B/s');
  assert.equal(formatRate(1536), '1.5 KiB/s');
});
