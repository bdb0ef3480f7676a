// The extension meeting the agent's own access check (SO_PEERCRED): the
// agent's real server refuses the connecting user, and the client reports
// the agent's reason as a `forbidden` AgentProtocolError, which the hosts
// model does not retry (retrying as the same user cannot help). (The check
// itself, as real users: test/reliability/socket-access.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentServer } from '../../host-agent/src/rpc/server';
import { AgentClient, AgentProtocolError } from '../src/core/agentClient';
import { isRetryable } from '../src/core/hostsModel';

test('a user the agent refuses: a forbidden error with the agent\'s reason, not retried', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-access-'));
  const socketPath = join(dir, 'agent.sock');
  const server = new AgentServer({
    socketPath, group: null,
    info: () => ({ agentVersion: 't', hostname: 'h', backend: 'dry-run' }),
    domains: { list: () => [] },
    store: { history: () => [], decisions: () => [], markIncident: () => 1 },
    peerCredentials: () => ({ pid: 4242, uid: 1001, gid: 1001, groups: [100] }),
  });
  await server.listen();
  try {
    const stream = connect(socketPath);
    const client = new AgentClient('h1', { clientName: 'test' });
    const e = await client.attach(stream, '/run/hefery/agent.sock on h1').then(() => null, (err: unknown) => err);
    assert.ok(e instanceof AgentProtocolError, String(e));
    assert.equal(e.kind, 'forbidden');
    assert.match(e.message, /^the agent at \/run\/hefery\/agent\.sock on h1 refused this user: access denied: uid 1001 \(gid 1001, pid 4242\) is neither root, the agent's user, nor a member of the agent's group/);
    assert.equal(isRetryable(e), false);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
