// The controller is pure with an injected clock: every rule and every
// fail-safe trigger is driven here step by step.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyConfig } from '../../src/policy/config';
import { Controller, PolicyError, type Intent } from '../../src/policy/controller';
import type { DomainState } from '../../src/protocol/api';

const T0 = 1_700_000_000_000;

function rig(defaults: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  let t = T0;
  const cfg = parsePolicyConfig({
    protect: ['vm*'],
    defaults: { safeIntervalMs: 100, relaxedIntervalMs: 1000, steps: [200, 500], raise: 0.5, lower: 0.2, dwellMs: 10_000, maxSampleAgeMs: 3000, ...defaults },
    ...extra,
  });
  const ctl = new Controller(cfg, { now: () => t, minIntervalMs: 20, riskStepMs: 1000 });
  return {
    ctl,
    at(ms: number) {
      t = T0 + ms;
    },
    now: () => t,
    /** One fresh sample of vm1 at the current time. */
    obs(risk: number | null, state: DomainState = 'running', age = 0, domain = 'vm1'): Intent[] {
      return ctl.observe({ domain, ts: t - age, state }, risk);
    },
  };
}

const one = (xs: Intent[]): Intent => {
  assert.equal(xs.length, 1, `expected one intent, got ${JSON.stringify(xs)}`);
  return xs[0];
};

/** Brings vm1 to the relaxed interval (1000 ms) through the ladder; returns the time used. */
function relaxFully(r: ReturnType<typeof rig>): number {
  r.obs(0.05); // start-up
  let ms = 0;
  for (const want of [200, 500, 1000]) {
    ms += 10_000;
    r.at(ms);
    const i = one(r.obs(0.05));
    assert.equal(i.intervalMs, want);
  }
  return ms;
}

test('start-up: the first sample of a domain sets the safe interval before anything else', () => {
  const r = rig();
  const i = one(r.obs(0.01));
  assert.deepEqual(
    { kind: i.kind, intervalMs: i.intervalMs, previousMs: i.previousMs, who: i.who, apply: i.apply },
    { kind: 'startup', intervalMs: 100, previousMs: null, who: 'policy', apply: true },
  );
  assert.equal(r.ctl.status('vm1')!.mode, 'failsafe');
  r.at(1000);
  assert.deepEqual(r.obs(0.01), [], 'healthy now, but relaxing waits for the dwell');
  assert.equal(r.ctl.status('vm1')!.mode, 'auto');
});

test('hysteresis and dwell: relax one step per dwell below `lower`, hold between, tighten at once above `raise`', () => {
  const r = rig();
  r.obs(0.05);
  r.at(9_999);
  assert.deepEqual(r.obs(0.05), [], 'dwell not over');
  r.at(10_000);
  let i = one(r.obs(0.05));
  assert.deepEqual({ kind: i.kind, from: i.previousMs, to: i.intervalMs }, { kind: 'auto', from: 100, to: 200 });
  assert.match(i.reason, /risk 0\.050 < lower 0\.2 for the dwell: one step longer/);
  r.at(15_000);
  assert.deepEqual(r.obs(0.05), [], 'the dwell counts from the last change');
  r.at(20_000);
  assert.equal(one(r.obs(0.05)).intervalMs, 500);
  r.at(40_000);
  assert.deepEqual(r.obs(0.3), [], 'between lower and raise: hold, however long');
  assert.match(r.ctl.status('vm1')!.reason, /between lower 0\.2 and raise 0\.5: interval kept/);
  r.at(40_001);
  i = one(r.obs(0.5));
  assert.deepEqual({ kind: i.kind, from: i.previousMs, to: i.intervalMs }, { kind: 'auto', from: 500, to: 100 });
  assert.match(i.reason, /risk 0\.500 >= raise 0\.5: safe interval/);
  r.at(40_002);
  assert.deepEqual(r.obs(0.01), [], 'right after a tighten, relaxing waits a full dwell again');
  r.at(50_002);
  assert.equal(one(r.obs(0.01)).intervalMs, 200);
});

