// "Show Agent Log" (core/agentLog.ts) against the agent's real server and log
// ring over a socket: the first read, reads that continue, lines dropped in
// between, an agent restart, an agent without agent.log.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentClient } from '../src/core/agentClient';
import { AgentLogReader, FIRST_READ_LINES } from '../src/core/agentLog';
import { LogRing } from '../../host-agent/src/log';
import { startTestAgent } from './helpers/agent';
import { ErrorCodes } from '../../host-agent/src/protocol/api';
import { RpcFailure } from '../../host-agent/src/protocol/peer';

const line = (ts: number, msg: string) => `${new Date(ts).toISOString()} INFO  [daemon] ${msg}`;

test('reads continue where the last stopped; dropped lines and a restart are said; the first read is the newest lines', async (t) => {
  const ring = new LogRing(1000, 1 << 20);
  const agent = await startTestAgent(undefined, { logRing: ring });
  const client = new AgentClient('h1', { clientName: 'test' });
  t.after(async () => {
    client.detach();
    await agent.close();
  });
  await client.attach(await agent.dial(), 'the test socket');
  for (let i = 1; i <= FIRST_READ_LINES + 20; i++) ring.push({ ts: i * 1000, level: 'info', scope: 'daemon', message: `line ${i}` });
  const reader = new AgentLogReader('h1');

  const first = await reader.read(client);
  assert.equal(first.length, FIRST_READ_LINES);
  assert.equal(first[0], line(21_000, 'line 21'));
  assert.equal(first.at(-1), line((FIRST_READ_LINES + 20) * 1000, `line ${FIRST_READ_LINES + 20}`));
  assert.deepEqual(await reader.read(client), [], 'nothing new');
  ring.push({ ts: 9e6, level: 'warn', scope: 'sampler', message: 'counter went backwards' });
  assert.deepEqual(await reader.read(client), [`${new Date(9e6).toISOString()} WARN  [sampler] counter went backwards`]);

  for (let i = 0; i < 1500; i++) ring.push({ ts: 1e7 + i, level: 'debug', message: `burst ${i}` }); // the ring keeps 1000
  const after = await reader.read(client);
  assert.equal(after[0], "--- 500 line(s) were dropped from the agent's memory since the last read ---");
  assert.equal(after.length, 1 + 1000);

  const fresh = new LogRing();
  fresh.push({ ts: 2e7, level: 'info', scope: 'rpc', message: 'listening again' });
  await agent.restart({ logRing: fresh });
  await client.attach(await agent.dial(), 'the test socket');
  assert.deepEqual(await reader.read(client), ['--- the agent on h1 restarted since the last read; its log since then: ---', `${new Date(2e7).toISOString()} INFO  [rpc] listening again`]);
});

test('an agent that keeps no log says so; the error is clear', async (t) => {
  const agent = await startTestAgent();
  const client = new AgentClient('h1', { clientName: 'test' });
  t.after(async () => {
    client.detach();
    await agent.close();
  });
  await client.attach(await agent.dial(), 'the test socket');
  await assert.rejects(new AgentLogReader('h1').read(client), /keeps no log in memory/);
});

test('an agent older than agent.log: the user is told where the log is instead', async () => {
  // A stand-in for such an agent's answer (every current agent has the method): JSON-RPC "method not found".
  const older = { hostId: 'h1', state: 'connected' as const, call: async () => { throw new RpcFailure(ErrorCodes.MethodNotFound, 'no such method: agent.log'); }, on: () => ({ dispose() {} }), onDidChangeState: () => ({ dispose() {} }) };
  await assert.rejects(new AgentLogReader('h1').read(older), /the agent on h1 is older than this extension and cannot send its log; read it on the host/);
});
