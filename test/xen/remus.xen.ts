// The real Remus lane (opt-in: `bash scripts/test-xen.sh`, not part of
// scripts/test.sh: it takes 10-20 minutes). Nothing here is a fake: Debian's
// Xen 4.17 runs nested in QEMU (TCG), dom0 runs Hefery's xen-remus backend
// (host-agent/src/backends/xen-remus.ts, bundled, unchanged) on the host's own
// node binary, and the backend runs the real `xl remus` on a PVH guest whose
// secondary is an `xl migrate-receive -r` on the same dom0.
//
// 1. The checkpoint rate follows the interval: the backend starts replication
//    at SHORT ms, restarts it at LONG ms, then at SHORT ms again; the
//    checkpoints counted in xl's own output (see driver-client.ts: one
//    "Checkpointed save" line per checkpoint sent, one "All records processed"
//    per checkpoint applied by the secondary) per phase must follow.
// 2. Failover: destroying the primary makes the secondary take over under the
//    same name and its httpd answers; the backend reports the fault and
//    re-protects the survivor (a new secondary) on its own.
// Figures are printed and written to .artifacts/xen-lane/remus.json (all driver
// events to remus-events.jsonl).
//
// Knobs (environment): HEFERY_XL_SHORT_MS (200), HEFERY_XL_LONG_MS (8000),
// HEFERY_XL_PHASE_S (60).

import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { after, before, test } from 'node:test';
import { echoDriverEvent, LANE_BACKEND, phaseStats, RemusDriver, restartBreakdown, type DriverEvent, type PhaseStats, type RestartEvent } from './driver-client';
import { diagnose, GUEST, say, startLane, writeArtifact, type Lane } from './lane';

const SHORT = Number(process.env.HEFERY_XL_SHORT_MS ?? 200);
const LONG = Number(process.env.HEFERY_XL_LONG_MS ?? 8000);
const PHASE_S = Number(process.env.HEFERY_XL_PHASE_S ?? 60);
const MIN = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let lane: Lane | undefined;
let driver: RemusDriver | undefined;
let allEvents: DriverEvent[] = [];
const report: Record<string, unknown> = {
  when: new Date().toISOString(),
  knobs: { shortMs: SHORT, longMs: LONG, phaseSeconds: PHASE_S },
  hostLoadAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
};

before(async () => {
  lane = await startLane({ guest: true });
  report.xen = (await lane.sh('xl info | sed -n "s/^xen_version *: //p"')).trim();
  report.dom0Kernel = (await lane.sh('uname -r')).trim();
}, { timeout: 45 * MIN });

after(async () => {
  driver?.kill();
  await lane?.stop();
  report.hostLoadAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  say(`figures written to ${writeArtifact('remus.json', JSON.stringify(report, null, 2) + '\n')}`);
  writeArtifact('remus-events.jsonl', allEvents.map((e) => JSON.stringify(e)).join('\n') + '\n');
});

