// Security: a key passphrase typed into the extension never reaches its
// settings or any log. Real components end to end: an encrypted ed25519 key
// (ssh-keygen, random passphrase), OpenSSH's sshd on loopback, the agent
// (libvirt test driver), the packaged extension in code-server driven by
// Chromium. The user connects, accepts the unknown host key, types the
// passphrase into VS Code's password box; once the host's domain shows, the
// window reloads and the host is connected again (the passphrase then comes
// from the secret storage, no prompt). Then the test reads every file of
// code-server's settings and logs, the extension's log channel, the server's
// and the agent's output, and sshd's log: the passphrase is in none of them
// (and the log channel is in what was read).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCodeServer, type CodeServer } from '../e2e/codeServer';
import { missingPrerequisite } from '../e2e/env';
import { CMD, connectAcceptingHostKey } from '../e2e/flows';
import { packageExtension } from '../e2e/vsix';
import { Workbench } from '../e2e/workbench';
import { generateUserKey, startSshd, type Sshd } from '../fixtures/sshd';
import { startAgent, type Agent } from './lib/agent';
import { agentConfig } from './lib/rig';

const skip = missingPrerequisite() ?? false;
const HOST = 'secret-host';
const PASSPHRASE = `pp-${randomBytes(12).toString('hex')}`;

let dir = '';
let agent: Agent | undefined;
let sshd: Sshd | undefined;
let codeServer: CodeServer | undefined;
let wb: Workbench | undefined;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'hefery-rel-secrets-'));
  agent = startAgent(agentConfig({ libvirt: { uri: 'test:///default' }, sampling: { intervalMs: 1000 } }), dir, join(dir, 'agent.sock'));
  const vsix = join(dir, 'hefery.vsix');
  const [key] = await Promise.all([generateUserKey(dir, { name: 'id_locked', passphrase: PASSPHRASE }), packageExtension(vsix), agent.ready()]);
  sshd = await startSshd({ authorizedKeys: [key.publicKeyLine] });
  writeFileSync(join(dir, 'known_hosts'), '', { mode: 0o600 });
  writeFileSync(join(dir, 'ssh_config'), '', { mode: 0o600 });
  codeServer = await startCodeServer({
    vsix: [vsix],
    settings: {
      'hefery.hosts': [{ name: HOST, host: sshd.host, port: sshd.port, username: sshd.user, identityFile: key.privateKeyPath, socketPath: join(dir, 'agent.sock') }],
      'hefery.knownHostsPath': join(dir, 'known_hosts'),
      'hefery.sshConfigPath': join(dir, 'ssh_config'),
      'hefery.readSshConfig': false,
    },
  });
  wb = await Workbench.open(codeServer.url);
}, { timeout: 600_000 });

after(async () => {
  await wb?.close();
  await codeServer?.stop();
  await sshd?.stop();
  await agent?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, { timeout: 120_000 });

function filesUnder(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root)) {
    const p = join(root, e);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

test('a passphrase typed into the extension is in neither its settings nor any log', { skip, timeout: 600_000 }, async () => {
  const w = wb!;
  let stage = 'first connection';
  try {
    await connectAcceptingHostKey(w, HOST);
    await w.answerQuickInput({ title: /Passphrase for .*id_locked/, type: PASSPHRASE, timeoutMs: 60_000 });
    await w.treeItem('test').waitFor({ timeout: 90_000 });
    // Again after a reload: from the secret storage now, without a prompt.
    stage = 'reload';
    await w.runCommand(CMD.reload);
    await w.page.locator('.part.statusbar').waitFor({ timeout: 90_000 });
    await w.openViewContainer('Hefery');
    await w.treeItem(HOST).waitFor({ timeout: 90_000 });
    stage = 'connection after the reload';
    if (!(await w.treeItem('test').isVisible())) {
      await w.runCommand(CMD.connect);
      await w.answerQuickInput({ pick: HOST, timeoutMs: 10_000 }).catch(() => undefined);
    }
    await w.treeItem('test').waitFor({ timeout: 90_000 });
    assert.equal(await w.page.locator('.quick-input-widget .quick-input-title', { hasText: /Passphrase/ }).isVisible(), false, 'no second prompt');
  } catch (e) {
    const shot = await w.screenshot(`secrets-failed-${stage.replace(/\W+/g, '-')}`).catch(() => '(no screenshot)');
    throw new Error(`${stage}: ${(e as Error).message} (screenshot ${shot})`);
  }

  const cs = codeServer!;
  const settings = join(cs.userDataDir, 'User', 'settings.json');
  const logs = filesUnder(join(cs.userDataDir, 'logs'));
  const channel = logs.filter((f) => /Hefery/.test(f) || readFileSync(f, 'utf8').includes(`${HOST}: agent `));
  assert.ok(channel.length > 0, `the extension's log channel is among the files read:\n${logs.join('\n')}`);
  assert.match(readFileSync(channel[0], 'utf8'), new RegExp(`${HOST}: agent \\S+ on `), 'the log shows the connection');
  const read: Array<[string, string]> = [
    ['settings.json', readFileSync(settings, 'utf8')],
    ...logs.map((f): [string, string] => [f, readFileSync(f, 'latin1')]),
    ['code-server output', cs.log()],
    ['agent output', agent!.log()],
    ['sshd log', sshd!.log()],
  ];
  const leaks = read.filter(([, text]) => text.includes(PASSPHRASE)).map(([name]) => name);
  assert.deepEqual(leaks, [], 'the passphrase leaked');
  // Where it is: the secret storage (informational).
  const all = filesUnder(cs.dir).filter((f) => !logs.includes(f) && f !== settings);
  const holders = all.filter((f) => statSync(f).size < 64 << 20 && readFileSync(f, 'latin1').includes(PASSPHRASE));
  console.log(`# ${read.length} settings/log sources read (${channel.length} of them the Hefery channel): no passphrase. Files elsewhere holding it in clear: ${holders.length ? holders.map((f) => f.slice(cs.dir.length)).join(', ') : 'none'}`);
});
