// Security: who may use the agent's API. The test creates a group and two
// users (one in the group, one not), starts the real agent with that group
// for its socket, and connects as each user (setpriv: real uid, gid and
// supplementary groups of that user).
//   - The socket is 0660, group = the configured group, in a 0750 directory
//     of that group: the non-member gets EACCES from the kernel, the member
//     is served.
//   - Defence in depth: with the file mode loosened by mistake (0666, 0755
//     directory) the kernel lets the non-member in, and the agent itself
//     refuses it (SO_PEERCRED / SO_PEERGROUPS through the native addon) with
//     a Forbidden error naming the uid and the group; the member is still
//     served; the refusal is in the agent's log.
// libvirt: the test driver (test:///default), no guest needed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, PROTOCOL_VERSION } from '../../host-agent/src/protocol/api';
import { run } from '../fixtures/libvirt';
import { uniqueId } from '../fixtures/netns';
import { startAgent, type Agent } from './lib/agent';
import { agentConfig } from './lib/rig';

const tools = ['/usr/sbin/groupadd', '/usr/sbin/useradd', '/usr/sbin/userdel', '/usr/sbin/groupdel', '/usr/bin/setpriv'];
const skip = process.getuid?.() !== 0 ? 'needs root (creates a group and users)' : tools.find((t) => !existsSync(t)) ? `missing ${tools.find((t) => !existsSync(t))}` : false;

const id = uniqueId();
const GROUP = `hfrt${id}`;
const MEMBER = `hfrtin${id}`;
const OTHER = `hfrtout${id}`;
let dir = '';
let sock = '';
let agent: Agent | undefined;
const created: Array<[string, string]> = [];

before(async () => {
  if (skip) return;
  await run('groupadd', [GROUP]);
  created.push(['groupdel', GROUP]);
  await run('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--groups', GROUP, MEMBER]);
  created.push(['userdel', MEMBER]);
  await run('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', OTHER]);
  created.push(['userdel', OTHER]);
  dir = mkdtempSync(join(tmpdir(), 'hefery-rel-sock-'));
  chmodSync(dir, 0o711); // others may pass through to the socket's own directory
  sock = join(dir, 'run', 'agent.sock');
  agent = startAgent(agentConfig({ libvirt: { uri: 'test:///default' }, socket: { path: '${HEFERY_RUN_DIR}/run/agent.sock', group: GROUP }, sampling: { intervalMs: 1000 } }), dir, sock);
  await agent.ready();
});

after(async () => {
  await agent?.stop();
  for (const [cmd, name] of created.reverse()) await run(cmd, [name]).catch((e: Error) => console.log(`# ${cmd} ${name}: ${e.message}`));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Connects to the socket as `user` and sends agent.hello: what happened, as one JSON line. */
function helloAs(user: string): Promise<{ connectError?: string; reply?: { result?: { protocolVersion: number }; error?: { code: number; message: string } } }> {
  const script = `
    const s = require('net').connect(process.argv[1]);
    s.on('error', (e) => { console.log(JSON.stringify({ connectError: e.code })); process.exit(0); });
    s.on('connect', () => s.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'agent.hello', params: { protocolVersion: ${PROTOCOL_VERSION}, client: 'socket-access-test' } }) + '\\n'));
    let buf = '';
    s.on('data', (c) => { buf += c; const i = buf.indexOf('\\n'); if (i >= 0) { console.log(JSON.stringify({ reply: JSON.parse(buf.slice(0, i)) })); process.exit(0); } });
    s.on('end', () => { console.log(JSON.stringify({ connectError: 'closed without a reply' })); process.exit(0); });`;
  return new Promise((resolve, reject) => {
    execFile('setpriv', ['--reuid', user, '--regid', user, '--init-groups', process.execPath, '-e', script, sock], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

test('the socket is 0660 in a 0750 directory of the configured group: a non-member gets EACCES, a member is served', { skip }, async () => {
  const gid = Number((await run('getent', ['group', GROUP])).stdout.split(':')[2]);
  const st = statSync(sock);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.gid, gid);
  const dst = statSync(join(dir, 'run'));
  assert.equal(dst.mode & 0o777, 0o750);
  assert.equal(dst.gid, gid);
  assert.deepEqual(await helloAs(OTHER), { connectError: 'EACCES' });
  const member = await helloAs(MEMBER);
  assert.equal(member.reply?.result?.protocolVersion, PROTOCOL_VERSION, JSON.stringify(member));
});

test('with the file mode loosened by mistake the agent itself refuses a non-member (SO_PEERCRED), and still serves a member', { skip }, async () => {
  assert.match(agent!.log(), /peer credentials checked: root, this user and the group only/, agent!.tail());
  chmodSync(join(dir, 'run'), 0o755);
  chmodSync(sock, 0o666);
  try {
    const other = await helloAs(OTHER);
    const uid = Number((await run('id', ['-u', OTHER])).stdout.trim());
    assert.equal(other.reply?.error?.code, ErrorCodes.Forbidden, JSON.stringify(other));
    assert.match(other.reply!.error!.message, new RegExp(`^access denied: uid ${uid} \\(gid \\d+, pid \\d+\\) is neither root, the agent's user, nor a member of group ${GROUP} \\(gid \\d+\\)$`));
    assert.equal(other.reply?.result, undefined);
    const member = await helloAs(MEMBER);
    assert.equal(member.reply?.result?.protocolVersion, PROTOCOL_VERSION, JSON.stringify(member));
    assert.match(agent!.log(), new RegExp(`WARN  \\[rpc\\] refusing a connection: uid ${uid} `));
  } finally {
    chmodSync(sock, 0o660);
    chmodSync(join(dir, 'run'), 0o750);
  }
});
