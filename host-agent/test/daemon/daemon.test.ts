// The daemon's pipeline end to end in-process: a scripted StatsSource (test
// double for libvirt, to script failures and events), stand-in predictor and
// protection service (the real ones belong to predictor/ and policy/), a real
// Store, a real Unix socket and a real client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config';
import { acquirePidFile, Daemon, type ProtectionContext } from '../../src/daemon';
import type { DomainEvent, RawDomainStats } from '../../src/libvirt/types';
import { memoryLogger } from '../../src/log';
import type { RiskPredictor } from '../../src/predictor/types';
import type { AgentStatus, Decision, NotificationName, ProtectionStatus, Risk, Sample } from '../../src/protocol/api';
import { connectAgent } from '../../src/rpc/client';
import type { ProtectionService } from '../../src/rpc/services';
import { waitFor } from '../../../test/fixtures/wait';
import { ScriptedSourceBase } from '../helpers/scripted-source';

/** Scripted libvirt stand-in: domains with growing counters; can fail and emit events. */
class ScriptedSource extends ScriptedSourceBase {
  fail: string | null = null;
  domains = ['vm1', 'vm2'];
  private n = 0;
  async collect(): Promise<RawDomainStats[]> {
    if (this.fail) throw new Error(this.fail);
    const n = ++this.n;
    const mono = performance.now();
    return this.domains.map((name) => ({
      name, uuid: `uuid-${name}`, state: 'running' as const, ts: Date.now(), mono,
      cpuTimeNs: n * 1e7, vcpus: 1,
      balloon: { currentKiB: 1000, availableKiB: 1000, usableKiB: 500, unusedKiB: null, rssKiB: null },
      net: { rxBytes: n * 1000, txBytes: 0 }, block: null,
    }));
  }
}

/** Stand-in predictor: risk = cpu% / 100 once it has a cpu value. */
class StubPredictor implements RiskPredictor {
  resets = 0;
  observed = 0;
  observe(s: Sample): Risk | null {
    this.observed++;
    return s.cpuPct === null ? null : { ts: s.ts, next: Math.min(1, s.cpuPct / 100), modelVersion: 'stub' };
  }
  reset(): void {
    this.resets++;
  }
}

