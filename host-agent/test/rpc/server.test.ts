// AgentServer over a real Unix socket in a temp dir, with a real Store.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentServer, type AgentServerOptions } from '../../src/rpc/server';
import { connectAgent, type AgentConnection } from '../../src/rpc/client';
import type { TrainingService } from '../../src/rpc/services';
import { Store } from '../../src/store';
import { ErrorCodes, PROTOCOL_VERSION, type DomainSummary, type NotificationName, type Sample } from '../../src/protocol/api';
import { RpcFailure, RpcPeer } from '../../src/protocol/peer';
import { ndjsonReader } from '../helpers/ndjson';
import { sleep, waitFor } from '../../../test/fixtures/wait';

function sample(domain: string, ts: number): Sample {
  return { domain, ts, state: 'running', cpuPct: 12.5, memPct: 40, netRxBps: 100, netTxBps: 50, diskRdBps: 0, diskWrBps: 4096 };
}

const DOMAINS: DomainSummary[] = [
  { name: 'vm1', uuid: 'u1', state: 'running', latest: sample('vm1', 1000), risk: { ts: 1000, next: 0.02 }, protection: null, hasModel: true },
  { name: 'vm2', uuid: 'u2', state: 'shutoff', latest: null, risk: null, protection: null, hasModel: false },
];

interface Fixture {
  dir: string;
  sock: string;
  server: AgentServer;
  store: Store;
}

async function fixture(t: { after: (fn: () => void | Promise<void>) => void }, over: Partial<AgentServerOptions> = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-rpc-'));
  const store = Store.open({ path: join(dir, 'h.db') });
  const groupFile = join(dir, 'group');
  writeFileSync(groupFile, 'root:x:0:\nhefery-test:x:4242:alice\n');
  const sock = join(dir, 'run', 'agent.sock');
  const server = new AgentServer({
    socketPath: sock,
    group: 'hefery-test',
    groupFile,
    info: () => ({ agentVersion: '9.9.9', hostname: 'testhost', backend: 'dry-run' }),
    domains: { list: () => DOMAINS },
    store,
    ...over,
  });
  t.after(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await server.listen();
  return { dir, sock, server, store };
}

async function client(t: { after: (fn: () => void) => void }, sock: string, notes?: Array<{ name: NotificationName; params: unknown }>): Promise<AgentConnection> {
  const c = await connectAgent(sock, { client: 'test', onNotification: (name, params) => notes?.push({ name, params }) });
  t.after(() => c.close());
  return c;
}


/** Raw NDJSON connection, for messages the typed peer would never send. */
function raw(sock: string): Promise<{ s: Socket; send: (line: string) => void; next: () => Promise<Record<string, unknown>> }> {
  return new Promise((resolve, reject) => {
    const s = connect(sock);
    const reader = ndjsonReader(s);
    s.once('error', reject);
    s.once('connect', () => resolve({
      s,
      send: (line) => void s.write(line + '\n'),
      next: reader.next,
    }));
  });
}

test('the socket is created with mode 0660 and the configured group, and removed on close', async (t) => {
  const f = await fixture(t);
  const st = statSync(f.sock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.gid, 4242);
  assert.equal(statSync(join(f.dir, 'run')).mode & 0o777, 0o750, 'the created directory is 0750');
  await f.server.close();
  assert.equal(existsSync(f.sock), false);
});

test('hello, domains.list and samples.history over the socket', async (t) => {
  const f = await fixture(t);
  f.store.insertSamples([1000, 2000, 3000].map((ts) => ({ sample: sample('vm1', ts), risk: ts / 10_000 })));
  const c = await client(t, f.sock);
  assert.deepEqual(c.hello, { protocolVersion: PROTOCOL_VERSION, agentVersion: '9.9.9', hostname: 'testhost', backend: 'dry-run' });
  assert.deepEqual(await c.peer.call('domains.list', {}), DOMAINS);
  const h = await c.peer.call('samples.history', { domain: 'vm1', from: 1500, to: 5000 });
  assert.deepEqual(h.map((r) => [r.sample.ts, r.risk]), [[2000, 0.2], [3000, 0.3]]);
  assert.deepEqual((await c.peer.call('samples.history', { domain: 'vm1', from: 0, to: 5000, limit: 1 })).map((r) => r.sample.ts), [3000]);
  await assert.rejects(c.peer.call('samples.history', { domain: 'vm1', from: 5000, to: 1000 }), (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.InvalidParams && /before params\.from/.test(e.message));
});

test('a client of another protocol version is refused with a clear message', async (t) => {
  const f = await fixture(t);
  const r = await raw(f.sock);
  t.after(() => r.s.destroy());
  r.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'agent.hello', params: { protocolVersion: PROTOCOL_VERSION + 1, client: 'future-ext' } }));
  const reply = await r.next();
  const error = reply.error as { code: number; message: string; data: Record<string, unknown> };
  assert.equal(error.code, ErrorCodes.IncompatibleProtocol);
  assert.match(error.message, new RegExp(`client "future-ext" speaks version ${PROTOCOL_VERSION + 1}, this agent speaks version ${PROTOCOL_VERSION}; update the agent`));
  assert.deepEqual(error.data, { agentProtocolVersion: PROTOCOL_VERSION });
});

