import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Decision } from '../../host-agent/src/protocol/api';
import { DecisionLog, describeMode, intervalSteps } from '../src/lib/steps';

let nextId = 1;
function dec(ts: number, oldMs: number | null, newMs: number | null, kind: Decision['kind'] = 'auto', applied = true): Decision {
  return { id: nextId++, domain: 'vm1', ts, kind, oldIntervalMs: oldMs, newIntervalMs: newMs, risk: 0.1, reason: 'test', who: 'agent', applied };
}

test('DecisionLog keeps each decision once and sorts by time, then id', () => {
  const log = new DecisionLog();
  const a = dec(2000, 100, 200);
  const b = dec(1000, 50, 100);
  const c = dec(2000, 200, 300);
  assert.equal(log.add([a, b]), 2);
  assert.equal(log.add([b, c]), 1);
  assert.deepEqual(log.all.map((d) => d.id), [b.id, a.id, c.id]);
});

test('intervalSteps: the interval before the first decision, each applied change, extended to now; pins marked', () => {
  const ds = [dec(10_000, 100, 400), dec(20_000, 400, 50, 'override'), dec(25_000, 50, 999, 'auto', false), dec(30_000, 50, 200, 'resume')];
  const s = intervalSteps(ds, null, 40_000, 0);
  assert.deepEqual(s.xs, [0, 10, 20, 30, 40]);
  assert.deepEqual(s.intervals, [100, 400, 50, 200, 200]);
  assert.deepEqual(s.pins, [null, null, 50, null, null]);
});

test('intervalSteps: decisions older than the window start at the window; same-millisecond decisions keep the later', () => {
  const ds = [dec(5_000, 100, 400), dec(5_000, 400, 800), dec(20_000, 800, 100)];
  const s = intervalSteps(ds, null, 30_000, 10_000);
  assert.deepEqual(s.xs, [10, 20, 30]);
  assert.deepEqual(s.intervals, [800, 100, 100]);
});

test('intervalSteps: no decision in the window draws the current status flat; no status draws nothing', () => {
  const status = { mode: 'auto' as const, intervalMs: 250, backend: 'dry-run', reason: 'low risk' };
  assert.deepEqual(intervalSteps([], status, 60_000, 0), { xs: [0, 60], intervals: [250, 250], pins: [null, null] });
  assert.deepEqual(intervalSteps([], null, 60_000, 0), { xs: [], intervals: [], pins: [] });
});

test('describeMode names pinned-until, fail-safe and no protection', () => {
  const t = (ts: number) => `T${ts}`;
  assert.equal(describeMode(null, t), 'not protected by the agent');
  assert.equal(describeMode({ mode: 'pinned', intervalMs: 5, pinnedUntil: 99, backend: 'x', reason: '' }, t), 'pinned until T99');
  assert.equal(describeMode({ mode: 'pinned', intervalMs: 5, pinnedUntil: null, backend: 'x', reason: '' }, t), 'pinned until resumed');
  assert.equal(describeMode({ mode: 'failsafe', intervalMs: 5, backend: 'x', reason: '' }, t), 'fail-safe (shortest interval)');
});