/** Stand-in protection service recording what the daemon tells it. */
class StubProtection implements ProtectionService {
  readonly backend = 'stub-backend';
  observed: Array<{ domain: string; risk: number | null }> = [];
  unavailable: string[] = [];
  events: string[] = [];
  shutdowns = 0;
  constructor(readonly ctx: ProtectionContext) {}
  observe(sample: Sample, risk: Risk | null): void {
    this.observed.push({ domain: sample.domain, risk: risk?.next ?? null });
  }
  statsUnavailable(reason: string): void {
    this.unavailable.push(reason);
  }
  onDomainEvent(ev: DomainEvent): void {
    this.events.push(`${ev.kind}:${ev.domain}`);
  }
  status(domain: string): ProtectionStatus | null {
    return domain === 'vm1' ? { mode: 'auto', intervalMs: 100, backend: 'stub-backend', reason: 'stub' } : null;
  }
  async pin(req: { domain: string; intervalMs: number; who: string }): Promise<Decision> {
    return this.ctx.sink.record({ domain: req.domain, ts: Date.now(), kind: 'override', oldIntervalMs: 100, newIntervalMs: req.intervalMs, risk: null, reason: 'pinned by user', who: req.who, applied: true });
  }
  async resume(req: { domain: string; who: string }): Promise<Decision> {
    return this.ctx.sink.record({ domain: req.domain, ts: Date.now(), kind: 'resume', oldIntervalMs: null, newIntervalMs: 100, risk: null, reason: 'resumed', who: req.who, applied: true });
  }
  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

function setup(t: { after: (fn: () => void | Promise<void>) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-daemon-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig(
    { socket: { path: 'agent.sock', group: 'no-such-group-hefery' }, store: { path: 'h.db' }, pidFile: 'agent.pid', sampling: { intervalMs: 100 } },
    { baseDir: dir },
  );
  return { dir, config };
}

test('daemon: samples flow through predictor and protection into the store and to subscribers', async (t) => {
  const { dir, config } = setup(t);
  const source = new ScriptedSource();
  const predictors = new Map<string, StubPredictor>();
  let protection: StubProtection | undefined;
  const log = memoryLogger();
  const daemon = await Daemon.start(config, {
    log,
    openSource: async () => source,
    predictorFor: (d) => {
      if (d !== 'vm1') return null; // vm2 has no model
      const p = new StubPredictor();
      predictors.set(d, p);
      return p;
    },
    protection: (ctx) => (protection = new StubProtection(ctx)),
  });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await daemon.stop();
  });
  assert.equal(readFileSync(join(dir, 'agent.pid'), 'utf8').trim(), String(process.pid));

  const notes: Array<{ name: NotificationName; params: Record<string, unknown> }> = [];
  const c = await connectAgent(config.socket.path, { onNotification: (name, params) => notes.push({ name, params: params as unknown as Record<string, unknown> }) });
  t.after(() => c.close());
  assert.equal(c.hello.backend, 'stub-backend');
  await c.peer.call('samples.subscribe', {});

  await waitFor('rates with risk for vm1', () => notes.some((n) => n.name === 'samples.event' && (n.params.risk as Risk | null)?.next !== undefined));
  const list = await c.peer.call('domains.list', {});
  assert.deepEqual(list.map((d) => [d.name, d.hasModel, d.protection?.intervalMs ?? null]), [['vm1', true, 100], ['vm2', false, null]]);
  const vm1 = list[0];
  assert.equal(vm1.latest?.memPct, 50);
  const ev = notes.find((n) => n.name === 'samples.event' && (n.params.sample as Sample).domain === 'vm1' && n.params.risk !== null)!;
  assert.deepEqual(ev.params.protection, { mode: 'auto', intervalMs: 100, backend: 'stub-backend', reason: 'stub' });
  assert.equal(predictors.get('vm1')!.resets, 1, 'reset on the first (baseline) sample');
  assert.ok(protection!.observed.some((o) => o.domain === 'vm2' && o.risk === null), 'a domain without model gets risk null');

  // history with risk persisted
  const h = await waitFor('two stored samples of vm1', async () => {
    const rows = await c.peer.call('samples.history', { domain: 'vm1', from: 0, to: Date.now() });
    return rows.length >= 2 ? rows : undefined;
  });
  assert.equal(h[0].risk, null, 'first sample: no rate, no risk');
  assert.ok(h.slice(1).every((r) => typeof r.risk === 'number'));

  // decisions made through the sink are stored and broadcast
  const d = await c.peer.call('interval.pin', { domain: 'vm1', intervalMs: 500, who: 'alice' });
  assert.ok(d.id > 0);
  await waitFor('decision.event', () => notes.some((n) => n.name === 'decision.event'));
  assert.deepEqual((await c.peer.call('decisions.list', { domain: 'vm1', from: 0, to: Date.now() })).map((x) => x.id), [d.id]);

  // libvirt events: forwarded, stored as incidents when they are failures
  source.emit({ domain: 'vm2', uuid: 'uuid-vm2', kind: 'crashed', detail: 'panicked', ts: Date.now() });
  await waitFor('domains.event crashed', () => notes.some((n) => n.name === 'domains.event' && n.params.event === 'crashed'));
  assert.deepEqual(protection!.events, ['crashed:vm2']);
  assert.equal(daemon.store.incidents('vm2', 0, Date.now() + 1000)[0]?.health, 'failed');

  // a domain vanishing: final sample, event, and it leaves the list
  source.domains = ['vm1'];
  await waitFor('vanished', () => notes.some((n) => n.name === 'domains.event' && n.params.event === 'vanished' && n.params.domain === 'vm2'));
  assert.ok(notes.some((n) => n.name === 'samples.event' && (n.params.sample as Sample).domain === 'vm2' && (n.params.sample as Sample).state === 'vanished'));
  assert.deepEqual((await c.peer.call('domains.list', {})).map((x) => x.name), ['vm1']);

  // stats failing: the protection service is told (it must go fail-safe), risk is cleared
  source.fail = 'libvirtd is gone';
  await waitFor('statsUnavailable', () => protection!.unavailable.length > 0);
  assert.match(protection!.unavailable[0], /libvirtd is gone/);
  assert.equal((await c.peer.call('domains.list', {}))[0].risk, null);
  source.fail = null;

  stopped = true;
  await daemon.stop();
  assert.equal(protection!.shutdowns, 1);
  assert.equal(source.closed, true);
  assert.equal(existsSync(config.socket.path), false, 'socket removed');
  assert.equal(existsSync(join(dir, 'agent.pid')), false, 'pid file removed');
  await daemon.stop(); // idempotent
  assert.equal(protection!.shutdowns, 1);
});

