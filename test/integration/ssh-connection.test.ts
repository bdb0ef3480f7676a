// Integration: the extension's SSH layer (extension/src/core/sshConnection.ts)
// against a real OpenSSH sshd on 127.0.0.1 (test/fixtures/sshd.ts), a real
// ssh-agent, and keys made by ssh-keygen. The sshd runs with LogLevel DEBUG1,
// so its log shows whether a client ever sent an authentication request
// ("userauth-request"): host keys must be settled before that.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostKeyVerifier, type UnknownHostKey } from '../../extension/src/core/hostKeys';
import { memoryLog } from '../../extension/src/core/log';
import { SshConnection, SshError, type PassphraseSource, type SshTarget } from '../../extension/src/core/sshConnection';
import { freePort, generateUserKey, startSshd, type Sshd, type UserKey } from '../fixtures/sshd';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir = '';
let sshd: Sshd;
let good: UserKey;
let stranger: UserKey;
let locked: UserKey;
const PASSPHRASE = 'correct horse battery staple';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hefery-ssh-it-'));
  good = await generateUserKey(dir, { name: 'good' });
  stranger = await generateUserKey(dir, { name: 'stranger' });
  locked = await generateUserKey(dir, { name: 'locked', type: 'ecdsa', passphrase: PASSPHRASE });
  sshd = await startSshd({ authorizedKeys: [good.publicKeyLine, locked.publicKeyLine] });
});

after(async () => {
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function target(over: Partial<SshTarget> = {}): SshTarget {
  return { label: 'test-host', host: '127.0.0.1', port: sshd.port, username: sshd.user, identityFiles: [good.privateKeyPath], identitiesOnly: true, ...over };
}

function knownHostsFile(name: string, content = ''): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
}

/** Waits until sshd logged the end of the connection that started after `mark`. */
async function connectionLog(mark: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = sshd.logSince(mark);
    if (/Connection from 127\.0\.0\.1/.test(s) && /(Disconnected from|Connection closed by|Connection reset by) .*127\.0\.0\.1/.test(s)) return s;
    if (Date.now() > deadline) return s;
    await sleep(50);
  }
}

test('unknown host key: the prompt gets the SHA256 fingerprint; refused -> no authentication was attempted', async () => {
  const kh = knownHostsFile('kh-unknown');
  const asked: UnknownHostKey[] = [];
  const mark = sshd.logMark();
  await assert.rejects(
    SshConnection.connect({ target: target(), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh, ask: async (q) => (asked.push(q), false) }) }),
    (e: unknown) => e instanceof SshError && e.kind === 'host-key' && !e.retryable && /was not accepted/.test(e.message),
  );
  assert.deepEqual(asked, [{ host: `[127.0.0.1]:${sshd.port}`, keyType: sshd.hostKeyAlgorithm, fingerprint: sshd.fingerprint, otherTypes: [] }]);
  const log = await connectionLog(mark);
  assert.match(log, /kex: host key algorithm: ssh-ed25519/, 'the client got as far as key exchange');
  assert.doesNotMatch(log, /userauth-request|Accepted publickey|Failed publickey/, `no authentication may be attempted:\n${log}`);
  assert.equal(readFileSync(kh, 'utf8'), '', 'nothing saved');
});

