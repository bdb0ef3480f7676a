// The panels' backfill against the agent's real server and store: 30 minutes
// of samples at the fastest sampling interval (100 ms) is more than one
// answer may carry (1 MiB: the agent answers TooLarge), so the live risk
// panel reads it in pages; a day of decisions with long reasons likewise for
// the checkpoint frequency panel. The agent side is the real AgentServer on a
// Unix socket over a real SQLite store; the extension side is the real
// AgentClient and the real panel controllers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, type Sample } from '../../host-agent/src/protocol/api';
import { RpcFailure } from '../../host-agent/src/protocol/peer';
import { AgentServer } from '../../host-agent/src/rpc/server';
import { Store } from '../../host-agent/src/store/store';
import { AgentClient } from '../src/core/agentClient';
import type { AgentApi } from '../src/core/contract';
import { createController } from '../src/panels/controllers';
import { readPaged } from '../src/panels/controllers/history';
import { RISK_BACKFILL_MS } from '../src/panels/controllers/risk';
import { ToWebview } from '../../webview/src/shared/messages';

const DOMAIN = 'vm1';

async function agentWithStore(t: { after: (fn: () => void | Promise<void>) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-paging-'));
  const store = Store.open({ path: join(dir, 'h.db') });
  const socketPath = join(dir, 'agent.sock');
  const server = new AgentServer({
    socketPath,
    group: null,
    info: () => ({ agentVersion: '0.1.0-test', hostname: 'test-host', backend: 'dry-run' }),
    domains: { list: () => [{ name: DOMAIN, uuid: 'u1', state: 'running', latest: null, risk: null, protection: null, hasModel: false }] },
    store,
  });
  await server.listen();
  const client = new AgentClient('h1', { clientName: 'paging-test' });
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  await client.attach(socket, socketPath);
  client.setState('connected');
  t.after(async () => {
    client.detach();
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, client };
}

/** Samples every `stepMs` over [from, to], with full-precision figures (as the sampler's rates are). */
function samples(from: number, to: number, stepMs: number): Sample[] {
  const out: Sample[] = [];
  for (let ts = from, i = 0; ts <= to; ts += stepMs, i++) {
    out.push({ domain: DOMAIN, ts, state: 'running', cpuPct: (i * 7.123456789) % 100, memPct: 33.33333333333333, netRxBps: 123456.789012, netTxBps: 98765.4321098, diskRdBps: 4096.000001, diskWrBps: 65536.1234567 });
  }
  return out;
}

function panel(kind: 'risk' | 'frequency', client: AgentClient, now: number) {
  const posted: ToWebview[] = [];
  const errors: string[] = [];
  const controller = createController(kind, {
    ref: { hostId: 'h1', domain: DOMAIN },
    api: async () => client,
    post: (m) => posted.push(ToWebview.parse(JSON.parse(JSON.stringify(m)), 'posted')),
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: (m) => errors.push(m) },
    now: () => now,
  });
  return { controller, posted, errors };
}

test('live risk panel: 30 minutes at 100 ms (18 000 samples, several MiB) is backfilled completely, in order, once each', async (t) => {
  const { store, client } = await agentWithStore(t);
  const now = Date.now();
  const all = samples(now - RISK_BACKFILL_MS, now, 100);
  assert.ok(store.insertSamples(all.map((sample) => ({ sample, risk: 0.125 }))));
  // What the panel asked for before: all of it in one answer. The agent refuses that.
  await assert.rejects(client.call('samples.history', { domain: DOMAIN, from: now - RISK_BACKFILL_MS, to: now, limit: 20_000 }),
    (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.TooLarge);

  const p = panel('risk', client, now);
  t.after(() => p.controller.dispose());
  await p.controller.handle({ type: 'ready' });
  assert.deepEqual(p.errors, []);
  const backfill = p.posted.filter((m): m is Extract<ToWebview, { type: 'samples' }> => m.type === 'samples');
  assert.equal(backfill.length, 1, 'one message with the whole backfill');
  const ts = backfill[0].points.map((x) => x.sample.ts);
  assert.equal(ts.length, all.length);
  assert.deepEqual(ts, all.map((s) => s.ts), 'every stored sample, oldest first, none twice');
  assert.deepEqual(backfill[0].points[1234].sample, all[1234]);
});

test('paging: rows sharing the timestamp of a page boundary are all kept; a TooLarge page is asked for again in halves', async (t) => {
  const { store, client } = await agentWithStore(t);
  const now = Date.now();
  // Decisions with long reasons (~2.5 KB each): 1 000 of them do not fit one answer; several share a timestamp.
  const long = 'x'.repeat(490);
  const want: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const d = store.record({ domain: DOMAIN, ts: now - 100_000 + Math.floor(i / 3) * 100, kind: 'auto', oldIntervalMs: 100, newIntervalMs: 200, risk: 0.1, reason: `${i} ${long}`, who: 'policy', applied: false, error: 'e'.repeat(1900) });
    want.push(d.id);
  }
  const limits: number[] = [];
  const recording: AgentApi = {
    hostId: client.hostId,
    get state() {
      return client.state;
    },
    call: (method, params, opts) => {
      limits.push((params as { limit: number }).limit);
      return client.call(method, params, opts);
    },
    on: (name, handler) => client.on(name, handler),
    onDidChangeState: (handler) => client.onDidChangeState(handler),
  };
  const got = await readPaged(recording, 'decisions.list', DOMAIN, 0, now, { pageRows: 700, maxRows: 5000 });
  assert.deepEqual(got.map((d) => d.id), want, 'every decision once, in order');
  assert.deepEqual(limits.slice(0, 2), [700, 350], '700 rows were too large for one answer: asked again for half');
  assert.ok(limits.slice(1).every((l) => l === 350), `then pages of 350: ${limits.join(', ')}`);

  // Small pages whose boundaries fall inside runs of equal timestamps.
  const small = await readPaged(client, 'decisions.list', DOMAIN, 0, now, { pageRows: 7, maxRows: 5000 });
  assert.deepEqual(small.map((d) => d.id), want);
  // maxRows keeps the newest.
  const newest = await readPaged(client, 'decisions.list', DOMAIN, 0, now, { pageRows: 100, maxRows: 250 });
  assert.deepEqual(newest.map((d) => d.id), want.slice(-250));
  // The frequency panel backfills through the same pages.
  const p = panel('frequency', client, now);
  t.after(() => p.controller.dispose());
  await p.controller.handle({ type: 'ready' });
  assert.deepEqual(p.errors, []);
  const msg = p.posted.find((m): m is Extract<ToWebview, { type: 'decisions' }> => m.type === 'decisions');
  assert.deepEqual(msg?.decisions.map((d) => d.id), want);
});