test('daemon: without predictor or protection it still samples, and serves risk null', async (t) => {
  const { config } = setup(t);
  const daemon = await Daemon.start(config, { log: memoryLogger(), openSource: async () => new ScriptedSource() });
  t.after(() => daemon.stop());
  const c = await connectAgent(config.socket.path);
  t.after(() => c.close());
  assert.equal(c.hello.backend, 'none');
  await waitFor('domains', () => daemon.list().length === 2);
  const l = await c.peer.call('domains.list', {});
  assert.ok(l.every((d) => d.risk === null && d.protection === null && !d.hasModel));
});

test('daemon: status.subscribe answers the agent\'s health now and sends status.event when stats fail and recover, to watchers only', async (t) => {
  const { config } = setup(t);
  const source = new ScriptedSource();
  const daemon = await Daemon.start(config, { log: memoryLogger(), openSource: async () => source });
  t.after(() => daemon.stop());
  const watcherNotes: AgentStatus[] = [];
  const otherNotes: NotificationName[] = [];
  const watcher = await connectAgent(config.socket.path, { onNotification: (name, params) => name === 'status.event' && watcherNotes.push((params as { status: AgentStatus }).status) });
  const other = await connectAgent(config.socket.path, { onNotification: (name) => otherNotes.push(name) });
  t.after(() => {
    watcher.close();
    other.close();
  });
  assert.deepEqual(await watcher.peer.call('status.subscribe', {}), { store: { writable: true, failedWrites: 0 }, stats: { available: true } });

  source.fail = 'libvirtd is gone';
  await waitFor('status.event: stats unavailable', () => watcherNotes.length >= 1);
  assert.equal(watcherNotes[0].stats.available, false);
  assert.equal(watcherNotes[0].stats.error, 'libvirtd is gone');
  assert.deepEqual(await other.peer.call('agent.status', {}), watcherNotes[0], 'agent.status says the same');
  source.fail = null;
  await waitFor('status.event: stats back', () => watcherNotes.length >= 2);
  assert.deepEqual(watcherNotes[1], { store: { writable: true, failedWrites: 0 }, stats: { available: true } });
  assert.equal(watcherNotes.length, 2, 'one event per change, not one per failed collection');
  assert.ok(!otherNotes.includes('status.event'), 'a connection that did not ask gets none');
});

test('daemon: a failing start cleans up (pid file, store, socket) and says why', async (t) => {
  const { dir, config } = setup(t);
  await assert.rejects(
    Daemon.start(config, { log: memoryLogger(), openSource: async () => { throw new Error('cannot connect to test:///nowhere'); } }),
    /cannot connect to test:\/\/\/nowhere/,
  );
  assert.equal(existsSync(join(dir, 'agent.pid')), false);
  // and the store can be opened again at once (closed)
  const daemon = await Daemon.start(config, { log: memoryLogger(), openSource: async () => new ScriptedSource() });
  await daemon.stop();
});

test('pid file: a live owner is refused, a stale one replaced', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-pid-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'agent.pid');
  writeFileSync(p, `${process.ppid}\n`); // a live process that is not us
  assert.throws(() => acquirePidFile(p), new RegExp(`another hefery-agent \\(pid ${process.ppid}\\) is running`));
  writeFileSync(p, '999999999\n'); // no such process
  acquirePidFile(p);
  assert.equal(readFileSync(p, 'utf8').trim(), String(process.pid));
});
