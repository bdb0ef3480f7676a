// Fuzz: the agent's RPC server (real AgentServer, real Store, real Unix
// socket) fed generated messages: any JSON value, request envelopes with
// known and unknown methods, params of any shape and ids of any type,
// arbitrary Unicode text and raw bytes. After each one a probe request must
// be answered (the server is up and the connection in order), and every line
// the server sent back is a well-formed JSON-RPC 2.0 response: an id (null
// when the request's own could not be read), exactly one of result and
// error, an error with an integer code and a message. A request whose id and
// method are valid gets its answer under that id. (Against the real agent
// process, with floods and memory figures: test/reliability/rpc-abuse.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Methods, type DomainSummary } from '../../src/protocol/api';
import { AgentServer, MAX_INVALID_MESSAGES } from '../../src/rpc/server';
import { Store } from '../../src/store';

const DOMAINS: DomainSummary[] = [{ name: 'vm1', uuid: 'u1', state: 'running', latest: null, risk: null, protection: null, hasModel: false }];
const METHODS = Object.keys(Methods);

/** One connection that reads replies as lines and can wait for a given id. */
class Conn {
  lines: string[] = [];
  closed = false;
  private buf = '';
  private constructor(readonly s: Socket) {
    s.on('data', (c: Buffer) => {
      this.buf += c.toString('utf8');
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
      }
    });
    s.on('close', () => (this.closed = true));
    s.on('error', () => undefined);
  }
  static open(path: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  async waitFor(id: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.lines.some((l) => l.includes(`"id":"${id}"`))) {
      if (this.closed) throw new Error('the server closed the connection');
      if (Date.now() > deadline) throw new Error(`no answer to ${id}; got ${this.lines.slice(-3).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

function checkResponse(line: string): Record<string, unknown> {
  const m = JSON.parse(line) as Record<string, unknown>;
  assert.equal(m.jsonrpc, '2.0', line);
  assert.ok('id' in m, `no id: ${line}`);
  assert.ok(m.id === null || typeof m.id === 'string' || Number.isInteger(m.id), `bad id: ${line}`);
  assert.ok(('result' in m) !== ('error' in m), `exactly one of result and error: ${line}`);
  if ('error' in m) {
    const e = m.error as { code: unknown; message: unknown };
    assert.ok(Number.isInteger(e.code), line);
    assert.ok(typeof e.message === 'string' && e.message.length > 0, line);
  }
  return m;
}

const id = fc.oneof({ arbitrary: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), weight: 4 }, fc.double(), fc.constant(null), fc.jsonValue({ maxDepth: 1 }));
const paramValue = fc.oneof(fc.constantFrom('vm1', 'vm2', 'a b', '', 'abnormal', 'failed'), fc.integer({ min: -10, max: 4_000_000 }), fc.array(fc.constantFrom('vm1', 'x;y')), fc.jsonValue({ maxDepth: 2 }));
const envelope = fc.record({
  jsonrpc: fc.oneof({ arbitrary: fc.constant('2.0'), weight: 6 }, fc.jsonValue({ maxDepth: 0 })),
  id,
  method: fc.oneof({ arbitrary: fc.constantFrom(...METHODS), weight: 6 }, fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 0 })),
  params: fc.oneof(
    { arbitrary: fc.dictionary(fc.constantFrom('domain', 'domains', 'from', 'to', 'limit', 'intervalMs', 'who', 'health', 'jobId', 'protocolVersion', 'client', 'subscription', 'expiresAt', 'x'), paramValue), weight: 6 },
    fc.jsonValue({ maxDepth: 2 }),
  ),
}, { requiredKeys: [] });
const message = fc.oneof(
  { arbitrary: envelope.map((e) => JSON.stringify(e)), weight: 5 },
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

test('fuzz: any message gets well-formed JSON-RPC answers (or none), valid requests answered under their id, the server stays up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-rpc-'));
  const store = Store.open({ path: join(dir, 'h.db') });
  const sock = join(dir, 'agent.sock');
  const server = new AgentServer({ socketPath: sock, group: null, store, info: () => ({ agentVersion: 'f', hostname: 'h', backend: 'dry-run' }), domains: { list: () => DOMAINS } });
  await server.listen();
  let conn = await Conn.open(sock);
  t.after(async () => {
    conn.s.destroy();
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let probe = 0;
  let answered = 0;
  let reconnects = 0;
  await fc.assert(fc.asyncProperty(message, async (text) => {
    if (conn.closed) {
      conn = await Conn.open(sock);
      reconnects++;
    }
    conn.lines = [];
    const p = `probe-${probe++}`;
    conn.s.write(text.replace(/\n/g, ' ') + '\n' + JSON.stringify({ jsonrpc: '2.0', id: p, method: 'domains.list', params: {} }) + '\n');
    try {
      await conn.waitFor(p);
    } catch (e) {
      // Only allowed to close after the invalid-message budget was spent, and it says so.
      assert.ok(conn.lines.some((l) => /too many invalid messages/.test(l)), `${(e as Error).message} after ${JSON.stringify(text).slice(0, 200)}`);
      return;
    }
    const replies = conn.lines.map(checkResponse);
    assert.ok(replies.length <= 2, `one answer at most per line: ${conn.lines.join(' | ')}`);
    assert.deepEqual(replies[replies.length - 1].result, DOMAINS);
    let sent: unknown;
    try {
      sent = JSON.parse(text.replace(/\n/g, ' '));
    } catch {
      return;
    }
    if (!sent || typeof sent !== 'object' || Array.isArray(sent)) return;
    const r = sent as { jsonrpc?: unknown; id?: unknown; method?: unknown };
    const validId = typeof r.id === 'string' || Number.isInteger(r.id);
    if (r.jsonrpc === '2.0' && validId && typeof r.method === 'string') {
      answered++;
      assert.equal(replies.length, 2, `a request gets one answer: ${text.slice(0, 200)}`);
      assert.deepEqual(replies[0].id, r.id);
      const params = (sent as { params?: unknown }).params;
      const byName = params === undefined || (typeof params === 'object' && params !== null && !Array.isArray(params));
      if (!METHODS.includes(r.method) && byName) assert.equal((replies[0].error as { code: number }).code, -32601);
    }
  }), { numRuns: 400 });
  console.log(`# 400 generated messages: ${answered} well-formed requests answered under their id; the server closed ${reconnects} connection(s) after ${MAX_INVALID_MESSAGES} invalid messages each`);
  assert.equal(server.connectionCount, 1);
});