test('tightening is never held back by the dwell', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.at(ms + 1); // 1 ms after the last relax
  const i = one(r.obs(0.9));
  assert.equal(i.intervalMs, 100);
  assert.equal(i.previousMs, 1000);
});

test('at the relaxed interval low risk changes nothing', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.at(ms + 60_000);
  assert.deepEqual(r.obs(0.0), []);
  assert.match(r.ctl.status('vm1')!.reason, /at the relaxed interval/);
});

test('Young/Daly: interval = sqrt(2 C / lambda), lambda from the risk per sample, clamped, with a deadband', () => {
  const r = rig({ safeIntervalMs: 50, relaxedIntervalMs: 5000, steps: [], hazard: { checkpointCostMs: 20 }, dwellMs: 0 });
  const yd = (risk: number) => Math.round(Math.sqrt((2 * 20) / (-Math.log(1 - risk) / 1000)));
  r.obs(0.1);
  r.at(1000);
  let i = one(r.obs(0.1));
  assert.equal(i.intervalMs, yd(0.1));
  assert.ok(i.intervalMs > 600 && i.intervalMs < 630, `${i.intervalMs}`); // ~616 ms
  assert.match(i.reason, /Young\/Daly: risk 0\.100 < lower 0\.2 -> \d+ ms \(relax\)/);
  r.at(2000);
  assert.deepEqual(r.obs(0.095), [], 'a change within the 10% deadband is ignored');
  r.at(3000);
  i = one(r.obs(0.3)); // between lower and raise: the rule may still tighten
  assert.equal(i.intervalMs, yd(0.3));
  r.at(4000);
  assert.deepEqual(r.obs(0.25), [], 'between the thresholds it never relaxes');
  r.at(5000);
  assert.equal(one(r.obs(0.0001)).intervalMs, 5000, 'clamped to relaxed');
  r.at(6000);
  assert.equal(one(r.obs(0.6)).intervalMs, 50, 'risk >= raise: safe');
  // With intermediate steps the result snaps down to the ladder (the safer side).
  const s = rig({ safeIntervalMs: 50, relaxedIntervalMs: 5000, steps: [200, 1000, 2000], hazard: { checkpointCostMs: 20 }, dwellMs: 0 });
  s.obs(0.1);
  s.at(1000);
  assert.equal(one(s.obs(0.1)).intervalMs, 200, '616 ms snaps down to 200');
  s.at(2000);
  assert.equal(one(s.obs(0.01)).intervalMs, 1000, '1995 ms snaps down to 1000');
  assert.equal(s.ctl.hazardInterval(s.ctl.policyOf('vm1')!, 1), 50);
  assert.equal(s.ctl.hazardInterval(s.ctl.policyOf('vm1')!, 0), 5000);
});

test('fail-safe: no fresh sample - the periodic tick acts even when no sample arrives at all', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.at(ms + 3000);
  assert.deepEqual(r.ctl.tick(), [], 'exactly maxSampleAgeMs old is still fresh');
  r.at(ms + 3001);
  const i = one(r.ctl.tick());
  assert.deepEqual({ kind: i.kind, from: i.previousMs, to: i.intervalMs }, { kind: 'failsafe', from: 1000, to: 100 });
  assert.match(i.reason, /fail-safe \(no sample for 3\.0 s \(max 3\.0 s\)\): safe interval/);
  assert.equal(r.ctl.status('vm1')!.mode, 'failsafe');
  assert.deepEqual(r.ctl.tick(), [], 'no repeated decision while it stays stale');
  r.at(ms + 4000);
  assert.deepEqual(r.obs(0.05), [], 'fresh again: healthy, but relaxing waits for the dwell');
  assert.equal(r.ctl.status('vm1')!.mode, 'auto');
});

test('fail-safe: a sample that is already old when it arrives', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.at(ms + 1000);
  const i = one(r.obs(0.05, 'running', 3500));
  assert.equal(i.intervalMs, 100);
  assert.match(i.reason, /newest sample is 3\.5 s old \(max 3\.0 s\)/);
});

test('fail-safe: risk null (no model or a prediction error)', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.at(ms + 1000);
  const i = one(r.obs(null));
  assert.deepEqual({ kind: i.kind, to: i.intervalMs, risk: i.risk }, { kind: 'failsafe', to: 100, risk: null });
  assert.match(i.reason, /no risk for the latest sample/);
});