test('accepted host key: saved to known_hosts (found by ssh-keygen -F), the next connection needs no prompt', async () => {
  const kh = knownHostsFile('kh-accept');
  let asked = 0;
  const verifier = new HostKeyVerifier({ files: [kh], writeTo: kh, ask: async () => (asked++, true) });
  const c1 = await SshConnection.connect({ target: target(), verifier });
  assert.equal(c1.hostKeyFingerprint, sshd.fingerprint);
  c1.close();
  assert.equal(asked, 1);
  const found = spawnSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', kh], { encoding: 'utf8' });
  assert.equal(found.status, 0, 'ssh-keygen -F finds the saved key');
  assert.ok(found.stdout.includes(sshd.knownHostsLine.split(' ').slice(1).join(' ')), found.stdout);
  // OpenSSH itself accepts the file we wrote, with strict checking.
  const out = execFileSync('ssh', ['-i', good.privateKeyPath, '-o', `UserKnownHostsFile=${kh}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, 'echo ok'], { encoding: 'utf8' });
  assert.equal(out.trim(), 'ok');
  const c2 = await SshConnection.connect({ target: target(), verifier });
  c2.close();
  assert.equal(asked, 1, 'no second prompt');
});

test('refused client key: a clear auth error naming the key and the user, not retryable', async () => {
  const kh = knownHostsFile('kh-refused', sshd.knownHostsLine + '\n');
  const mark = sshd.logMark();
  await assert.rejects(
    SshConnection.connect({ target: target({ identityFiles: [stranger.privateKeyPath] }), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) }),
    (e: unknown) => {
      assert.ok(e instanceof SshError, String(e));
      assert.equal(e.kind, 'auth');
      assert.equal(e.retryable, false);
      assert.equal(e.message, `127.0.0.1:${sshd.port}: the server refused key ${stranger.privateKeyPath} for user ${sshd.user}`);
      return true;
    },
  );
  assert.match(await connectionLog(mark), /userauth-request for user/, 'this time authentication was tried');
});

test('no usable key at all: the error says why (missing file, no agent)', async () => {
  const kh = knownHostsFile('kh-nokey', sshd.knownHostsLine + '\n');
  await assert.rejects(
    SshConnection.connect({ target: target({ identityFiles: [join(dir, 'missing-key')], identitiesOnly: false, agentSocket: undefined }), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) }),
    (e: unknown) => e instanceof SshError && e.kind === 'auth'
      && e.message.includes(`no key to log in as ${sshd.user}`) && e.message.includes('no SSH agent') && e.message.includes(`${join(dir, 'missing-key')}: no such file`),
  );
});

test('encrypted key: the passphrase comes from the source, a wrong one is forgotten and asked again', async () => {
  const kh = knownHostsFile('kh-pass', sshd.knownHostsLine + '\n');
  const calls: string[] = [];
  const answers = ['wrong', PASSPHRASE];
  const source: PassphraseSource = {
    get: async (file, retry) => (calls.push(`get ${file === locked.privateKeyPath} ${retry}`), answers.shift()),
    accepted: (file, pass) => void calls.push(`accepted ${pass === PASSPHRASE}`),
    rejected: () => void calls.push('rejected'),
  };
  const log = memoryLog();
  const c = await SshConnection.connect({ target: target({ identityFiles: [locked.privateKeyPath] }), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }), passphrases: source, log });
  c.close();
  assert.deepEqual(calls, ['get true false', 'rejected', 'get true true', 'accepted true']);
  assert.ok(log.lines.some((l) => l.includes(`offering key ${locked.privateKeyPath}`)), log.lines.join('\n'));
  assert.ok(!log.lines.some((l) => l.includes(PASSPHRASE) || l.includes('wrong')), 'no passphrase in the log');
});

test('ssh-agent auth through SSH_AUTH_SOCK (a real ssh-agent)', async () => {
  const kh = knownHostsFile('kh-agent', sshd.knownHostsLine + '\n');
  const sock = join(dir, 'agent.sock');
  const out = execFileSync('ssh-agent', ['-a', sock, '-s'], { encoding: 'utf8' });
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]);
  try {
    execFileSync('ssh-add', ['-q', good.privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    const c = await SshConnection.connect({ target: target({ identityFiles: [], identitiesOnly: false, agentSocket: sock }), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) });
    c.close();
    execFileSync('ssh-add', ['-q', '-D'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    execFileSync('ssh-add', ['-q', stranger.privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    await assert.rejects(
      SshConnection.connect({ target: target({ identityFiles: [], identitiesOnly: false, agentSocket: sock }), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) }),
      (e: unknown) => e instanceof SshError && e.kind === 'auth' && e.message.endsWith(`the server refused the SSH agent's keys for user ${sshd.user}`),
    );
  } finally {
    process.kill(pid, 'SIGTERM');
  }
});

test('stream-local forwarding reaches a Unix socket on the host; a missing socket is named', async () => {
  const kh = knownHostsFile('kh-stream', sshd.knownHostsLine + '\n');
  const path = join(dir, 'echo.sock');
  const server: Server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(path, r));
  const c = await SshConnection.connect({ target: target(), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) });
  try {
    const stream = await c.openStreamLocal(path);
    const echoed = await new Promise<string>((resolve) => {
      stream.once('data', (d: Buffer) => resolve(d.toString()));
      stream.write('ping through sshd\n');
    });
    assert.equal(echoed, 'ping through sshd\n');
    stream.end();
    const missing = join(dir, 'no-agent-here.sock');
    await assert.rejects(c.openStreamLocal(missing), (e: unknown) => e instanceof SshError && e.kind === 'no-agent-socket' && e.retryable
      && e.message === `no hefery-agent socket at ${missing} on test-host: is hefery-agent serve running there?`);
    // A socket nobody listens on: what an agent killed with -9 leaves behind.
    const stale = join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(statSync(stale).isSocket());
    await assert.rejects(c.openStreamLocal(stale), (e: unknown) => e instanceof SshError && e.kind === 'forwarding-denied'
      && e.message.startsWith(`the hefery-agent socket ${stale} on test-host exists but could not be opened through SSH: no agent listens on it (stale socket)`));
  } finally {
    c.close();
    server.close();
  }
});

