// Bad input on the API: the real agent process, its real Unix socket, and
// raw connections that send what a well-behaved client never would:
// malformed JSON, wrong types, unknown methods, oversized lines, huge arrays,
// duplicate and odd ids, notifications and responses from the client, binary
// garbage, half lines then close, thousands of pipelined requests, a client
// that never reads, too many connections, answers too large for one message,
// a flood of invalid lines. Each gets a clear JSON-RPC error (or the
// connection is closed with a reason), the agent stays up, a well-behaved
// subscriber keeps receiving its samples throughout, and the agent's memory
// stays bounded (RSS printed, the second round of abuse may not grow it
// much beyond the first).
// libvirt: the test driver (test:///default), sampled every 100 ms.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, type Sample } from '../../host-agent/src/protocol/api';
import { RpcFailure } from '../../host-agent/src/protocol/peer';
import type { AgentConnection } from '../../host-agent/src/rpc/client';
import { Store } from '../../host-agent/src/store';
import { startAgent, type Agent } from './lib/agent';
import { agentConfig } from './lib/rig';
import { sleep, waitFor, waitUntil } from '../fixtures/wait';

let dir = '';
let sock = '';
let agent: Agent | undefined;
let witness: AgentConnection | undefined;
const witnessed: Sample[] = [];
const HISTORY_ROWS = 8000;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hefery-rel-rpc-'));
  sock = join(dir, 'agent.sock');
  // A long history for `test`, so an answer can be larger than one message may be.
  const store = Store.open({ path: join(dir, 'hefery.db') });
  const t0 = Date.now() - HISTORY_ROWS * 1000;
  store.insertSamples(Array.from({ length: HISTORY_ROWS }, (_, i) => ({
    sample: { domain: 'test', ts: t0 + i * 1000, state: 'running' as const, cpuPct: 12.345678, memPct: 45.678901, netRxBps: 123456.789, netTxBps: 23456.789, diskRdBps: 3456.789, diskWrBps: 456789.123 },
    risk: 0.0123456789,
  })));
  store.close();
  agent = startAgent(agentConfig({ libvirt: { uri: 'test:///default' }, sampling: { intervalMs: 100 } }), dir, sock);
  await agent.ready();
  witness = await agent.connect({ onNotification: (name, params) => name === 'samples.event' && witnessed.push((params as { sample: Sample }).sample) });
  await witness.peer.call('samples.subscribe', {});
});