test('fail-safe: stats unavailable, for every domain, until each one\'s next sample', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.obs(0.05, 'running', 0, 'vm2'); // start-up of vm2 (at safe already)
  r.at(ms + 500);
  const xs = r.ctl.statsUnavailable('libvirt: connection reset');
  assert.equal(xs.length, 1, 'vm2 is at safe already: only vm1 changes');
  assert.equal(xs[0].domain, 'vm1');
  assert.match(xs[0].reason, /stats unavailable: libvirt: connection reset/);
  assert.equal(r.ctl.status('vm2')!.mode, 'failsafe');
  r.at(ms + 600);
  assert.deepEqual(r.obs(0.05), []);
  assert.equal(r.ctl.status('vm1')!.mode, 'auto');
  assert.equal(r.ctl.status('vm2')!.mode, 'failsafe');
  // A lost libvirt connection (connection-level event) is the same trigger.
  r.at(ms + 20_000);
  assert.equal(one(r.obs(0.05)).intervalMs, 200);
  assert.equal(one(r.ctl.domainEvent('', 'disconnected', 'keepalive')).intervalMs, 100);
});

test('fail-safe: a backend error, cleared by a successful apply', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.at(ms + 100);
  const i = one(r.ctl.applied('vm1', false, new Error('QMP: domain is not running')));
  assert.equal(i.intervalMs, 100);
  assert.match(i.reason, /backend error: QMP: domain is not running/);
  assert.deepEqual(r.ctl.applied('vm1', true), []);
  assert.equal(r.ctl.status('vm1')!.mode, 'auto');
  r.at(ms + 200);
  assert.deepEqual(r.ctl.backendFault('vm1', new Error('xl remus exited')), [], 'at safe already: no new target');
  assert.equal(r.ctl.status('vm1')!.mode, 'failsafe');
  assert.match(r.ctl.status('vm1')!.reason, /backend error: xl remus exited/);
  r.at(ms + 20_000);
  assert.deepEqual(r.obs(0.01), [], 'a sample does not clear a backend error');
  const back = one(r.ctl.backendFault('vm1', null));
  assert.equal(r.ctl.status('vm1')!.mode, 'auto', 'the recovery does');
  assert.equal(back.intervalMs, 200, 'healthy, low risk, dwell long over: one step longer');
});

test('fail-safe: domain crashed or stopped; applied again when it runs', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.at(ms + 100);
  let i = one(r.ctl.domainEvent('vm1', 'crashed', 'panicked'));
  assert.deepEqual({ kind: i.kind, to: i.intervalMs, apply: i.apply }, { kind: 'failsafe', to: 100, apply: false });
  assert.match(i.reason, /domain crashed/);
  r.at(ms + 1100);
  assert.deepEqual(r.obs(null, 'shutoff'), [], 'still down: nothing new');
  r.at(ms + 2100);
  i = one(r.obs(null, 'running'));
  assert.deepEqual({ kind: i.kind, to: i.intervalMs, prev: i.previousMs, apply: i.apply }, { kind: 'failsafe', to: 100, prev: null, apply: true });
  assert.match(i.reason, /domain running again/);
  // stopped event, then the started event brings it back.
  r.at(ms + 30_000);
  r.obs(0.05);
  assert.equal(r.ctl.status('vm1')!.mode, 'auto');
  r.ctl.domainEvent('vm1', 'stopped');
  assert.equal(r.ctl.status('vm1')!.mode, 'failsafe');
  i = one(r.ctl.domainEvent('vm1', 'started'));
  assert.equal(i.apply, true);
  // A domain first seen shut off: the start-up decision is recorded but not applied.
  const s = rig();
  const st = one(s.obs(null, 'shutoff'));
  assert.deepEqual({ kind: st.kind, apply: st.apply }, { kind: 'startup', apply: false });
});