test('an sshd that forbids stream-local forwarding gets a clear error', async () => {
  const strict = await startSshd({ authorizedKeys: [good.publicKeyLine], extraConfig: ['AllowStreamLocalForwarding no'] });
  const echoPath = join(dir, 'echo2.sock');
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(echoPath, r));
  try {
    const kh = knownHostsFile('kh-strict', strict.knownHostsLine + '\n');
    const c = await SshConnection.connect({ target: target({ port: strict.port }), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) });
    try {
      await assert.rejects(c.openStreamLocal(echoPath), (e: unknown) => {
        assert.ok(e instanceof SshError);
        assert.equal(e.kind, 'forwarding-denied', e.message);
        assert.match(e.message, /exists but could not be opened through SSH/);
        assert.match(e.message, /AllowStreamLocalForwarding yes/);
        return true;
      });
    } finally {
      c.close();
    }
  } finally {
    echo.close();
    await strict.stop();
  }
});

test('unreachable port and a silent server: clear, retryable errors; the setup timer stops while a prompt is open', async () => {
  const kh = knownHostsFile('kh-net', sshd.knownHostsLine + '\n');
  const closedPort = await freePort();
  await assert.rejects(
    SshConnection.connect({ target: target({ port: closedPort }), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) }),
    (e: unknown) => e instanceof SshError && e.kind === 'unreachable' && e.retryable && e.message === `cannot reach 127.0.0.1:${closedPort}: connection refused (is sshd running there?)`,
  );
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;
  try {
    const started = Date.now();
    await assert.rejects(
      SshConnection.connect({ target: target({ port: silentPort }), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }), connectTimeoutMs: 800 }),
      (e: unknown) => e instanceof SshError && e.kind === 'timeout' && e.message === `no SSH answer from 127.0.0.1:${silentPort} within 1 s`,
    );
    assert.ok(Date.now() - started < 5000);
  } finally {
    silent.close();
  }
  // A slow user: the prompt stays open longer than the setup timeout, the connection still succeeds.
  const slow = knownHostsFile('kh-slow');
  const c = await SshConnection.connect({
    target: target(),
    verifier: new HostKeyVerifier({ files: [slow], writeTo: slow, ask: async () => (await sleep(1500), true) }),
    connectTimeoutMs: 1000,
  });
  c.close();
});

test('changed host key: refused with the file and line of the old key, before authentication', async () => {
  const kh = knownHostsFile('kh-changed', `# first line\n${sshd.knownHostsLine}\n`);
  const oldFingerprint = sshd.fingerprint;
  await sshd.rotateHostKey();
  assert.notEqual(sshd.fingerprint, oldFingerprint);
  let asked = 0;
  const mark = sshd.logMark();
  await assert.rejects(
    SshConnection.connect({ target: target(), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh, ask: async () => (asked++, true) }) }),
    (e: unknown) => {
      assert.ok(e instanceof SshError);
      assert.equal(e.kind, 'host-key');
      assert.equal(e.retryable, false);
      assert.match(e.message, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.ok(e.message.includes(`${kh}:2 holds a different ssh-ed25519 key (${oldFingerprint})`), e.message);
      assert.ok(e.message.includes(sshd.fingerprint), 'names the new fingerprint');
      return true;
    },
  );
  assert.equal(asked, 0, 'a changed key is never offered for acceptance');
  const log = await connectionLog(mark);
  assert.match(log, /kex: host key algorithm/);
  assert.doesNotMatch(log, /userauth-request/, `no authentication may be attempted:\n${log}`);
});

test('a dropped connection is reported to onClose with an error', async () => {
  const kh = knownHostsFile('kh-drop', sshd.knownHostsLine + '\n');
  const c = await SshConnection.connect({ target: target(), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) });
  const closed = new Promise<SshError | undefined>((r) => c.onClose(r));
  await sshd.dropConnections();
  const err = await closed;
  assert.ok(c.isClosed);
  assert.ok(err instanceof SshError && err.kind === 'closed' && err.retryable, String(err));
  assert.match(err.message, new RegExp(`^the SSH connection to test-host \\(127\\.0\\.0\\.1:${sshd.port}\\) was lost`));
  // A deliberate close() reports no error.
  const c2 = await SshConnection.connect({ target: target(), verifier: new HostKeyVerifier({ files: [kh], writeTo: kh }) });
  const closed2 = new Promise<SshError | undefined>((r) => c2.onClose(r));
  c2.close();
  assert.equal(await closed2, undefined);
});
