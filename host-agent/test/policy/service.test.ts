// The protection service end to end in-process: the real controller, the
// real dry-run backend, and the real xen-remus backend driving the FAKE xl of
// test/backends/fake-xl.ts (Xen cannot run here). Decisions go to an
// in-memory sink that validates each one against the protocol's schema.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBackendConfig, type XenRemusConfig } from '../../src/backends/config';
import { DryRunBackend } from '../../src/backends/dry-run';
import type { ReplicationBackend } from '../../src/backends/types';
import { XenRemusBackend } from '../../src/backends/xen-remus';
import { ConfigError } from '../../src/config';
import { memoryLogger } from '../../src/log';
import { parsePolicyConfig } from '../../src/policy/config';
import { PolicyProtectionService } from '../../src/policy/service';
import type { DecisionSink, NewDecision } from '../../src/policy/types';
import { Decision, ErrorCodes, ProtectionStatus, type DomainState, type Sample } from '../../src/protocol/api';
import { RpcFailure } from '../../src/protocol/peer';
import { makeFakeXl } from '../backends/fake-xl';
import { waitFor } from '../../../test/fixtures/wait';

class MemorySink implements DecisionSink {
  readonly decisions: Decision[] = [];
  record(d: NewDecision): Decision {
    const saved = Decision.parse({ ...d, id: this.decisions.length + 1 }, 'decision');
    this.decisions.push(saved);
    return saved;
  }
  kinds(domain = 'vm1'): string[] {
    return this.decisions.filter((d) => d.domain === domain).map((d) => `${d.kind}:${d.oldIntervalMs ?? '-'}->${d.newIntervalMs}${d.applied ? '' : '!'}`);
  }
}

function sample(domain: string, state: DomainState = 'running', ts = Date.now()): Sample {
  return { domain, ts, state, cpuPct: 1, memPct: 10, netRxBps: 0, netTxBps: 0, diskRdBps: 0, diskWrBps: 0 };
}
const risk = (next: number) => ({ ts: Date.now(), next });

const POLICY = { protect: ['vm*'], defaults: { safeIntervalMs: 100, relaxedIntervalMs: 1000, steps: [200, 500], dwellMs: 0, maxSampleAgeMs: 5000 } };

function service(backend: ReplicationBackend, policy: object = POLICY, extra: Partial<ConstructorParameters<typeof PolicyProtectionService>[0]> = {}) {
  const sink = new MemorySink();
  const log = memoryLogger();
  const svc = new PolicyProtectionService({ policy: parsePolicyConfig(policy), backend, sink, log, samplingIntervalMs: 100, tickMs: 0, retry: { initialMs: 100, maxMs: 200 }, ...extra });
  return { svc, sink, log };
}

test('dry-run: start-up decision, then only changes are recorded; status tells mode, interval, backend', async () => {
  const { svc, sink } = service(new DryRunBackend(), { ...POLICY, defaults: { ...POLICY.defaults, dwellMs: 60_000 } });
  for (let i = 0; i < 20; i++) svc.observe(sample('vm1'), risk(0.05));
  await svc.settled();
  assert.deepEqual(sink.kinds(), ['startup:-->100']);
  const d = sink.decisions[0];
  assert.equal(d.applied, true);
  assert.equal(d.who, 'policy');
  assert.match(d.reason, /agent start-up: safe interval .*; dry-run: recorded only, no replication driven/);
  assert.deepEqual(svc.status('vm1'), {
    mode: 'auto', intervalMs: 100, pinnedUntil: null, backend: 'dry-run',
    reason: 'risk 0.050 < lower 0.2: relaxing after the dwell (60.0 s left)', thresholds: { raise: 0.5, lower: 0.2 },
    ladder: [100, 200, 500, 1000],
  });
  ProtectionStatus.parse(svc.status('vm1'), 'status');
  svc.observe(sample('vm1'), risk(0.9));
  svc.observe(sample('other'), risk(0.9));
  await svc.settled();
  assert.deepEqual(sink.kinds(), ['startup:-->100'], 'already at safe: high risk changes nothing');
  assert.equal(svc.status('other')!.mode, 'unprotected');
  assert.equal(svc.status('nobody'), null);
  await svc.shutdown();
});

