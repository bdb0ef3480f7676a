// The agent's in-memory log (log.ts LogRing) and its agent.log method over a
// real socket (rpc/server.ts): bounded, ordered, gaps visible, answers that
// always fit in one message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, formatLogLine, LogRing, MAX_KEPT_MESSAGE } from '../src/log';
import { AgentServer } from '../src/rpc/server';
import { connectAgent } from '../src/rpc/client';
import { Store } from '../src/store';
import { ErrorCodes, MAX_MESSAGE_BYTES } from '../src/protocol/api';
import { RpcFailure } from '../src/protocol/peer';

test('the logger writes each line once to its output and once to the ring, in the same format', () => {
  const ring = new LogRing();
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l), tee: (r) => ring.push(r) }).child('rpc');
  log.debug('not at this level');
  log.info('listening');
  log.warn('careful');
  const { entries } = ring.tail({ limit: 10 });
  assert.deepEqual(entries.map((e) => [e.seq, e.level, e.scope, e.message]), [[1, 'info', 'rpc', 'listening'], [2, 'warn', 'rpc', 'careful']]);
  assert.deepEqual(entries.map(formatLogLine), lines, 'the ring shows the lines exactly as written');
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  \[rpc\] listening$/);
});

test('the ring keeps the newest entries within its bounds; tail: after, limit, level; dropped lines show as a gap', () => {
  const ring = new LogRing(5, 1 << 20);
  for (let i = 1; i <= 12; i++) ring.push({ ts: i, level: i % 3 === 0 ? 'warn' : 'debug', message: `m${i}` });
  const all = ring.tail({ limit: 100 });
  assert.deepEqual(all.entries.map((e) => e.seq), [8, 9, 10, 11, 12]);
  assert.equal(all.oldestSeq, 8);
  assert.equal(all.nextSeq, 13);
  assert.deepEqual(ring.tail({ limit: 2 }).entries.map((e) => e.seq), [11, 12], 'the newest `limit`, oldest first');
  assert.deepEqual(ring.tail({ after: 10, limit: 100 }).entries.map((e) => e.seq), [11, 12]);
  assert.deepEqual(ring.tail({ limit: 100, minLevel: 'warn' }).entries.map((e) => e.message), ['m9', 'm12']);
  const later = ring.tail({ after: 3, limit: 100 });
  assert.ok(later.oldestSeq > 3 + 1, 'a reader that stopped at 3 can tell that 4..7 were dropped');

  const bytes = new LogRing(1000, 10_000);
  for (let i = 0; i < 10; i++) bytes.push({ ts: i, level: 'info', message: 'x'.repeat(3000) });
  assert.equal(bytes.tail({ limit: 1000 }).entries.length, 3, 'at most 10 000 characters of messages');
  const one = new LogRing(10, 100);
  one.push({ ts: 0, level: 'error', message: 'y'.repeat(50_000) });
  const [cut] = one.tail({ limit: 1 }).entries;
  assert.equal(cut.message.length < 4100, true);
  assert.match(cut.message, new RegExp(`^y{${MAX_KEPT_MESSAGE}} \\[\\.\\.\\. ${50_000 - MAX_KEPT_MESSAGE} more characters\\]$`), 'a long message is cut, saying so, and the newest entry is always kept');
});

test('agent.log over the socket: the ring as kept, an answer that fits in one message however the lines escape, NotFound without a ring', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-logring-'));
  const store = Store.open({ path: join(dir, 'h.db') });
  const ring = new LogRing(2000, 64 << 20);
  // Quotes and control characters escape to up to six bytes each in JSON.
  for (let i = 0; i < 2000; i++) ring.push({ ts: i, level: 'info', scope: 'test', message: '"\u0001'.repeat(2000) });
  const servers = [true, false].map((withRing, i) => new AgentServer({
    socketPath: join(dir, `a${i}.sock`), group: null, info: () => ({ agentVersion: '0', hostname: 'h', backend: 'dry-run' }),
    domains: { list: () => [] }, store, ...(withRing ? { logRing: ring } : {}),
  }));
  t.after(async () => {
    for (const s of servers) await s.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const s of servers) await s.listen();
  const c = await connectAgent(servers[0].socketPath, { client: 'test' });
  const r = await c.peer.call('agent.log', { limit: 2000 });
  assert.ok(r.entries.length > 0 && r.entries.length < 2000, `cut to fit: ${r.entries.length} entries`);
  assert.ok(JSON.stringify(r).length < MAX_MESSAGE_BYTES, 'the answer fits in one message');
  assert.equal(r.entries.at(-1)!.seq, 2000, 'the newest lines are the ones kept');
  assert.equal(r.nextSeq, 2001);
  const small = await c.peer.call('agent.log', { after: 1990, limit: 5 });
  assert.deepEqual(small.entries.map((e) => e.seq), [1996, 1997, 1998, 1999, 2000]);
  c.close();
  const bare = await connectAgent(servers[1].socketPath, { client: 'test' });
  await assert.rejects(bare.peer.call('agent.log', {}), (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.NotFound && /keeps no log in memory/.test(e.message));
  await assert.rejects(bare.peer.call('agent.log', { limit: 5000 }), (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.InvalidParams && /limit/.test(e.message));
  bare.close();
});
