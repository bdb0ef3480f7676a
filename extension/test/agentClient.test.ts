// AgentClient against the agent's real JSON-RPC server on a local Unix
// socket: hello and its version check, typed calls, subscriptions that
// survive a reconnect under stable ids, clear errors for what is not an agent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION, type NotificationParams } from '../../host-agent/src/protocol/api';
import { AgentClient, AgentProtocolError } from '../src/core/agentClient';
import { sleep, until } from './helpers/wait';
import { domainSummary, startTestAgent } from './helpers/agent';


test('hello, typed calls, and a validated result', async () => {
  const agent = await startTestAgent([domainSummary('web1'), domainSummary('db1', { state: 'paused' })]);
  const client = new AgentClient('h1', { clientName: 'test' });
  try {
    const hello = await client.attach(await agent.dial(), 'the test socket');
    assert.deepEqual(hello, { protocolVersion: PROTOCOL_VERSION, agentVersion: '0.1.0-test', hostname: 'test-host', backend: 'dry-run' });
    const list = await client.call('domains.list', {});
    assert.deepEqual(list.map((d) => [d.name, d.state]), [['web1', 'running'], ['db1', 'paused']]);
    await assert.rejects(client.call('interval.pin', { domain: 'web1', intervalMs: 100, who: 'me' }), /interval control is not available/);
  } finally {
    client.detach();
    await agent.close();
  }
});

test('an agent of another protocol version is refused with both versions named', async () => {
  const agent = await startTestAgent();
  try {
    const newer = new AgentClient('h1', { clientName: 'test', protocolVersion: PROTOCOL_VERSION + 1 });
    await assert.rejects(newer.attach(await agent.dial(), 'sock on h1'), (e: unknown) => {
      assert.ok(e instanceof AgentProtocolError);
      assert.equal(e.kind, 'incompatible');
      assert.equal(e.message, `the agent at sock on h1 speaks protocol ${PROTOCOL_VERSION}, this extension speaks protocol ${PROTOCOL_VERSION + 1}: update hefery-agent on the host`);
      return true;
    });
    const older = new AgentClient('h1', { clientName: 'test', protocolVersion: PROTOCOL_VERSION - 1 });
    await assert.rejects(older.attach(await agent.dial(), 'sock on h1'), /speaks protocol 1, this extension speaks protocol 0: update the Hefery extension/);
    await until('refused connections closed', () => agent.server.connectionCount === 0);
    assert.equal(newer.connected, false);
  } finally {
    await agent.close();
  }
});

test('something that is not an agent: a clear error, not a hang', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-notagent-'));
  const path = join(dir, 's.sock');
  // Answers every line with a JSON-RPC "method not found", like some other JSON-RPC service.
  const other = createServer((s) => s.on('data', () => s.write('{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no such method: agent.hello"}}\n')));
  await new Promise<void>((r) => other.listen(path, r));
  try {
    const client = new AgentClient('h1', { clientName: 'test' });
    const { connect } = await import('node:net');
    await assert.rejects(client.attach(connect(path), 'x.sock on h1'), (e: unknown) => e instanceof AgentProtocolError && e.kind === 'not-an-agent'
      && e.message === 'x.sock on h1 does not answer like a hefery agent: no such method: agent.hello');
  } finally {
    other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('subscriptions come back after a reconnect with the same id; unsubscribe stops them', async () => {
  const agent = await startTestAgent([domainSummary('web1'), domainSummary('web2')]);
  const client = new AgentClient('h1', { clientName: 'test' });
  const got: Array<NotificationParams<'samples.event'>> = [];
  client.on('samples.event', (p) => got.push(p));
  const lost: string[] = [];
  client.onLost((e) => lost.push(e.message));
  try {
    await client.attach(await agent.dial(), 'sock');
    const { subscription } = await client.call('samples.subscribe', { domains: ['web1'] });
    assert.equal(subscription, 'h1#1');
    agent.sample('web1', 10);
    agent.sample('web2', 99); // not subscribed
    await until('first sample', () => got.length === 1);
    assert.equal(got[0].subscription, 'h1#1');
    assert.equal(got[0].sample.cpuPct, 10);

    await agent.restart(); // the agent goes away: every connection drops
    await until('lost', () => lost.length === 1);
    assert.match(lost[0], /the connection to the agent \(sock\) closed/);
    assert.equal(client.connected, false);
    await assert.rejects(client.call('domains.list', {}), /domains.list: host h1 is not connected/);

    await client.attach(await agent.dial(), 'sock');
    assert.equal(agent.server.subscriptionCount, 1, 're-subscribed on the new connection');
    agent.sample('web1', 20);
    await until('sample after reconnect', () => got.length === 2);
    assert.equal(got[1].subscription, 'h1#1', 'the caller keeps its id');
    assert.equal(got[1].sample.cpuPct, 20);

    assert.deepEqual(await client.call('samples.unsubscribe', { subscription: subscription }), { ok: true });
    await until('agent dropped the subscription', () => agent.server.subscriptionCount === 0);
    agent.sample('web1', 30);
    await sleep(100);
    assert.equal(got.length, 2);
    assert.deepEqual(await client.call('samples.unsubscribe', { subscription: 'h1#99' }), { ok: false });
  } finally {
    client.detach();
    await agent.close();
  }
});

test('state changes reach listeners; a throwing listener does not break the others', async () => {
  const client = new AgentClient('h1', { clientName: 'test' });
  const seen: string[] = [];
  client.onDidChangeState(() => {
    throw new Error('boom');
  });
  const d = client.onDidChangeState((s) => seen.push(s));
  client.setState('connecting');
  client.setState('connecting');
  client.setState('connected');
  d.dispose();
  client.setState('reconnecting');
  assert.deepEqual(seen, ['connecting', 'connected']);
  assert.equal(client.state, 'reconnecting');
});
