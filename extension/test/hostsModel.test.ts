// HostsModel: connection state machine, backoff schedule (on an injected
// clock), no retry after errors retrying cannot fix, live data from the
// agent's stream. The agent is the real AgentServer on a local Unix socket;
// the SSH leg is replaced by TestConnector, which dials that socket directly
// or fails with the errors the real SSH layer raises (a stand-in for the
// network, named as such; the real SSH path is covered by the integration
// tests ssh-connection and extension-agent).

import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentStatus, Decision } from '../../host-agent/src/protocol/api';
import { agentProblemDetails, hostDescription } from '../src/core/format';
import { AgentProtocolError } from '../src/core/agentClient';
import type { HostSpec } from '../src/core/hostConfig';
import { backoffDelay, DEFAULT_BACKOFF, HostsModel, type Clock, type Connector, type ModelChange, type Transport } from '../src/core/hostsModel';
import { SshError } from '../src/core/sshConnection';
import { until } from './helpers/wait';
import { domainSummary, startTestAgent, type TestAgent } from './helpers/agent';


/** A clock that moves only when told; records every delay asked for. */
class ManualClock implements Clock {
  t = 1_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void; ms: number }>();
  readonly delays: number[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn, ms });
    this.delays.push(ms);
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pending(): number[] {
    return [...this.timers.values()].map((x) => x.ms);
  }
  /** Runs the earliest timer (moving the time to it); false when none. */
  fireNext(): boolean {
    const next = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
    if (!next) return false;
    this.timers.delete(next[0]);
    this.t = next[1].at;
    next[1].fn();
    return true;
  }
}

/** Stand-in for the SSH leg: dials the agent's socket, or fails as told. */
class TestConnector implements Connector {
  plan: Array<'ok' | Error> = [];
  readonly calls: boolean[] = [];
  readonly released: string[] = [];
  constructor(private readonly agent: () => TestAgent) {}
  async open(_host: HostSpec, o: { interactive: boolean }): Promise<Transport> {
    this.calls.push(o.interactive);
    const next = this.plan.shift() ?? 'ok';
    if (next instanceof Error) throw next;
    return { stream: await this.agent().dial(), where: 'agent.sock on h1' };
  }
  release(id: string): void {
    this.released.push(id);
  }
}

function spec(id = 'h1'): HostSpec {
  return {
    id, source: 'settings', origin: 'hefery.hosts[0]', socketPath: '/run/hefery/agent.sock', knownHostsFiles: [], notes: [],
    target: { label: id, host: '127.0.0.1', port: 22, username: 'u', identityFiles: [], identitiesOnly: false },
  };
}

let agent: TestAgent;
let clock: ManualClock;
let connector: TestConnector;
let model: HostsModel;
let changes: ModelChange[];

beforeEach(async () => {
  agent = await startTestAgent([domainSummary('web1'), domainSummary('web2', { state: 'paused' })]);
  clock = new ManualClock();
  connector = new TestConnector(() => agent);
  model = new HostsModel({ connector, clientName: 'test', clock, random: () => 0.5, backoff: { maxMs: 10_000 } });
  changes = [];
  model.onDidChange((c) => changes.push(c));
  model.setHosts([spec()]);
});

afterEach(async () => {
  model.dispose();
  await agent.close();
});

test('connect: state, domain list, and live figures from the stream, with changes naming the domain only', async () => {
  assert.equal(model.host('h1')?.state, 'disconnected');
  await model.connect('h1');
  assert.equal(model.host('h1')?.state, 'connected');
  assert.equal(model.host('h1')?.hello?.hostname, 'test-host');
  assert.deepEqual(model.domains('h1').map((d) => [d.name, d.state]), [['web1', 'running'], ['web2', 'paused']]);
  assert.equal(agent.server.subscriptionCount, 1);
  assert.deepEqual(connector.calls, [true], 'a connect the user asked for may prompt');

  changes.length = 0;
  agent.sample('web1', 42.5, 0.25, { mode: 'auto', intervalMs: 200, backend: 'dry-run', reason: 'low risk' });
  await until('sample', () => model.domain({ hostId: 'h1', domain: 'web1' })?.latest?.cpuPct === 42.5);
  const d = model.domain({ hostId: 'h1', domain: 'web1' })!;
  assert.equal(d.risk?.next, 0.25);
  assert.equal(d.protection?.intervalMs, 200);
  assert.deepEqual(changes, [{ hostId: 'h1', domain: 'web1' }]);
  assert.equal(model.highestRisk()?.name, 'web1');

  const decision: Decision = { id: 7, domain: 'web1', ts: Date.now(), kind: 'override', oldIntervalMs: 200, newIntervalMs: 500, risk: 0.25, reason: 'pinned by me', who: 'me', applied: true };
  agent.server.publishDecision(decision);
  await until('decision', () => model.domain({ hostId: 'h1', domain: 'web1' })?.protection?.mode === 'pinned');
  assert.equal(model.domain({ hostId: 'h1', domain: 'web1' })?.protection?.intervalMs, 500);

  changes.length = 0;
  agent.server.publishDomainEvent('web2', 'vanished', Date.now());
  await until('vanished', () => model.domains('h1').length === 1);
  assert.deepEqual(changes, [{ hostId: 'h1' }]);

  agent.domains.push(domainSummary('db9'));
  agent.server.publishDomainEvent('db9', 'appeared', Date.now());
  await until('the relist scheduled', () => clock.pending.length > 0);
  assert.deepEqual(clock.pending, [250], 'appearances are listed once, after a short pause');
  clock.fireNext();
  await until('relisted', () => model.domains('h1').some((x) => x.name === 'db9'));
});