test('watchdog and I/O error events tighten at once and restart the dwell', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.at(ms + 100);
  const i = one(r.ctl.domainEvent('vm1', 'watchdog', 'reset'));
  assert.equal(i.intervalMs, 100);
  assert.match(i.reason, /libvirt watchdog event/);
  r.at(ms + 5000);
  assert.deepEqual(r.obs(0.01), []);
  r.at(ms + 10_100);
  assert.equal(one(r.obs(0.01)).intervalMs, 200);
});

test('agent shutdown: every protected domain to its safe interval, then no more decisions', () => {
  const r = rig();
  const ms = relaxFully(r);
  r.obs(0.05, 'running', 0, 'vm2');
  r.at(ms + 1);
  const xs = r.ctl.shutdown();
  assert.deepEqual(xs.map((x) => [x.domain, x.kind, x.previousMs, x.intervalMs, x.bypassRateLimit]), [
    ['vm1', 'shutdown', 1000, 100, true],
    ['vm2', 'shutdown', 100, 100, true],
  ]);
  assert.deepEqual(r.obs(0.9), []);
  assert.deepEqual(r.ctl.tick(), []);
  assert.throws(() => r.ctl.pin('vm1', 200, null, 'ops'), /the agent is stopping/);
});

test('pin: honoured against risk, suspended by fail-safe, returns to auto at expiry with a decision', () => {
  const r = rig();
  r.obs(0.05);
  r.at(1000);
  r.obs(0.05);
  let i = r.ctl.pin('vm1', 500, T0 + 60_000, 'alice');
  assert.deepEqual({ kind: i.kind, from: i.previousMs, to: i.intervalMs, who: i.who }, { kind: 'override', from: 100, to: 500, who: 'alice' });
  assert.match(i.reason, /pinned to 500 ms by alice until 2023-11-14T22:14:20\.000Z/);
  assert.deepEqual(r.ctl.status('vm1'), { mode: 'pinned', targetMs: 500, pinnedUntil: T0 + 60_000, reason: i.reason });
  r.at(2000);
  assert.deepEqual(r.obs(0.95), [], 'high risk does not override an operator pin');
  r.at(2500);
  assert.deepEqual(r.obs(null), [], 'no risk (no model) does not matter to a pin: it does not use risk');
  assert.equal(r.ctl.status('vm1')!.mode, 'pinned');
  assert.match(r.ctl.status('vm1')!.reason, /pinned to 500 ms by alice \(no risk available; a pin does not depend on it\)/);
  r.at(3000);
  i = one(r.ctl.statsUnavailable('libvirt down'));
  assert.equal(i.intervalMs, 100, 'but not seeing the domain does (pin > safe)');
  assert.equal(r.ctl.status('vm1')!.mode, 'failsafe');
  assert.equal(r.ctl.status('vm1')!.pinnedUntil, T0 + 60_000, 'the pin is kept');
  r.at(4000);
  i = one(r.obs(0.95));
  assert.deepEqual({ kind: i.kind, to: i.intervalMs }, { kind: 'override', to: 500 }, 'healthy again: the pin is back');
  r.at(60_000);
  i = one(r.ctl.tick());
  assert.deepEqual({ kind: i.kind, from: i.previousMs, to: i.intervalMs, who: i.who }, { kind: 'resume', from: 500, to: 100, who: 'policy' });
  assert.match(i.reason, /pin of 500 ms by alice expired; risk 0\.950 >= raise 0\.5: safe interval/);
  assert.equal(r.ctl.status('vm1')!.mode, 'auto');
});

test('resume: back to auto from the pinned interval; relaxing waits a dwell from the resume', () => {
  const r = rig();
  r.obs(0.05);
  r.at(1000);
  r.obs(0.05);
  r.ctl.pin('vm1', 200, null, 'bob');
  r.at(50_000);
  r.obs(0.05);
  const i = r.ctl.resume('vm1', 'bob');
  assert.deepEqual({ kind: i.kind, from: i.previousMs, to: i.intervalMs, who: i.who }, { kind: 'resume', from: 200, to: 200, who: 'bob' });
  assert.match(i.reason, /automatic mode resumed by bob \(was pinned to 200 ms\)/);
  r.at(55_000);
  assert.deepEqual(r.obs(0.05), []);
  r.at(60_000);
  assert.equal(one(r.obs(0.05)).intervalMs, 500);
  assert.throws(() => r.ctl.resume('vm1', 'bob'), (e: unknown) => e instanceof PolicyError && e.code === 'invalid' && /vm1 is not pinned \(mode auto\)/.test(e.message));
});