test('bad messages get JSON-RPC errors and the server stays up', async (t) => {
  const f = await fixture(t);
  const r = await raw(f.sock);
  t.after(() => r.s.destroy());
  r.send('{this is not json');
  assert.equal((await r.next() as { error: { code: number } }).error.code, ErrorCodes.ParseError);
  r.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'no.such', params: {} }));
  assert.equal((await r.next() as { error: { code: number } }).error.code, ErrorCodes.MethodNotFound);
  r.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'samples.history', params: { domain: 'bad name', from: 0, to: 1 } }));
  const bad = (await r.next()) as { id: number; error: { code: number; message: string } };
  assert.equal(bad.id, 3);
  assert.equal(bad.error.code, ErrorCodes.InvalidParams);
  assert.match(bad.error.message, /params\.domain/);
  r.send(JSON.stringify({ jsonrpc: '1.0', id: 4, method: 'domains.list' }));
  assert.equal((await r.next() as { error: { code: number } }).error.code, ErrorCodes.InvalidRequest);
  // same connection still served, and a new client too
  r.send(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'domains.list', params: {} }));
  assert.equal(((await r.next()).result as unknown[]).length, 2);
  const c = await client(t, f.sock);
  assert.equal((await c.peer.call('domains.list', {})).length, 2);
});

test('subscribers receive samples, domain and decision events; filters and unsubscribe apply', async (t) => {
  const f = await fixture(t);
  const allNotes: Array<{ name: NotificationName; params: unknown }> = [];
  const vm2Notes: Array<{ name: NotificationName; params: unknown }> = [];
  const all = await client(t, f.sock, allNotes);
  const only2 = await client(t, f.sock, vm2Notes);
  const { subscription: subAll } = await all.peer.call('samples.subscribe', {});
  const { subscription: sub2 } = await only2.peer.call('samples.subscribe', { domains: ['vm2'] });
  assert.notEqual(subAll, sub2);
  assert.equal(f.server.subscriptionCount, 2);

  f.server.publishSample(sample('vm1', 5000), { ts: 5000, next: 0.3, state: 'normal/low' }, { mode: 'auto', intervalMs: 200, backend: 'dry-run', reason: 'risk low' });
  f.server.publishSample(sample('vm2', 5000), null, null);
  f.server.publishDomainEvent('vm2', 'crashed', 5001);
  f.server.publishDecision({ id: 7, domain: 'vm1', ts: 5002, kind: 'auto', oldIntervalMs: 200, newIntervalMs: 50, risk: 0.3, reason: 'risk up', who: 'policy', applied: true });
  await waitFor('4 notifications', () => allNotes.length === 4);
  await waitFor('2 notifications', () => vm2Notes.length === 2);

  assert.deepEqual(allNotes.map((n) => n.name), ['samples.event', 'samples.event', 'domains.event', 'decision.event']);
  assert.deepEqual(allNotes[0].params, {
    subscription: subAll, sample: sample('vm1', 5000), risk: { ts: 5000, next: 0.3, state: 'normal/low' },
    protection: { mode: 'auto', intervalMs: 200, backend: 'dry-run', reason: 'risk low' },
  });
  assert.deepEqual(allNotes[2].params, { subscription: subAll, domain: 'vm2', event: 'crashed', ts: 5001 });
  assert.deepEqual(vm2Notes.map((n) => n.name), ['samples.event', 'domains.event']);
  assert.equal((vm2Notes[0].params as { subscription: string }).subscription, sub2);

  assert.deepEqual(await all.peer.call('samples.unsubscribe', { subscription: subAll }), { ok: true });
  assert.deepEqual(await all.peer.call('samples.unsubscribe', { subscription: subAll }), { ok: false });
  assert.deepEqual(await all.peer.call('samples.unsubscribe', { subscription: sub2 }), { ok: false }, 'cannot cancel another connection\'s subscription');
  f.server.publishSample(sample('vm2', 6000), null, null);
  await waitFor('vm2 sees it', () => vm2Notes.length === 3);
  await sleep(50);
  assert.equal(allNotes.length, 4);
});

