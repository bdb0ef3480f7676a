// The agent's own peer check: the rules (root, the agent's user, the
// socket's group as primary or supplementary group), the real SO_PEERCRED
// reader of the native addon on a real socket, and the server refusing a
// peer the reader says is someone else. (As real other users over a real
// agent: test/reliability/socket-access.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../../src/libvirt';
import { ErrorCodes } from '../../src/protocol/api';
import { refusal, socketFd, type PeerCredentials } from '../../src/rpc/peer-access';
import { AgentServer } from '../../src/rpc/server';
import { Store } from '../../src/store';
import { ndjsonReader } from '../helpers/ndjson';

const peer = (uid: number, gid: number, groups: number[] | null = []): PeerCredentials => ({ pid: process.pid, uid, gid, groups });

test('rules: root, the agent\'s user, the group as primary or supplementary group; anyone else is refused with a reason', () => {
  assert.equal(refusal(peer(0, 0), 4242, 999, 'group hefery'), null);
  assert.equal(refusal(peer(999, 5), 4242, 999, 'group hefery'), null);
  assert.equal(refusal(peer(1001, 4242), 4242, 0, 'group hefery'), null);
  assert.equal(refusal(peer(1001, 1001, [27, 4242]), 4242, 0, 'group hefery'), null);
  assert.equal(refusal(peer(1002, 1002, [27]), 4242, 0, 'group hefery'), `uid 1002 (gid 1002, pid ${process.pid}) is neither root, the agent's user, nor a member of group hefery (gid 4242)`);
  // Without SO_PEERGROUPS the groups come from /proc/PID/status (this process: root's groups, not 4242).
  assert.match(refusal(peer(1003, 1003, null), 4242, 0, 'group hefery') ?? '', /^uid 1003 /);
});

test('the addon reads the real peer of a Unix socket: this process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-peercred-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const read = loadAddon().peerCredentials;
  assert.ok(read, 'the addon has peerCredentials (npm run build:native)');
  const got = await new Promise<PeerCredentials>((resolve, reject) => {
    const srv = createServer((s) => {
      try {
        const fd = socketFd(s);
        assert.ok(fd !== null, 'Node exposes the accepted socket fd');
        resolve(read(fd));
      } catch (e) {
        reject(e as Error);
      } finally {
        s.destroy();
        srv.close();
      }
    });
    srv.listen(join(dir, 's.sock'), () => connect(join(dir, 's.sock')).on('error', () => undefined));
  });
  assert.deepEqual({ pid: got.pid, uid: got.uid, gid: got.gid }, { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  assert.ok(Array.isArray(got.groups));
  const fileFd = openSync(join(dir, 'plain'), 'w');
  t.after(() => closeSync(fileFd));
  assert.throws(() => read(fileFd), new RegExp(`SO_PEERCRED on fd ${fileFd}: Socket operation on non-socket`));
});

test('the server refuses a peer that is not allowed: one Forbidden error line, then the connection closes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-peercred-'));
  const store = Store.open({ path: ':memory:' });
  const server = new AgentServer({
    socketPath: join(dir, 'agent.sock'), group: null, store,
    info: () => ({ agentVersion: 't', hostname: 'h', backend: 'dry-run' }), domains: { list: () => [] },
    peerCredentials: () => peer(31337, 31337, []),
  });
  t.after(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await server.listen();
  const s = connect(join(dir, 'agent.sock'));
  const reply = await ndjsonReader(s).next();
  assert.deepEqual(reply.id, null);
  const error = reply.error as { code: number; message: string };
  assert.equal(error.code, ErrorCodes.Forbidden);
  assert.match(error.message, /^access denied: uid 31337 \(gid 31337, pid \d+\) is neither root, the agent's user, nor a member of the agent's group/);
  await new Promise((r) => s.once('close', r));
  assert.equal(server.connectionCount, 0);
});