test('xl remus under the xen-remus backend: the checkpoint rate follows the interval', { timeout: 60 * MIN }, async () => {
  assert.ok(lane);
  assert.equal((await lane.http())?.trim(), 'ok', 'the guest answers before replication');
  driver = new RemusDriver(lane, GUEST, LANE_BACKEND, echoDriverEvent);
  allEvents = driver.events;
  const ready = await driver.waitFor((e) => e.ev === 'ready', 2 * MIN, 'the driver in dom0');
  // The argv the backend spawns, checked against what real xl accepted in this run.
  assert.deepEqual(ready.argv, ['remus', '-i', '200', '-F', '-n', '-d', '-s', '', GUEST, 'xl migrate-receive -r -e']);

  const plan = [SHORT, LONG, SHORT];
  const windows: Array<{ intervalMs: number; from: number; to: number }> = [];
  const requested: number[] = []; // driver time each request arrived
  for (const ms of plan) {
    say(`interval -> ${ms} ms`);
    const r: DriverEvent = await driver.set(ms, 20 * MIN).catch((e: Error) => assert.fail(e.message + diagnose(lane)));
    assert.equal(r.ok, true, `setInterval(${ms}) failed: ${String(r.error)}${diagnose(lane)}`);
    const from = r.t;
    requested.push(driver.events.find((e) => e.ev === 'ack' && e.id === r.id)?.t ?? Number.NaN);
    await sleep(PHASE_S * 1000);
    windows.push({ intervalMs: ms, from, to: Number.NaN });
    // The phase ends when the next command reaches the driver.
    const end = await driver.mark();
    windows[windows.length - 1].to = end;
  }
  const phases: PhaseStats[] = windows.map((w) => phaseStats(driver!.events, w.intervalMs, w.from, w.to));
  const restarts = driver.events.filter((e): e is RestartEvent => e.ev === 'restart');
  report.phases = phases;
  report.restarts = restarts.map(({ fromMs, toMs, waitedMs, gapMs }, i) => ({ fromMs, toMs, waitedMs, gapMs, ...(i > 0 ? restartBreakdown(driver!.events, requested[i]) : {}) }));

  say('phase     interval  seconds  sent  applied  per s   gap min/median/max (ms)');
  for (const [i, p] of phases.entries()) {
    say(`${String(i + 1).padEnd(9)} ${String(p.intervalMs).padStart(6)} ms ${p.seconds.toFixed(0).padStart(7)} ${String(p.sent).padStart(5)} ${String(p.applied).padStart(8)}  ${p.perSecond.toFixed(3)}  ${p.gapMs ? `${p.gapMs.min}/${p.gapMs.median}/${p.gapMs.max}` : '-'}`);
  }
  for (const [i, r] of restarts.entries()) {
    const b = i > 0 ? restartBreakdown(driver.events, requested[i]) : null;
    const split = b ? ` = stop ${b.stopMs} ms (fence, old xl resumes the guest) + start ${b.startMs} ms (full copy, first checkpoint)` : '';
    say(`restart ${r.fromMs ?? 'none'} -> ${r.toMs} ms: gap ${r.gapMs} ms until replicating (waited ${r.waitedMs} ms)${split}`);
  }

  // Every phase checkpointed, on both sides of the stream.
  for (const p of phases) {
    assert.ok(p.sent >= 3, `phase at ${p.intervalMs} ms: only ${p.sent} checkpoints in ${p.seconds} s${diagnose(lane)}`);
    assert.ok(Math.abs(p.sent - p.applied) <= 2, `phase at ${p.intervalMs} ms: ${p.sent} sent but ${p.applied} applied by the secondary`);
  }
  const [s1, l, s2] = phases;
  // libxl waits the interval after each checkpoint: at LONG ms no two checkpoints come closer.
  assert.ok(l.gapMs && l.gapMs.min >= 0.9 * LONG, `at ${LONG} ms two checkpoints came ${l.gapMs?.min} ms apart`);
  // ... and at SHORT ms they come much closer than that, both before and after the long phase.
  for (const s of [s1, s2]) {
    assert.ok(s.gapMs && s.gapMs.median < 0.5 * LONG, `at ${SHORT} ms the median gap is ${s.gapMs?.median} ms`);
    assert.ok(s.perSecond > 1.5 * l.perSecond, `rate at ${SHORT} ms (${s.perSecond}/s) is not well above the rate at ${LONG} ms (${l.perSecond}/s)`);
  }
  // Each change was a real restart of xl (the Remus limit), reported by the backend.
  assert.deepEqual(restarts.map((r) => [r.fromMs, r.toMs]), [[null, SHORT], [SHORT, LONG], [LONG, SHORT]]);
});

test('destroying the primary fails over to the secondary; the backend re-protects the survivor', { timeout: 30 * MIN }, async () => {
  assert.ok(lane && driver, 'needs the replication of the previous test');
  const oldId = Number((await lane.sh(`xl domid ${GUEST}`)).trim());
  const tDestroy = await driver.mark();
  const wall0 = Date.now();
  say(`destroying the primary (domid ${oldId})`);
  await lane.sh(`xl destroy ${oldId}`);

  // The secondary is renamed to the guest's name, unpaused, and serves.
  let newId = Number.NaN;
  let answered = false;
  const deadline = Date.now() + 15 * MIN;
  while (Date.now() < deadline) {
    const id = Number((await lane.sh(`xl domid ${GUEST} 2>/dev/null || true`)).trim() || Number.NaN);
    if (Number.isInteger(id) && id !== oldId) {
      newId = id;
      if ((await lane.http())?.trim() === 'ok') {
        answered = true;
        break;
      }
    }
    await sleep(2000);
  }
  const failoverS = (Date.now() - wall0) / 1000;
  assert.ok(answered, `no failover within 15 min (domid now ${newId})${diagnose(lane)}`);
  say(`failover: ${GUEST} is domid ${newId} (was ${oldId}) and its httpd answers ${failoverS.toFixed(1)} s after the destroy`);

  // The backend saw its xl exit (a fault) and, once the name exists again, replicates the survivor.
  const fault = await driver.waitFor((e) => e.ev === 'fault' && e.error !== null && e.t >= tDestroy, 5 * MIN, 'the fault report');
  const recovered = await driver.waitFor((e) => e.ev === 'fault' && e.error === null && e.t > fault.t, 20 * MIN, 'the recovery report').catch((e: Error) => assert.fail(e.message + diagnose(lane)));
  const list = await lane.sh('xl list');
  assert.match(list, new RegExp(`^${GUEST}--incoming\\s`, 'm'), `no new secondary after re-protection:\n${list}`);
  report.failover = {
    secondsUntilHttpAnswers: Math.round(failoverS * 10) / 10,
    faultAfterDestroyS: Math.round((fault.t - tDestroy) / 100) / 10,
    reprotectedAfterDestroyS: Math.round((recovered.t - tDestroy) / 100) / 10,
    faultMessage: String(fault.error).slice(0, 400),
  };
  say(`backend: fault ${(fault.t - tDestroy) / 1000} s after the destroy, re-protected after ${(recovered.t - tDestroy) / 1000} s`);

  // Stopping (fence + xl exits) leaves the survivor running, unreplicated.
  await driver.close(false, 10 * MIN);
  driver = undefined;
  const left = await lane.sh('xl list');
  assert.doesNotMatch(left, /--incoming/, `the secondary is still there after stop:\n${left}`);
  assert.ok(await lane.waitHttp(120), 'the guest does not serve within 2 min after replication stopped');
});
