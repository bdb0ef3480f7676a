// Ground-truth bookkeeping of the scenario runner (scripts/scenarios/windows.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFailure, faultWindow, findOutage, oomLine, signalFired, trainUntil, type Observations, type Probe } from '../../../scripts/scenarios/windows';

const T0 = 1_800_000_000_000;
/** Probes once a second from T0: 'o' answered, 'x' unanswered, '.' still pending. */
function probes(pattern: string): Probe[] {
  return [...pattern].map((c, i) => ({ sentAt: T0 + i * 1000, ok: c === 'o' ? true : c === 'x' ? false : null }));
}
const obs = (o: Partial<Observations>): Observations => ({ probes: [], oomAt: null, events: [], ...o });

test('an outage starts at the first unanswered probe and needs the whole span unanswered', () => {
  // 10 s span: probes at +3..+13 all failed.
  assert.deepEqual(findOutage(probes('oooxxxxxxxxxxxo'), T0, 10_000), { start: T0 + 3000, confirmedBy: T0 + 13_000, failed: 11 });
  // An answer in between restarts the count.
  assert.equal(findOutage(probes('oooxxxxxoxxxxxxo'), T0, 10_000), null);
  assert.deepEqual(findOutage(probes('oooxxxxxoxxxxxxxxxxxo'), T0, 10_000)?.start, T0 + 9000);
  // Shorter than the span: no outage.
  assert.equal(findOutage(probes('oooxxxxxxxxxo'), T0, 10_000), null);
});

test('outages before the fault are ignored and a pending probe stops the scan', () => {
  // Failed probes at +0..+11 all precede `from` = +12.
  assert.equal(findOutage(probes('xxxxxxxxxxxxoooo'), T0 + 12_000, 5000), null);
  // From +2: the run starting at +2 counts, not the one before.
  assert.equal(findOutage(probes('xxxxxxxxxxxxxxo'), T0 + 2000, 5000)?.start, T0 + 2000);
  // A pending probe at +5: whatever comes after cannot be judged yet.
  assert.equal(findOutage(probes('oxxxx.xxxxxxxxxx'), T0, 5000), null);
  // Probes arrive in any order in the array; they are judged in send order.
  const shuffled = probes('ooxxxxxxo').reverse();
  assert.equal(findOutage(shuffled, T0, 5000)?.start, T0 + 2000);
});

test('oomLine finds the OOM killer on the guest console', () => {
  const console = 'hefery-guest: ready addr=10.213.0.2/24\n[   93.101] Out of memory: Killed process 212 (awk) total-vm:98304kB, anon-rss:90112kB\n[   93.2] oom_reaper: reaped\n';
  assert.equal(oomLine(console), 'Out of memory: Killed process 212 (awk) total-vm:98304kB, anon-rss:90112kB');
  assert.equal(oomLine('hefery-guest: ready\n'), null);
});

test('each failure signal: outage, oom, crashed, paused; only at or after the fault start', () => {
  const from = T0 + 2000;
  const events = [
    { ts: T0 + 1000, kind: 'crashed', detail: 'panicked' }, // before the fault: ignored
    { ts: T0 + 7000, kind: 'suspended', detail: 'ioerror' },
    { ts: T0 + 7001, kind: 'io-error', detail: 'pause virtio-disk0 /x enospc' },
    { ts: T0 + 9000, kind: 'crashed', detail: 'panicked' },
  ];
  const o = obs({ probes: probes('oooooxxxxxxxo'), oomAt: T0 + 4000, oomLine: 'Out of memory: Killed process 9 (awk)', events });
  assert.deepEqual(signalFired('outage', o, from, 5000)?.at, T0 + 5000);
  assert.equal(signalFired('oom', o, from, 5000)?.at, T0 + 4000);
  assert.match(signalFired('oom', o, from, 5000)?.evidence ?? '', /Killed process 9/);
  assert.equal(signalFired('paused', o, from, 5000)?.at, T0 + 7000);
  assert.equal(signalFired('crashed', o, from, 5000)?.at, T0 + 9000);
  assert.equal(signalFired('oom', o, T0 + 5000, 5000), null, 'an OOM before the fault is not its failure');
  assert.equal(signalFired('paused', obs({ events: [{ ts: T0 + 7000, kind: 'suspended', detail: 'paused' }] }), from, 5000), null, 'a plain pause is not an I/O-error pause');
});

test('detectFailure takes the earliest of the scenario\'s signals, and always a crash', () => {
  const o = obs({ probes: probes('oooxxxxxxxo'), oomAt: T0 + 6000, events: [{ ts: T0 + 2500, kind: 'crashed', detail: 'panicked' }] });
  // outage at +3 vs OOM at +6: the outage is first.
  assert.equal(detectFailure(['oom', 'outage'], { ...o, events: [] }, T0, 5000)?.signal, 'outage');
  // Only OOM asked for: the outage is not a failure of this scenario.
  assert.equal(detectFailure(['oom'], { ...o, events: [] }, T0, 5000)?.signal, 'oom');
  // A crash is always a failure, even when not listed.
  assert.deepEqual(detectFailure(['oom'], o, T0, 5000)?.signal, 'crashed');
  assert.equal(detectFailure(['outage'], obs({ probes: probes('ooooo') }), T0, 5000), null);
});

test('faultWindow: start <= failure <= end, or no failure; clear errors otherwise', () => {
  assert.deepEqual(faultWindow(T0, T0 + 5000, T0 + 9000, 'mem-leak'), { start: T0, failure: T0 + 5000, end: T0 + 9000, label: 'mem-leak' });
  assert.deepEqual(faultWindow(T0, null, T0 + 9000, 'hang'), { start: T0, end: T0 + 9000, label: 'hang' });
  assert.throws(() => faultWindow(T0, T0 - 1, T0 + 9000, 'x'), /failure .* outside the fault window/);
  assert.throws(() => faultWindow(T0, T0 + 10_000, T0 + 9000, 'x'), /outside the fault window/);
  assert.throws(() => faultWindow(T0, null, T0 - 5, 'x'), /ends .* before it starts/);
  assert.throws(() => faultWindow(NaN, null, T0, 'x'), /finite/);
});

test('trainUntil is the given share of the normal period', () => {
  assert.equal(trainUntil(T0, T0 + 120_000, 0.5), T0 + 60_000);
  assert.equal(trainUntil(T0, T0 + 120_000, 0), T0);
  assert.throws(() => trainUntil(T0, T0 + 1, 1.5), /not in \[0, 1\]/);
});
