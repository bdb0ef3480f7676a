import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Duplex } from 'node:stream';
import { RpcPeer, RpcFailure } from '../../src/protocol/peer';
import { ErrorCodes } from '../../src/protocol/api';
import { ndjsonReader } from '../helpers/ndjson';
import { waitFor } from '../../../test/fixtures/wait';

/** Two in-process Duplex ends joined back to back, like a socketpair. */
function pair(): [Duplex, Duplex] {
  const a2b = new PassThrough();
  const b2a = new PassThrough();
  const a = Duplex.from({ readable: b2a, writable: a2b });
  const b = Duplex.from({ readable: a2b, writable: b2a });
  return [a, b];
}

function rawClient(stream: Duplex): { send(s: string): void; next(): Promise<Record<string, unknown>> } {
  const reader = ndjsonReader(stream);
  return { send: (s) => void stream.write(s), next: reader.next };
}

test('a typed call round-trips and the result is validated', async () => {
  const [a, b] = pair();
  new RpcPeer(b, {
    onRequest: async (method, params) => {
      assert.equal(method, 'agent.hello');
      assert.deepEqual(params, { protocolVersion: 1, client: 't' });
      return { protocolVersion: 1, agentVersion: '0.1.0', hostname: 'h', backend: 'dry-run' };
    },
  });
  const client = new RpcPeer(a);
  const r = await client.call('agent.hello', { protocolVersion: 1, client: 't' });
  assert.equal(r.hostname, 'h');
});

test('a result that does not match the schema is rejected on the client', async () => {
  const [a, b] = pair();
  new RpcPeer(b, { onRequest: async () => ({ protocolVersion: 'one' }) });
  const client = new RpcPeer(a);
  await assert.rejects(client.call('agent.hello', { protocolVersion: 1, client: 't' }), /protocolVersion: expected finite number/);
});

test('malformed lines get JSON-RPC errors and the server keeps serving', async () => {
  const [a, b] = pair();
  const errors: Error[] = [];
  new RpcPeer(b, { onRequest: async () => [], onProtocolError: (e) => errors.push(e) });
  const c = rawClient(a);
  c.send('{not json\n');
  assert.equal((await c.next() as { error: { code: number } }).error.code, ErrorCodes.ParseError);
  c.send('[1,2]\n');
  assert.equal((await c.next() as { error: { code: number } }).error.code, ErrorCodes.InvalidRequest);
  c.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'nope' }) + '\n');
  assert.equal((await c.next() as { error: { code: number } }).error.code, ErrorCodes.MethodNotFound);
  c.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'samples.history', params: { domain: 'a;rm -rf /', from: 0, to: 1 } }) + '\n');
  const bad = await c.next() as { id: number; error: { code: number; message: string } };
  assert.equal(bad.id, 2);
  assert.equal(bad.error.code, ErrorCodes.InvalidParams);
  assert.match(bad.error.message, /params\.domain/);
  c.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'domains.list', params: {} }) + '\n');
  assert.deepEqual(await c.next(), { jsonrpc: '2.0', id: 3, result: [] });
  assert.ok(errors.length >= 2);
});

test('an oversized line is refused without buffering it, and the next line still works', async () => {
  const [a, b] = pair();
  new RpcPeer(b, { onRequest: async () => [], maxMessageBytes: 1000 });
  const c = rawClient(a);
  c.send('x'.repeat(600));
  c.send('y'.repeat(600) + '\n');
  assert.equal((await c.next() as { error: { code: number } }).error.code, ErrorCodes.TooLarge);
  c.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'domains.list', params: {} }) + '\n');
  assert.deepEqual(await c.next(), { jsonrpc: '2.0', id: 9, result: [] });
});

test('handler failures become error replies with their code', async () => {
  const [a, b] = pair();
  new RpcPeer(b, { onRequest: async () => { throw new RpcFailure(ErrorCodes.NotFound, 'no model for web1'); } });
  const client = new RpcPeer(a);
  await assert.rejects(client.call('model.get', { domain: 'web1' }), (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.NotFound && /web1/.test(e.message));
});

test('pending calls fail when the connection closes', async () => {
  const [a, b] = pair();
  new RpcPeer(b, { onRequest: () => new Promise(() => {}) });
  const client = new RpcPeer(a);
  const p = client.call('domains.list', {});
  a.destroy();
  await assert.rejects(p, /connection closed/);
});

test('notifications are validated before delivery', async () => {
  const [a, b] = pair();
  const got: unknown[] = [];
  const errors: Error[] = [];
  new RpcPeer(a, { onNotification: (n, p) => got.push([n, p]), onProtocolError: (e) => errors.push(e) });
  const server = new RpcPeer(b);
  server.notify('train.progress', { jobId: 'j', restart: 0, restarts: 1, iteration: 3, logLikelihood: -10 });
  b.write(JSON.stringify({ jsonrpc: '2.0', method: 'train.progress', params: { jobId: 'j', iteration: 'x' } }) + '\n');
  await waitFor('the valid notification and the protocol error', () => got.length + errors.length >= 2);
  assert.equal(got.length, 1);
  assert.equal(errors.length, 1);
});

test('a newer agent\'s extra fields in results and notifications are dropped, known fields still checked; requests stay strict', async () => {
  const [a, b] = pair();
  const server = new RpcPeer(b, {
    onRequest: async (method) => {
      if (method === 'agent.hello') return { protocolVersion: 1, agentVersion: '9.9.9', hostname: 'h', backend: 'dry-run', futureField: { x: 1 } };
      return [];
    },
  });
  const notes: unknown[] = [];
  const client = new RpcPeer(a, { onNotification: (_n, p) => void notes.push(p) });
  const r = await client.call('agent.hello', { protocolVersion: 1, client: 't' });
  assert.deepEqual(r, { protocolVersion: 1, agentVersion: '9.9.9', hostname: 'h', backend: 'dry-run' }, 'the unknown field is dropped, not passed on');

  server.notify('train.progress', { jobId: 'j', restart: 0, restarts: 1, iteration: 2, logLikelihood: -3, extra: true } as never);
  await waitFor('the notification', () => notes.length === 1, 5_000);
  assert.deepEqual(notes[0], { jobId: 'j', restart: 0, restarts: 1, iteration: 2, logLikelihood: -3 });

  // Tolerance is not leniency: a known field of the wrong type is still refused.
  const [c, d] = pair();
  new RpcPeer(d, { onRequest: async () => ({ protocolVersion: 1, agentVersion: 1, hostname: 'h', backend: 'x', extra: 1 }) });
  await assert.rejects(new RpcPeer(c).call('agent.hello', { protocolVersion: 1, client: 't' }), /agentVersion: expected string/);

  // And a request with a field the agent does not know is refused (the caller may rely on it).
  const [e, f] = pair();
  new RpcPeer(f, { onRequest: async () => ({ protocolVersion: 1, agentVersion: '1', hostname: 'h', backend: 'x' }) });
  const raw = rawClient(e);
  raw.send(JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'agent.hello', params: { protocolVersion: 1, client: 't', newOption: 1 } }) + '\n');
  const reply = await raw.next();
  assert.equal((reply.error as { code: number }).code, ErrorCodes.InvalidParams);
});