after(async () => {
  witness?.close();
  await agent?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Msg = Record<string, unknown> & { id?: unknown; error?: { code: number; message: string }; result?: unknown };

/** A raw NDJSON connection: send anything, read replies as parsed lines. */
class Raw {
  readonly s: Socket;
  readonly lines: Msg[] = [];
  closed = false;
  private buf = '';
  private constructor(s: Socket) {
    this.s = s;
    s.on('data', (c: Buffer) => {
      this.buf += c.toString();
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(this.buf.slice(0, i)) as Msg);
        this.buf = this.buf.slice(i + 1);
      }
    });
    s.on('close', () => (this.closed = true));
    s.on('error', () => undefined);
  }
  static open(): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = connect(sock);
      s.once('connect', () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  send(data: string | Buffer): void {
    this.s.write(data);
  }
  line(obj: unknown): void {
    this.s.write(JSON.stringify(obj) + '\n');
  }
  /** Waits for `n` more lines than `from` (default: those read so far... the caller passes a start). */
  async until(n: number, ms = 10_000): Promise<Msg[]> {
    await waitUntil(`${n} replies (have ${this.lines.length})`, () => this.lines.length >= n || this.closed, ms);
    return this.lines;
  }
  close(): void {
    this.s.destroy();
  }
}

const req = (id: unknown, method: string, params: unknown = {}) => ({ jsonrpc: '2.0', id, method, params });

/** A well-formed request on a connection must still be answered after whatever came before. */
async function stillServes(r: Raw): Promise<void> {
  const n = r.lines.length;
  r.line(req('probe', 'domains.list'));
  const lines = await r.until(n + 1);
  const last = lines[lines.length - 1];
  assert.equal(last.id, 'probe', JSON.stringify(last));
  assert.ok(Array.isArray(last.result));
}

/**
 * `n` connections that the agent serves. The agent frees the slot of a
 * closed connection when it sees the close, which takes a moment on a loaded
 * machine: until then a new client may get Busy, so this tries again.
 */
async function openServed(n: number): Promise<Raw[]> {
  return waitFor(`${n} connections served`, async () => {
    const batch = await Promise.all(Array.from({ length: n }, () => Raw.open()));
    const served = await Promise.all(batch.map((r) => stillServes(r).then(() => true, () => false)));
    if (served.every(Boolean)) return batch;
    for (const r of batch) r.close();
    return undefined;
  }, 60_000);
}

const errorOf = (m: Msg | undefined) => m?.error ?? { code: 0, message: `no error in ${JSON.stringify(m)}` };

async function abuseRound(): Promise<Record<string, string>> {
  const figures: Record<string, string> = {};

  // Malformed JSON, non-objects, bad envelopes: one error reply each (id null), the connection keeps working.
  {
    const r = await Raw.open();
    const bad = ['{', '{"jsonrpc":"2.0",', 'null', '[1,2,3]', '"str"', '42', '{"jsonrpc":"1.0","id":1,"method":"domains.list"}', '{"jsonrpc":"2.0","id":{"a":1},"method":"domains.list"}',
      '{"jsonrpc":"2.0","id":1.5,"method":"domains.list"}', '{"jsonrpc":"2.0","id":1,"method":7}', '{"jsonrpc":"2.0","id":1,"method":"domains.list","params":[1]}', '{"jsonrpc":"2.0"}', '\u0000\u0001\u0002'];
    for (const l of bad) r.send(l + '\n');
    const lines = await r.until(bad.length);
    assert.equal(lines.length, bad.length);
    for (const m of lines) {
      assert.ok([ErrorCodes.ParseError, ErrorCodes.InvalidRequest, ErrorCodes.InvalidParams].includes(errorOf(m).code as never), JSON.stringify(m));
      assert.ok(errorOf(m).message.length > 5);
    }
    await stillServes(r);
    r.close();
  }

  // Wrong types and unknown methods: the error names the field or the method.
  {
    const r = await Raw.open();
    const cases: Array<[unknown, RegExp]> = [
      [req(1, 'samples.history', { domain: 'test', from: 'yesterday', to: 1 }), /params\.from: expected finite number, got string "yesterday"/],
      [req(2, 'samples.history', { domain: 'a;rm -rf /', from: 0, to: 1 }), /params\.domain: expected string matching/],
      [req(3, 'interval.pin', { domain: 'test', intervalMs: -5, who: 'x' }), /params\.intervalMs: expected number >= 1/],
      [req(4, 'interval.pin', { domain: 'test', intervalMs: 1e308 * 10, who: 'x' }), /params\.intervalMs/],
      [req(5, 'model.train', { domains: 'test' }), /params\.domains: expected array/],
      [req(6, 'incidents.mark', { domain: 'test', from: 0, to: 1, health: 'normal' }), /params\.health: expected one of abnormal, failed/],
      [req(7, 'agent.hello', { protocolVersion: PROTOCOL_VERSION, client: 'x', extra: true }), /params\.extra: expected no such field/],
      [req(8, 'no.such.method'), /no such method: no\.such\.method/],
      [req(9, '__proto__'), /no such method: __proto__/],
      [req(10, 'constructor'), /no such method: constructor/],
      [req(11, 'toString'), /no such method: toString/],
    ];
    for (const [m] of cases) r.line(m);
    const lines = await r.until(cases.length);
    cases.forEach(([m, re], i) => {
      const reply = lines.find((x) => x.id === (m as { id: number }).id);
      assert.match(errorOf(reply).message, re, `case ${i}: ${JSON.stringify(reply)}`);
    });
    await stillServes(r);
    r.close();
  }

  // Oversized line: refused without being buffered; the next line is served.
  {
    const r = await Raw.open();
    r.send(Buffer.alloc(2 * MAX_MESSAGE_BYTES, 0x61));
    r.send('\n');
    const [m] = await r.until(1);
    assert.equal(errorOf(m).code, ErrorCodes.TooLarge);
    assert.match(errorOf(m).message, /message larger than 1048576 bytes/);
    await stillServes(r);
    r.close();
  }

  // Huge arrays: refused by their bound before the items are looked at.
  {
    const r = await Raw.open();
    r.line(req(1, 'samples.subscribe', { domains: Array.from({ length: 10_001 }, (_, i) => `d${i}`) }));
    r.line(req(2, 'model.train', { domains: Array.from({ length: 50_000 }, () => 'test') }));
    r.line(req(3, 'samples.subscribe', { domains: Array.from({ length: 200_000 }, () => 0) }));
    const lines = await r.until(3);
    assert.match(errorOf(lines.find((x) => x.id === 1)).message, /params\.domains: expected array of at most 10000 items/);
    assert.match(errorOf(lines.find((x) => x.id === 2)).message, /params\.domains: expected array of at most 1000 items/);
    assert.match(errorOf(lines.find((x) => x.id === 3)).message, /params\.domains: expected array of at most 10000 items/);
    await stillServes(r);
    r.close();
  }

  // Duplicate and odd ids: every request gets exactly one reply carrying its own id.
  {
    const r = await Raw.open();
    const ids = [5, 'x', 5, -1, 0, 'x', 2 ** 53 - 1, '', '🦀'];
    for (const id of ids) r.line(req(id, 'agent.hello', { protocolVersion: PROTOCOL_VERSION, client: 'ids' }));
    const lines = await r.until(ids.length);
    assert.deepEqual(lines.map((m) => m.id).sort(), [...ids].sort());
    assert.ok(lines.every((m) => (m.result as { protocolVersion?: number })?.protocolVersion === PROTOCOL_VERSION));
    r.close();
  }

  // Notifications and responses sent by a client: no reply, nothing executed, the connection keeps working.
  {
    const r = await Raw.open();
    r.line({ jsonrpc: '2.0', method: 'samples.event', params: { subscription: 's', sample: {}, risk: null, protection: null } });
    r.line({ jsonrpc: '2.0', method: 'interval.pin', params: { domain: 'test', intervalMs: 500, who: 'notification' } });
    r.line({ jsonrpc: '2.0', method: 'no.such.notification' });
    r.line({ jsonrpc: '2.0', id: 99, result: { ok: true } });
    r.line({ jsonrpc: '2.0', id: 98, error: { code: 1, message: 'from the client' } });
    await sleep(300);
    assert.deepEqual(r.lines, [], 'no replies to notifications or responses');
    await stillServes(r);
    const decisions = await witness!.peer.call('decisions.list', { domain: 'test', from: 0, to: Date.now() });
    assert.equal(decisions.filter((d) => d.who === 'notification').length, 0, 'a request sent as a notification is not executed');
    r.close();
  }

  // Binary garbage with newlines: one error per line, still serving.
  {
    const r = await Raw.open();
    const chunks = Array.from({ length: 20 }, () => Buffer.concat([randomBytes(200).map((b) => (b === 0x0a ? 0x0b : b)), Buffer.from('\n')]));
    for (const c of chunks) r.send(c);
    const lines = await r.until(chunks.length);
    assert.equal(lines.length, chunks.length);
    assert.ok(lines.every((m) => m.id === null && errorOf(m).code !== 0));
    await stillServes(r);
    r.close();
  }

  // Half lines, then the client goes away; 200 times. Then 20 new clients are served (no slot leaked).
  {
    for (let i = 0; i < 200; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => Raw.open()));
      for (const r of batch) r.send('{"jsonrpc":"2.0","id":1,"method":"domains.li');
      await sleep(20);
      for (const r of batch) r.close();
    }
    for (const r of await openServed(20)) r.close();
  }

  // Thousands of pipelined requests from a client that reads: all answered.
  {
    const r = await Raw.open();
    const n = 5000;
    const t = performance.now();
    r.send(Array.from({ length: n }, (_, i) => JSON.stringify(req(i, i % 2 ? 'domains.list' : 'agent.hello', i % 2 ? {} : { protocolVersion: PROTOCOL_VERSION, client: 'pipe' })) + '\n').join(''));
    const lines = await r.until(n, 60_000);
    const ms = performance.now() - t;
    assert.equal(new Set(lines.map((m) => m.id)).size, n);
    assert.ok(lines.every((m) => m.error === undefined));
    figures.pipelined = `${n} pipelined requests answered in ${ms.toFixed(0)} ms (${Math.round((n / ms) * 1000)}/s)`;
    r.close();
  }

  // A client that sends and never reads: dropped once its unsent replies pass the bound.
  {
    const r = await Raw.open();
    r.s.pause();
    const line = JSON.stringify(req(1, 'domains.list')) + '\n';
    const t = Date.now();
    for (let i = 0; i < 20 && !r.closed; i++) {
      r.send(line.repeat(5000));
      await sleep(100);
    }
    await waitUntil('the non-reader dropped', () => r.closed, 60_000);
    figures.nonReader = `a client that never read was dropped after ${Date.now() - t} ms`;
  }

  // Too many connections: the ones beyond the limit get Busy and are closed.
  {
    const conns = await Promise.all(Array.from({ length: 40 }, () => Raw.open()));
    const isBusy = (r: Raw) => r.lines.some((m) => errorOf(m).code === ErrorCodes.Busy);
    // 32 slots, one of them the witness's: at least 9 of the 40 are refused (7, should a slot of an earlier client still be held).
    await waitUntil('Busy for the connections beyond the limit', () => conns.filter(isBusy).length >= 40 - 32 + 1 - 2, 30_000);
    const busy = conns.filter(isBusy);
    assert.match(errorOf(busy[0].lines[0]).message, /too many connections \(limit 32\); try again later/);
    for (const r of conns) r.close();
    for (const r of await openServed(20)) r.close(); // the slots are free again
  }

  // An answer larger than one message may be: a clear error at once, not a client waiting for its timeout.
  {
    const t = Date.now();
    await assert.rejects(witness!.peer.call('samples.history', { domain: 'test', from: 0, to: Date.now(), limit: HISTORY_ROWS }),
      (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.TooLarge && /samples\.history.*larger than 1048576 bytes.*shorter range or a lower limit/.test(e.message));
    assert.ok(Date.now() - t < 5000, 'answered at once');
    const some = await witness!.peer.call('samples.history', { domain: 'test', from: 0, to: Date.now(), limit: 1000 });
    assert.equal(some.length, 1000);
  }

  // A flood of invalid lines: the connection is closed with a reason after a bounded number of them.
  {
    const r = await Raw.open();
    r.send('not json\n'.repeat(10_000));
    await waitUntil('the flooding connection closed', () => r.closed, 30_000);
    const last = r.lines[r.lines.length - 1];
    assert.match(errorOf(last).message, /too many invalid messages \(\d+\); closing the connection/);
    assert.ok(r.lines.length < 1000, `replies before closing: ${r.lines.length}`);
  }
  return figures;
}