test('decisions.list and incidents.mark go to the store', async (t) => {
  const f = await fixture(t);
  const d = f.store.record({ domain: 'vm1', ts: 100, kind: 'startup', oldIntervalMs: null, newIntervalMs: 25, risk: null, reason: 'start safe', who: 'agent', applied: true });
  const c = await client(t, f.sock);
  assert.deepEqual(await c.peer.call('decisions.list', { domain: 'vm1', from: 0, to: 1000 }), [d]);
  const { id } = await c.peer.call('incidents.mark', { domain: 'vm1', from: 10, to: 20, health: 'failed', note: 'oops' });
  const inc = f.store.incidents('vm1', 0, 100);
  assert.equal(inc.length, 1);
  assert.equal(inc[0].id, id);
  assert.equal(inc[0].source, 'user');
  assert.equal(inc[0].note, 'oops');
});

test('model.* and interval.* without services answer NotFound with a reason', async (t) => {
  const f = await fixture(t);
  const c = await client(t, f.sock);
  const notFound = (re: RegExp) => (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.NotFound && re.test(e.message);
  await assert.rejects(c.peer.call('model.get', { domain: 'vm1' }), notFound(/without a training service/));
  await assert.rejects(c.peer.call('model.train', { domains: ['vm1'] }), notFound(/without a training service/));
  await assert.rejects(c.peer.call('model.cancel', { jobId: 'x' }), notFound(/without a training service/));
  await assert.rejects(c.peer.call('interval.pin', { domain: 'vm1', intervalMs: 100, who: 'me' }), notFound(/without a protection service/));
  await assert.rejects(c.peer.call('interval.resume', { domain: 'vm1', who: 'me' }), notFound(/without a protection service/));
});

test('model.train delegates to the training service and streams progress to the requesting client only', async (t) => {
  // A stand-in TrainingService (the real one belongs to host-agent/src/training/).
  const training: TrainingService = {
    async train(req, listener) {
      setTimeout(() => {
        listener.progress({ jobId: 'j1', restart: 0, restarts: 1, iteration: 1, logLikelihood: -10 });
        listener.done({ jobId: 'j1', ok: false, error: `no data for ${req.domains.join(',')}` });
      }, 10);
      return { jobId: 'j1' };
    },
    async cancel(jobId) {
      return jobId === 'j1';
    },
    async getModel() {
      throw new Error('model file unreadable');
    },
  };
  const f = await fixture(t, { training });
  const mine: Array<{ name: NotificationName; params: unknown }> = [];
  const other: Array<{ name: NotificationName; params: unknown }> = [];
  const c = await client(t, f.sock, mine);
  await client(t, f.sock, other);
  assert.deepEqual(await c.peer.call('model.train', { domains: ['vm1'] }), { jobId: 'j1' });
  await waitFor('train.done', () => mine.length === 2);
  assert.deepEqual(mine.map((n) => n.name), ['train.progress', 'train.done']);
  assert.equal((mine[1].params as { error: string }).error, 'no data for vm1');
  assert.equal(other.length, 0);
  assert.deepEqual(await c.peer.call('model.cancel', { jobId: 'j1' }), { ok: true });
  await assert.rejects(c.peer.call('model.get', { domain: 'vm1' }), (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.InternalError && /model file unreadable/.test(e.message));
});

test('connections and subscriptions are bounded', async (t) => {
  const f = await fixture(t, { maxConnections: 2, maxSubscriptionsPerConnection: 2 });
  const a = await client(t, f.sock);
  await client(t, f.sock);
  const third = await raw(f.sock);
  t.after(() => third.s.destroy());
  const refusal = (await third.next()) as { error: { code: number; message: string } };
  assert.equal(refusal.error.code, ErrorCodes.Busy);
  assert.match(refusal.error.message, /too many connections \(limit 2\)/);
  await a.peer.call('samples.subscribe', {});
  await a.peer.call('samples.subscribe', { domains: ['vm1'] });
  await assert.rejects(a.peer.call('samples.subscribe', {}), (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.Busy && /too many subscriptions/.test(e.message));
  a.close();
  await waitFor('slot freed', () => f.server.connectionCount === 1);
  const again = await client(t, f.sock);
  assert.equal(again.hello.hostname, 'testhost');
});

test('a client that stops reading is dropped when its queue exceeds the bound; others keep receiving', async (t) => {
  const f = await fixture(t, { maxQueuedBytes: 65_536 });
  const slow = await raw(f.sock);
  t.after(() => slow.s.destroy());
  slow.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'samples.subscribe', params: {} }));
  await slow.next();
  const fastNotes: Array<{ name: NotificationName; params: unknown }> = [];
  const fast = await client(t, f.sock, fastNotes);
  await fast.peer.call('samples.subscribe', { domains: ['vm1'] });
  slow.s.pause();
  let closed = false;
  slow.s.on('close', () => {
    closed = true;
  });
  assert.equal(f.server.connectionCount, 2);
  for (let i = 0; i < 200 && f.server.connectionCount === 2; i++) {
    for (let j = 0; j < 100; j++) f.server.publishSample(sample('vm1', i * 100 + j), null, null);
    await sleep(5);
  }
  await waitFor('slow client dropped', () => f.server.connectionCount === 1);
  assert.ok(fastNotes.length > 0);
  slow.s.resume();
  await waitFor('slow socket closed', () => closed);
  assert.equal((await fast.peer.call('domains.list', {})).length, 2);
});