test('a lost connection reconnects with exponential backoff capped at maxMs, without prompts, and resumes the stream', async () => {
  await model.connect('h1');
  const retryable = () => new SshError('unreachable', 'cannot reach 127.0.0.1:22: connection refused (is sshd running there?)', true);
  connector.plan = [retryable(), retryable(), retryable(), retryable(), retryable(), 'ok'];
  await agent.restart();
  await until('reconnecting', () => model.host('h1')?.state === 'reconnecting');
  assert.match(model.host('h1')!.error!, /the connection to the agent \(agent\.sock on h1\) closed/);
  assert.equal(model.host('h1')!.nextRetryAt, clock.now() + 1000);
  for (let i = 0; i < 6; i++) {
    assert.ok(clock.fireNext(), `timer ${i}`);
    // Wait for the attempt's outcome (the next retry scheduled, or the last one connected), not a fixed time: under load a real reconnect takes a while.
    if (i < 5) await until(`retry ${i + 1} scheduled`, () => clock.pending.length > 0);
  }
  await until('connected again', () => model.host('h1')?.state === 'connected');
  assert.deepEqual(clock.delays, [1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(model.host('h1')?.attempts, 0);
  assert.deepEqual(connector.calls, [true, false, false, false, false, false, false], 'reconnects never prompt');
  assert.deepEqual(clock.pending, [], 'no retry left scheduled');
  assert.equal(agent.server.subscriptionCount, 1, 'our subscription is back');
  agent.sample('web1', 77);
  await until('sample after reconnect', () => model.domain({ hostId: 'h1', domain: 'web1' })?.latest?.cpuPct === 77);
});

test('no retry after a refused key, a changed host key or an incompatible agent', async () => {
  const fatal: Error[] = [
    new SshError('auth', '127.0.0.1:22: the server refused key /k for user u', false),
    new SshError('host-key', 'REMOTE HOST IDENTIFICATION HAS CHANGED for 127.0.0.1: ...', false),
    new AgentProtocolError('incompatible', 'the agent at x speaks protocol 2, this extension speaks protocol 1: update the Hefery extension'),
  ];
  for (const err of fatal) {
    await model.connect('h1');
    connector.plan = [err];
    const before = connector.calls.length;
    await agent.restart();
    await until('reconnecting', () => model.host('h1')?.state === 'reconnecting');
    clock.fireNext();
    await until('error', () => model.host('h1')?.state === 'error');
    assert.equal(model.host('h1')?.error, err.message);
    assert.equal(connector.calls.length, before + 1, 'exactly one attempt');
    assert.deepEqual(clock.pending, [], 'and none scheduled');
    assert.ok(!clock.fireNext());
    assert.equal(connector.released.at(-1), 'h1', 'the SSH connection is let go');
  }
});

test('a failed first connect is an error state with the reason, not a retry loop', async () => {
  connector.plan = [new SshError('unreachable', 'cannot reach 127.0.0.1:22: connection refused (is sshd running there?)', true)];
  await assert.rejects(model.connect('h1'), /connection refused/);
  assert.equal(model.host('h1')?.state, 'error');
  assert.equal(model.host('h1')?.error, 'cannot reach 127.0.0.1:22: connection refused (is sshd running there?)');
  assert.deepEqual(clock.pending, []);
  await model.connect('h1');
  assert.equal(model.host('h1')?.state, 'connected');
});

test('disconnect stops a pending reconnect; maxAttempts gives up with the last reason', async () => {
  await model.connect('h1');
  connector.plan = [new SshError('timeout', 'no SSH answer', true)];
  await agent.restart();
  await until('reconnecting', () => model.host('h1')?.state === 'reconnecting');
  model.disconnect('h1');
  assert.equal(model.host('h1')?.state, 'disconnected');
  assert.deepEqual(clock.pending, []);
  assert.equal(model.domains('h1').length, 0);
  assert.equal(connector.plan.length, 1, 'the planned failure was never needed: no attempt after disconnect');
  connector.plan = [];

  const limited = new HostsModel({ connector, clientName: 'test', clock, random: () => 0.5, backoff: { maxAttempts: 2 } });
  try {
    limited.setHosts([spec()]);
    await limited.connect('h1');
    connector.plan = [new SshError('timeout', 'no SSH answer from 127.0.0.1:22 within 20 s', true), new SshError('timeout', 'no SSH answer from 127.0.0.1:22 within 20 s', true)];
    await agent.restart();
    await until('reconnecting', () => limited.host('h1')?.state === 'reconnecting');
    clock.fireNext();
    await until('the second attempt scheduled', () => clock.pending.length > 0);
    clock.fireNext();
    await until('gave up', () => limited.host('h1')?.state === 'error');
    assert.equal(limited.host('h1')?.error, 'gave up reconnecting after 2 attempt(s): no SSH answer from 127.0.0.1:22 within 20 s');
  } finally {
    limited.dispose();
  }
});

test('the agent\'s health: known on connect, updated by status.event, asked again after a reconnect; an agent that cannot say leaves it unknown', async () => {
  const healthy: AgentStatus = { store: { writable: true, failedWrites: 0 }, stats: { available: true } };
  const diskFull: AgentStatus = { store: { writable: false, error: 'SQLITE_FULL: database or disk is full', since: Date.UTC(2026, 0, 1, 9, 5), failedWrites: 3 }, stats: { available: true } };
  // An agent without agent.status (as started in beforeEach): connected, health unknown, nothing shown.
  await model.connect('h1');
  assert.equal(model.host('h1')?.status, undefined);
  assert.equal(hostDescription(model.host('h1')!, 2, 0), 'connected · 2 domains');
  model.disconnect('h1');

  agent.health = healthy;
  await model.connect('h1');
  assert.deepEqual(model.host('h1')?.status, healthy);
  changes.length = 0;
  agent.setHealth(diskFull);
  await until('the status.event', () => model.host('h1')?.status?.store.writable === false);
  assert.deepEqual(changes, [{ hostId: 'h1' }], 'the host row changes, not every domain');
  const view = model.host('h1')!;
  assert.equal(hostDescription(view, 2, 0), 'connected · degraded: store not writable · 2 domains');
  assert.match(agentProblemDetails(view.status)[0], /^The agent cannot write its store since \d\d:\d\d \(3 failed writes\): SQLITE_FULL: database or disk is full\. .*held at its safe interval\.$/);

  // Reconnect: the subscription to the health is made again and its answer is current.
  agent.health = { ...healthy, stats: { available: false, error: 'cannot reach libvirtd', since: Date.now() } };
  await agent.restart();
  await until('reconnecting', () => model.host('h1')?.state === 'reconnecting');
  clock.fireNext();
  await until('connected again', () => model.host('h1')?.state === 'connected');
  assert.equal(hostDescription(model.host('h1')!, 2, 0), 'connected · degraded: no libvirt stats · 2 domains');
  agent.setHealth(healthy);
  await until('healthy again', () => model.host('h1')?.status?.stats.available === true);
  assert.equal(hostDescription(model.host('h1')!, 2, 0), 'connected · 2 domains');
  model.disconnect('h1');
  assert.equal(model.host('h1')?.status, undefined, 'nothing is claimed about a host we are not connected to');
});

test('setHosts: removed hosts are disconnected, kept ones keep their connection', async () => {
  model.setHosts([spec('h1'), spec('h2')]);
  await model.connect('h1');
  model.setHosts([spec('h1')]);
  assert.deepEqual(model.hosts().map((h) => [h.id, h.state]), [['h1', 'connected']]);
  model.setHosts([spec('h2')]);
  assert.deepEqual(model.hosts().map((h) => h.id), ['h2']);
  await until('agent sees no client', () => agent.server.connectionCount === 0);
  assert.throws(() => model.api('h1'), /no host named "h1"/);
});

test('backoff delays: exponential, capped, jitter within bounds', () => {
  const o = { ...DEFAULT_BACKOFF, jitter: 0 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, o, 0)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  assert.equal(backoffDelay(0, DEFAULT_BACKOFF, 0), 800);
  assert.equal(backoffDelay(0, DEFAULT_BACKOFF, 0.999999), 1200);
  assert.equal(backoffDelay(30, DEFAULT_BACKOFF, 0.5), 60000);
});