test('malformed, oversized, out-of-order and flooding input over the real socket: clear errors, agent up, others unaffected, memory bounded', { timeout: 600_000 }, async () => {
  await sleep(1000);
  const rss0 = agent!.rssKiB();
  const w0 = witnessed.length;
  const f1 = await abuseRound();
  const rss1 = agent!.rssKiB();
  const w1 = witnessed.length;
  const f2 = await abuseRound();
  const rss2 = agent!.rssKiB();
  assert.equal(agent!.child.exitCode, null, 'the agent is up');
  assert.ok(w1 > w0 && witnessed.length > w1, 'the well-behaved subscriber kept receiving samples');
  const ts = witnessed.filter((s) => s.domain === 'test').map((s) => s.ts);
  const gaps = ts.slice(1).map((x, i) => x - ts[i]);
  const worst = Math.max(...gaps);
  assert.ok(worst < 5000, `the subscriber's samples kept coming (largest gap ${worst} ms)`);
  assert.equal((await witness!.peer.call('domains.list', {})).length, 1);
  const mib = (k: number) => (k / 1024).toFixed(1);
  console.log(`# RSS of the agent: ${mib(rss0)} MiB before, ${mib(rss1)} MiB after round 1, ${mib(rss2)} MiB after round 2; largest gap in the subscriber's 100 ms samples ${worst} ms`);
  console.log(`# round 1: ${Object.values(f1).join('; ')}`);
  console.log(`# round 2: ${Object.values(f2).join('; ')}`);
  assert.ok(rss2 - rss1 < 64 * 1024, `no growth from one round of abuse to the next beyond 64 MiB (${mib(rss2 - rss1)} MiB)`);
  assert.ok(rss2 < 512 * 1024, `RSS stays under 512 MiB (${mib(rss2)} MiB)`);
});