test('a stale socket is replaced; a live one or a non-socket file is not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-stale-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = Store.open({ path: ':memory:' });
  t.after(() => store.close());
  const opts = (socketPath: string): AgentServerOptions => ({
    socketPath, group: null, store, domains: { list: () => [] }, info: () => ({ agentVersion: '1', hostname: 'h', backend: 'none' }),
  });
  // A socket file left behind by a process that died: bound, never listening, owner gone.
  const stale = join(dir, 'stale.sock');
  execFileSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', stale]);
  assert.ok(statSync(stale).isSocket());
  const s1 = new AgentServer(opts(stale));
  t.after(() => s1.close());
  await s1.listen();
  const c = await connectAgent(stale);
  c.close();

  const s2 = new AgentServer(opts(stale));
  await assert.rejects(s2.listen(), /another process is already listening at .*stale\.sock/);
  assert.ok(existsSync(stale), 'the live socket was not removed');

  const file = join(dir, 'file.sock');
  writeFileSync(file, 'precious');
  await assert.rejects(new AgentServer(opts(file)).listen(), /exists and is not a socket; refusing to replace it/);
});

test('connecting where nothing listens explains what to do', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-none-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'agent.sock');
  await assert.rejects(connectAgent(p), { name: 'AgentUnavailableError', message: `no agent listening at ${p}: is hefery-agent serve running?` });
});

test('RpcPeer on the server validates the typed results the client gets', async (t) => {
  // Sanity: a client peer over the real socket validates the DomainSummary schema both ways.
  const f = await fixture(t, { domains: { list: () => [{ ...DOMAINS[0], risk: { ts: 1, next: 1.5 } }] } });
  const c = await client(t, f.sock);
  await assert.rejects(c.peer.call('domains.list', {}), /risk\.next: expected number <= 1/);
  assert.ok(c.peer instanceof RpcPeer);
});
