// The `store` fail-safe cause: while the agent's store cannot write (disk
// full, I/O error) every protected domain is held at its safe interval, also
// against a pin and across fresh samples, until the store writes again.
// (End to end on a real tmpfs: test/reliability/disk-full.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyConfig } from '../../src/policy/config';
import { Controller } from '../../src/policy/controller';

const T0 = 1_700_000_000_000;

test('store cannot write: safe interval for every domain (pins held too), samples do not clear it, writes again: back to the pin', () => {
  let t = T0;
  const ctl = new Controller(parsePolicyConfig({ protect: ['vm*'], defaults: { safeIntervalMs: 100, relaxedIntervalMs: 1000, steps: [500], dwellMs: 10_000, maxSampleAgeMs: 3000 } }), { now: () => t });
  ctl.observe({ domain: 'vm1', ts: t, state: 'running' }, 0.01);
  t += 1000;
  ctl.observe({ domain: 'vm1', ts: t, state: 'running' }, 0.01);
  assert.equal(ctl.pin('vm1', 500, null, 'op').intervalMs, 500);

  const down = ctl.storeUnavailable('SQLITE_FULL: database or disk is full');
  assert.deepEqual(down.map((i) => [i.domain, i.kind, i.intervalMs]), [['vm1', 'failsafe', 100]]);
  assert.equal(ctl.status('vm1')!.mode, 'failsafe');
  assert.match(ctl.status('vm1')!.reason, /store cannot write: SQLITE_FULL/);
  t += 1000;
  assert.deepEqual(ctl.observe({ domain: 'vm1', ts: t, state: 'running' }, 0.01), [], 'a fresh sample does not clear it');
  assert.equal(ctl.status('vm1')!.mode, 'failsafe');
  // A domain first seen while the store is down starts fail-safe and stays there after its start-up.
  ctl.observe({ domain: 'vm2', ts: t, state: 'running' }, 0.01);
  t += 1000;
  ctl.observe({ domain: 'vm2', ts: t, state: 'running' }, 0.01);
  assert.match(ctl.status('vm2')!.reason, /store cannot write/);

  const up = ctl.storeUnavailable(null);
  assert.deepEqual(up.map((i) => [i.domain, i.kind, i.intervalMs]), [['vm1', 'override', 500]], 'the pin applies again; vm2 stays at safe (relaxing waits for the dwell)');
  assert.equal(ctl.status('vm1')!.mode, 'pinned');
  assert.equal(ctl.status('vm2')!.mode, 'auto');
  assert.deepEqual(ctl.storeUnavailable(null), [], 'nothing changes twice');
});