test('a pin shorter than safe stays in force during fail-safe; resume from it relaxes up the ladder', () => {
  const r = rig();
  r.obs(0.05);
  const i = r.ctl.pin('vm1', 40, null, 'ops');
  assert.equal(i.intervalMs, 40, 'start-up fail-safe, but 40 ms is safer than safe');
  r.at(1000);
  assert.deepEqual(r.obs(null), []);
  assert.equal(r.ctl.status('vm1')!.targetMs, 40);
  r.at(2000);
  r.obs(0.05);
  r.ctl.resume('vm1', 'ops');
  r.at(12_000);
  assert.equal(one(r.obs(0.05)).intervalMs, 100, 'the next rung above 40 ms is safe');
});

test('pins that are refused, with the reason', () => {
  const r = rig();
  r.obs(0.05);
  const refused = (fn: () => unknown, code: string, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof PolicyError && e.code === code && re.test(e.message), String(re));
  refused(() => r.ctl.pin('vm1', 1001, null, 'a'), 'invalid', /intervalMs 1001 is longer than vm1's relaxed interval \(1000 ms\): a pin may not relax protection beyond the policy's longest interval/);
  refused(() => r.ctl.pin('vm1', 10, null, 'a'), 'invalid', /shorter than the backend's minimum of 20 ms/);
  refused(() => r.ctl.pin('vm1', 150.5, null, 'a'), 'invalid', /whole number of milliseconds/);
  refused(() => r.ctl.pin('vm1', 200, r.now(), 'a'), 'invalid', /expiresAt .* is not in the future/);
  refused(() => r.ctl.pin('vm9', 200, null, 'a'), 'not-protected', /vm9: no such domain/);
  r.obs(0.05, 'running', 0, 'other');
  refused(() => r.ctl.pin('other', 200, null, 'a'), 'not-protected', /other is not protected by this agent's policy/);
  refused(() => r.ctl.resume('other', 'a'), 'not-protected', /not protected/);
  assert.deepEqual(r.ctl.status('other'), { mode: 'unprotected', targetMs: null, pinnedUntil: null, reason: 'not matched by policy.protect' });
  assert.equal(r.ctl.status('never-seen'), null);
});

test('per-domain overrides apply to their domains', () => {
  const r = rig({}, { domains: { vm2: { safeIntervalMs: 30, relaxedIntervalMs: 300, steps: [] } } });
  assert.equal(one(r.obs(0.1, 'running', 0, 'vm2')).intervalMs, 30);
  r.at(10_000);
  assert.equal(one(r.obs(0.1, 'running', 0, 'vm2')).intervalMs, 300);
  assert.throws(() => r.ctl.pin('vm2', 400, null, 'a'), /relaxed interval \(300 ms\)/);
});

test('a vanished domain is forgotten', () => {
  const r = rig();
  r.obs(0.05);
  assert.equal(r.ctl.isProtected('vm1'), true);
  r.ctl.forget('vm1');
  assert.equal(r.ctl.status('vm1'), null);
  assert.equal(one(r.obs(0.05)).kind, 'startup', 'seen again: a new start-up');
});

test('no model: auto stays at safe, but an operator pin is honoured once start-up is over', () => {
  const r = rig();
  r.obs(null);
  let i = r.ctl.pin('vm1', 500, null, 'ops');
  assert.equal(i.intervalMs, 100, 'during start-up the pin waits');
  assert.match(i.reason, /held at the safe interval while fail-safe \(agent start-up/);
  r.at(1000);
  i = one(r.obs(null));
  assert.deepEqual({ kind: i.kind, to: i.intervalMs }, { kind: 'override', to: 500 });
  r.at(2000);
  i = r.ctl.resume('vm1', 'ops');
  assert.equal(i.intervalMs, 100, 'back to auto without risk: fail-safe');
  assert.equal(r.ctl.status('vm1')!.mode, 'failsafe');
});