test('the periodic check falls back to safe when samples stop arriving (no observe call at all)', async () => {
  const { svc, sink } = service(new DryRunBackend(), { ...POLICY, defaults: { ...POLICY.defaults, maxSampleAgeMs: 300 } }, { tickMs: 50 });
  try {
    svc.observe(sample('vm1'), risk(0.05));
    await svc.settled();
    svc.observe(sample('vm1'), risk(0.05));
    await svc.settled();
    assert.equal(svc.status('vm1')!.intervalMs, 200);
    // ...and now silence.
    const d = await waitFor('the stale decision', () => sink.decisions.find((x) => x.kind === 'failsafe'), 5000);
    assert.equal(d.oldIntervalMs, 200);
    assert.equal(d.newIntervalMs, 100);
    assert.match(d.reason, /fail-safe \(no sample for .* \(max 300 ms\)\): safe interval/);
    assert.equal(svc.status('vm1')!.mode, 'failsafe');
  } finally {
    await svc.shutdown();
  }
});

test('pin and resume return the recorded decision; refusals are RPC errors with the reason', async () => {
  const { svc, sink } = service(new DryRunBackend());
  svc.observe(sample('vm1'), risk(0.05));
  svc.observe(sample('other'), risk(0.05));
  await svc.settled();
  svc.observe(sample('vm1'), risk(0.6)); // healthy after start-up (a pin longer than safe needs that), stays at safe
  await svc.settled();
  const pin = await svc.pin({ domain: 'vm1', intervalMs: 500, who: 'alice', expiresAt: Date.now() + 60_000 });
  assert.equal(pin.id, 2);
  assert.deepEqual({ kind: pin.kind, old: pin.oldIntervalMs, new: pin.newIntervalMs, who: pin.who, applied: pin.applied }, { kind: 'override', old: 100, new: 500, who: 'alice', applied: true });
  assert.equal(svc.status('vm1')!.mode, 'pinned');
  assert.equal(svc.status('vm1')!.intervalMs, 500);
  const res = await svc.resume({ domain: 'vm1', who: 'alice' });
  assert.deepEqual({ kind: res.kind, old: res.oldIntervalMs, new: res.newIntervalMs }, { kind: 'resume', old: 500, new: 100 }, 'the last risk (0.6) is above raise');
  const rpc = async (p: Promise<unknown>, code: number, re: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof RpcFailure && e.code === code && re.test(e.message));
  await rpc(svc.pin({ domain: 'vm1', intervalMs: 5000, who: 'a' }), ErrorCodes.InvalidParams, /longer than vm1's relaxed interval \(1000 ms\)/);
  await rpc(svc.pin({ domain: 'other', intervalMs: 500, who: 'a' }), ErrorCodes.NotFound, /not protected/);
  await rpc(svc.resume({ domain: 'vm1', who: 'a' }), ErrorCodes.InvalidParams, /not pinned/);
  await svc.shutdown();
  await rpc(svc.pin({ domain: 'vm1', intervalMs: 500, who: 'a' }), ErrorCodes.Busy, /stopping/);
  assert.deepEqual(sink.kinds(), ['startup:-->100', 'override:100->500', 'resume:500->100', 'shutdown:100->100']);
});

test('shutdown leaves every protected domain at its safe interval, and nothing is decided after it', async () => {
  const { svc, sink } = service(new DryRunBackend());
  svc.observe(sample('vm1'), risk(0.05));
  svc.observe(sample('vm2'), risk(0.05));
  await svc.settled();
  svc.observe(sample('vm1'), risk(0.05));
  svc.observe(sample('vm2'), risk(0.3));
  await svc.settled();
  await svc.pin({ domain: 'vm2', intervalMs: 700, who: 'ops' });
  await svc.shutdown();
  const last = sink.decisions.slice(-2).map((d) => [d.domain, d.kind, d.oldIntervalMs, d.newIntervalMs, d.applied]);
  assert.deepEqual(last, [['vm1', 'shutdown', 200, 100, true], ['vm2', 'shutdown', 700, 100, true]]);
  const n = sink.decisions.length;
  svc.observe(sample('vm1'), risk(0.0));
  svc.statsUnavailable('gone');
  svc.tick();
  await svc.settled();
  assert.equal(sink.decisions.length, n);
});

test('a policy the backend cannot carry out is refused, naming the field', () => {
  const xenLike: ReplicationBackend = Object.assign(new DryRunBackend(), { name: 'strict', capabilities: { liveIntervalChange: false, restartsReplication: true, minIntervalMs: 150, minChangeIntervalMs: 0 } });
  assert.throws(() => service(xenLike), (e: unknown) => e instanceof ConfigError && e.message === "policy.defaults.safeIntervalMs: 100 ms is shorter than the strict backend's minimum of 150 ms");
  assert.throws(
    () => service(new DryRunBackend(), { ...POLICY, domains: { vm9: { maxSampleAgeMs: 150 } } }),
    (e: unknown) => e instanceof ConfigError && e.message === 'policy.domains.vm9.maxSampleAgeMs: expected >= 2 x sampling.intervalMs (200), got number 150',
  );
});

test('a backend that restarts replication on every change: a dwell shorter than several restarts is warned about, naming the field', () => {
  const restarting = (minChangeIntervalMs: number): ReplicationBackend => Object.assign(new DryRunBackend(), { name: 'remus-like', capabilities: { liveIntervalChange: false, restartsReplication: true, minIntervalMs: 1, minChangeIntervalMs } });
  const warned = (backend: ReplicationBackend, dwellMs: number) => service(backend, { ...POLICY, defaults: { ...POLICY.defaults, dwellMs } }).log.lines.filter((l) => /is short for the .* backend, which restarts replication/.test(l));
  const short = warned(restarting(30_000), 20_000);
  assert.equal(short.length, 1);
  assert.match(short[0], /policy\.defaults\.dwellMs \(20000 ms\) is short for the remus-like backend.*choose several restart gaps, 120000 ms or more/);
  assert.match(warned(restarting(60_000), 200_000)[0] ?? '', /240000 ms or more/, 'four times the backend\'s restart limit when that is longer');
  assert.deepEqual(warned(restarting(30_000), 300_000), [], 'a dwell of several restarts: no warning');
  assert.deepEqual(warned(new DryRunBackend(), 20_000), [], 'a backend that changes the interval live: no warning');
});

// ---- with the xen-remus backend and the FAKE xl ------------------------------------------------

/** The xen-remus backend on the FAKE xl, and a cleanup that stops whatever xl is still running. */
function xen() {
  const fake = makeFakeXl();
  const stateDir = mkdtempSync(join(tmpdir(), 'hefery-svc-remus-'));
  const cfg = parseBackendConfig({
    type: 'xen-remus', xl: fake.xl, args: ['-F'], destination: 'backup', fence: [fake.xl, 'destroy', '{domain}--incoming'],
    minRestartIntervalMs: 0, readyPattern: '^fake-xl: replicating', settleMs: 0, stopTimeoutMs: 3000, retry: { initialMs: 100, maxMs: 200 }, stateDir,
  }, { libvirtUri: '' }) as XenRemusConfig;
  const backend = new XenRemusBackend(cfg, memoryLogger());
  return {
    fake, backend,
    starts: () => fake.records().filter((r) => r.ev === 'start').map((r) => r.argv.join(' ')),
    async cleanup(svc: PolicyProtectionService) {
      await svc.shutdown();
      // A fresh backend adopts what the shutdown left running and stops it.
      const sweeper = new XenRemusBackend(cfg, memoryLogger());
      for (const d of ['vm1', 'vm2']) await sweeper.stop(d).catch(() => undefined);
      await sweeper.close({ leaveRunning: false });
      fake.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

test('xen-remus: start-up starts xl at the safe interval, a pin restarts it, xl dying is a fail-safe decision and a restart at safe', async () => {
  const { fake, backend, starts, cleanup } = xen();
  const { svc, sink } = service(backend);
  try {
    svc.observe(sample('vm1'), risk(0.05));
    await svc.settled();
    svc.observe(sample('vm1'), risk(0.6));
    await svc.settled();
    assert.deepEqual(starts(), ['remus -i 100 -F vm1 backup']);
    assert.deepEqual(sink.kinds(), ['startup:-->100']);
    assert.match(sink.decisions[0].reason, /xl remus started/);

    const pin = await svc.pin({ domain: 'vm1', intervalMs: 300, who: 'ops' });
    assert.equal(pin.applied, true);
    assert.match(pin.reason, /pinned to 300 ms by ops; xl remus restarted \(unprotected gap \d+ ms\)/);
    assert.deepEqual(starts(), ['remus -i 100 -F vm1 backup', 'remus -i 300 -F vm1 backup']);

    // xl dies under us (as when the backup link breaks).
    process.kill(fake.records().filter((r) => r.ev === 'start')[1].pid, 'SIGTERM');
    const fs = await waitFor('the fail-safe decision', () => sink.decisions.find((d) => d.kind === 'failsafe'));
    assert.deepEqual({ old: fs.oldIntervalMs, new: fs.newIntervalMs, applied: fs.applied }, { old: null, new: 100, applied: true }, 'nothing ran after the crash; back at the safe interval');
    assert.match(fs.reason, /fail-safe \(backend error: xen-remus vm1: xl remus \(pid \d+\) exit code 143 after [\d.]+ s; replication stopped/);
    // Recovered (xl replicates again): healthy, so the pin (300 ms) is honoured again.
    await waitFor('the pin back in force', () => svc.status('vm1')!.mode === 'pinned' && backend.current('vm1') === 300);
    await svc.settled();
    assert.deepEqual(sink.kinds(), ['startup:-->100', 'override:100->300', 'failsafe:-->100', 'override:100->300']);
    assert.deepEqual(starts().slice(-2), ['remus -i 100 -F vm1 backup', 'remus -i 300 -F vm1 backup']);
  } finally {
    await cleanup(svc);
  }
});

test('xen-remus: a failing apply is recorded once with its error, retried with backoff, and the success is recorded', async () => {
  const { fake, backend, cleanup } = xen();
  const { svc, sink, log } = service(backend);
  try {
    fake.setMode('vm1', 'fail');
    svc.observe(sample('vm1'), risk(0.05));
    await waitFor('three failed attempts', () => fake.records().filter((r) => r.ev === 'start').length >= 3);
    await svc.settled();
    const failed = sink.decisions.filter((d) => !d.applied);
    assert.equal(failed.length, 1, sink.kinds().join(' '));
    assert.match(failed[0].error!, /xl remus exit code 1 before replicating: .*cannot be suspended/);
    assert.equal(svc.status('vm1')!.intervalMs, null, 'nothing replicates');
    assert.match(svc.status('vm1')!.reason, /pending: 100 ms, in effect: none/);
    assert.ok(log.lines.filter((l) => /applying 100 ms failed/.test(l)).length >= 3);
    fake.setMode('vm1', null);
    const ok = await waitFor('the successful retry', () => sink.decisions.find((d) => d.applied));
    assert.match(ok.reason, /retry \d+ of applying 100 ms/);
    assert.equal(backend.current('vm1'), 100);
  } finally {
    await cleanup(svc);
  }
});

test('xen-remus: shutdown restarts replication at the safe interval and leaves xl running; a vanished domain is released', async () => {
  const { fake, backend, cleanup } = xen();
  const { svc, sink } = service(backend);
  try {
    svc.observe(sample('vm1'), risk(0.05));
    svc.observe(sample('vm2'), risk(0.05));
    await svc.settled();
    svc.observe(sample('vm1'), risk(0.05));
    await svc.settled();
    assert.equal(backend.current('vm1'), 200);
    svc.observe(sample('vm2', 'vanished'), null);
    await waitFor('vm2 released (fenced, xl exited)', () => fake.records().some((r) => r.ev === 'exit' && r.argv.includes('vm2')));
    assert.equal(svc.status('vm2'), null);
    await svc.shutdown();
    assert.deepEqual(sink.kinds().slice(-1), ['shutdown:200->100']);
    const live = fake.records().filter((r) => r.ev === 'start' && r.argv.includes('vm1')).pop()!;
    assert.deepEqual(live.argv, ['remus', '-i', '100', '-F', 'vm1', 'backup']);
    process.kill(live.pid, 0); // still replicating after the agent's protection stopped
  } finally {
    await cleanup(svc);
  }
});
