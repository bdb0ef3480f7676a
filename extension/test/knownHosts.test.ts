// known_hosts parsing, lookup, hashing and appending, and host key
// verification, checked against OpenSSH's own tools run in the test:
// `ssh-keygen -lf` (fingerprints), `ssh-keygen -H` (hashing a file),
// `ssh-keygen -F` (lookup, also of the entries we append).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendKnownHost, hashName, hostsFieldMatches, KnownHosts, knownHostsName } from '../src/core/knownHosts';
import { checkHostKey, fingerprintSha256, HostKeyError, HostKeyVerifier, orderHostKeyAlgorithms, type UnknownHostKey } from '../src/core/hostKeys';

interface Key {
  type: string;
  blob: Buffer;
  b64: string;
  pubPath: string;
}

function genKey(dir: string, name: string, args: string[]): Key {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-N', '', '-C', name, '-f', path, ...args]);
  const [type, b64] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/);
  return { type, b64, blob: Buffer.from(b64, 'base64'), pubPath: `${path}.pub` };
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-knownhosts-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Line numbers `ssh-keygen -F name -f file` reports. */
function keygenFind(file: string, name: string): number[] {
  const r = spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
}

test('SHA256 fingerprints equal `ssh-keygen -lf` for ed25519, ecdsa and rsa keys', () => {
  withDir((dir) => {
    for (const [name, args] of [['ed', ['-t', 'ed25519']], ['ec256', ['-t', 'ecdsa', '-b', '256']], ['ec384', ['-t', 'ecdsa', '-b', '384']], ['rsa', ['-t', 'rsa', '-b', '2048']]] as const) {
      const k = genKey(dir, name, [...args]);
      const printed = execFileSync('ssh-keygen', ['-lf', k.pubPath], { encoding: 'utf8' }).split(/\s+/)[1];
      assert.match(printed, /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.equal(fingerprintSha256(k.blob), printed, name);
    }
  });
});

test('lookup agrees with `ssh-keygen -F` on plain and on `ssh-keygen -H`-hashed files', () => {
  withDir((dir) => {
    const k1 = genKey(dir, 'k1', ['-t', 'ed25519']);
    const k2 = genKey(dir, 'k2', ['-t', 'ed25519']);
    const k3 = genKey(dir, 'k3', ['-t', 'ecdsa']);
    const k4 = genKey(dir, 'k4', ['-t', 'rsa', '-b', '2048']);
    const plain = join(dir, 'known_hosts');
    writeFileSync(plain, [
      '# a comment',
      `hosta ${k1.type} ${k1.b64} first`,
      '',
      `[hostb]:2222,10.0.0.2 ${k2.type} ${k2.b64}`,
      `HostC ${k3.type} ${k3.b64}`,
      `@revoked revokedhost ${k4.type} ${k4.b64}`,
      `hostd,hoste ${k1.type} ${k1.b64}`,
    ].join('\n') + '\n');
    const hashed = join(dir, 'known_hosts.hashed');
    copyFileSync(plain, hashed);
    writeFileSync(plain, 'garbage-without-key\n', { flag: 'a' }); // ssh-keygen -H refuses files with bad lines
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'ignore' });
    const hashedText = readFileSync(hashed, 'utf8');
    assert.match(hashedText, /^\|1\|/m, 'ssh-keygen -H hashed the names');
    assert.doesNotMatch(hashedText, /hosta|hostb|10\.0\.0\.2/, 'no clear names left');
    const names: Array<[string, number]> = [['hosta', 22], ['hostb', 2222], ['hostb', 22], ['10.0.0.2', 22], ['hostc', 22], ['HOSTA', 22], ['revokedhost', 22], ['hoste', 22], ['nobody', 22]];
    for (const file of [plain, hashed]) {
      const kh = KnownHosts.load([file]);
      for (const [host, port] of names) {
        const ours = kh.lookup(host, port).map((e) => e.line);
        assert.deepEqual(ours, keygenFind(file, knownHostsName(host, port)), `${file} ${host}:${port}`);
      }
      assert.equal(kh.lookup('hosta', 22).length, 1, 'the lookup itself found something');
    }
    const kh = KnownHosts.load([plain]);
    assert.deepEqual(kh.problems, [`${plain}:8: expected "hosts keytype key", got "garbage-without-key"`]);
    assert.equal(checkHostKey(kh, 'hosta', 22, k1.blob).status, 'known');
    assert.equal(checkHostKey(kh, 'hostb', 2222, k2.blob).status, 'known');
    assert.equal(checkHostKey(kh, 'hostb', 22, k2.blob).status, 'unknown', 'a different port is a different host');
    const changed = checkHostKey(kh, 'hosta', 22, k2.blob);
    assert.equal(changed.status, 'changed');
    assert.equal(changed.status === 'changed' && changed.entry.line, 2);
    const other = checkHostKey(kh, 'hosta', 22, k3.blob);
    assert.deepEqual(other, { status: 'unknown', otherTypes: ['ssh-ed25519'] }, 'another key type is new, not changed');
    assert.equal(checkHostKey(kh, 'revokedhost', 22, k4.blob).status, 'revoked');
    assert.equal(checkHostKey(KnownHosts.load([hashed]), 'hostb', 2222, k1.blob).status, 'changed');
  });
});

test('patterns: wildcards, negation, [host]:port, @cert-authority lines never vouch for a plain key', () => {
  withDir((dir) => {
    const k = genKey(dir, 'k', ['-t', 'ed25519']);
    const ca = genKey(dir, 'ca', ['-t', 'ed25519']);
    const file = join(dir, 'kh');
    writeFileSync(file, [
      `*.example.org,!bad.example.org ${k.type} ${k.b64}`,
      `[*.lab]:2200 ${k.type} ${k.b64}`,
      `@cert-authority *.corp ${ca.type} ${ca.b64}`,
    ].join('\n'));
    const kh = KnownHosts.load([file]);
    assert.equal(checkHostKey(kh, 'www.example.org', 22, k.blob).status, 'known');
    assert.equal(checkHostKey(kh, 'bad.example.org', 22, k.blob).status, 'unknown');
    assert.equal(checkHostKey(kh, 'x.lab', 2200, k.blob).status, 'known');
    assert.equal(checkHostKey(kh, 'x.lab', 22, k.blob).status, 'unknown');
    assert.deepEqual(checkHostKey(kh, 'a.corp', 22, ca.blob), { status: 'unknown', otherTypes: [] });
    for (const name of ['www.example.org', 'bad.example.org', '[x.lab]:2200', 'a.corp']) {
      assert.deepEqual(kh.lookup(...hostPort(name)).map((e) => e.line), keygenFind(file, name), name);
    }
    assert.ok(hostsFieldMatches(hashName('[h]:1'), '[h]:1'));
    assert.ok(!hostsFieldMatches(hashName('[h]:1'), 'h'));
  });
});

function hostPort(name: string): [string, number] {
  const m = /^\[(.*)\]:(\d+)$/.exec(name);
  return m ? [m[1], Number(m[2])] : [name, 22];
}

test('appended entries are hashed, found by `ssh-keygen -F`, 0600 in a new 0700 directory; a missing final newline is mended', () => {
  withDir((dir) => {
    const k = genKey(dir, 'k', ['-t', 'ed25519']);
    const file = join(dir, 'new-ssh-dir', 'known_hosts');
    const line = appendKnownHost(file, '127.0.0.1', 2222, k.blob);
    assert.match(line, /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /);
    assert.equal(statSync(join(dir, 'new-ssh-dir')).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(keygenFind(file, '[127.0.0.1]:2222'), [1]);
    assert.deepEqual(keygenFind(file, '127.0.0.1'), []);
    const noNl = join(dir, 'kh2');
    writeFileSync(noNl, `other ${k.type} ${k.b64}`);
    appendKnownHost(noNl, 'Host.Example', 22, k.blob, { hash: false });
    assert.equal(readFileSync(noNl, 'utf8'), `other ${k.type} ${k.b64}\nhost.example ${k.type} ${k.b64}\n`);
    assert.deepEqual(keygenFind(noNl, 'host.example'), [2]);
  });
});

test('verifier: unknown asks with the fingerprint and saves only on commit; refusal, changed, revoked, no prompt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-verifier-'));
  try {
    const k1 = genKey(dir, 'k1', ['-t', 'ed25519']);
    const k2 = genKey(dir, 'k2', ['-t', 'ed25519']);
    const file = join(dir, 'known_hosts');
    const asked: UnknownHostKey[] = [];
    let answer = false;
    const v = new HostKeyVerifier({ files: [file], writeTo: file, ask: async (q) => (asked.push(q), answer) });

    await assert.rejects(v.verify('127.0.0.1', 2222, k1.blob), (e: unknown) => e instanceof HostKeyError && e.reason === 'rejected' && /was not accepted/.test(e.message));
    assert.deepEqual(asked, [{ host: '[127.0.0.1]:2222', keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(k1.blob), otherTypes: [] }]);

    answer = true;
    const ok = await v.verify('127.0.0.1', 2222, k1.blob);
    assert.equal(ok.fingerprint, fingerprintSha256(k1.blob));
    assert.deepEqual(keygenFind(file, '[127.0.0.1]:2222'), [], 'nothing saved before commit');
    ok.commit();
    ok.commit();
    assert.deepEqual(keygenFind(file, '[127.0.0.1]:2222'), [1], 'saved once');

    asked.length = 0;
    await v.verify('127.0.0.1', 2222, k1.blob);
    assert.equal(asked.length, 0, 'a known key needs no prompt');
    assert.deepEqual(v.knownTypes('127.0.0.1', 2222), ['ssh-ed25519']);

    await assert.rejects(v.verify('127.0.0.1', 2222, k2.blob), (e: unknown) => {
      assert.ok(e instanceof HostKeyError && e.reason === 'changed');
      assert.match(e.message, /REMOTE HOST IDENTIFICATION HAS CHANGED for \[127\.0\.0\.1\]:2222/);
      assert.ok(e.message.includes(`${file}:1 holds a different ssh-ed25519 key (${fingerprintSha256(k1.blob)})`), e.message);
      assert.ok(e.message.includes(fingerprintSha256(k2.blob)));
      assert.ok(e.message.includes(`ssh-keygen -f "${file}" -R "[127.0.0.1]:2222"`));
      return true;
    });
    assert.equal(asked.length, 0, 'a changed key is never offered for acceptance');

    writeFileSync(file, `@revoked * ${k2.type} ${k2.b64}\n`, { flag: 'a' });
    await assert.rejects(v.verify('elsewhere', 22, k2.blob), (e: unknown) => e instanceof HostKeyError && e.reason === 'revoked' && e.message.includes(`${file}:2`));

    const silent = new HostKeyVerifier({ files: [file], writeTo: file });
    await assert.rejects(silent.verify('newhost', 22, k1.blob), (e: unknown) => e instanceof HostKeyError && e.reason === 'unknown' && e.message.includes(fingerprintSha256(k1.blob)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('host key algorithms: known types first, then the rest in ssh2 order', () => {
  assert.deepEqual(orderHostKeyAlgorithms([]).slice(0, 2), ['ssh-ed25519', 'ecdsa-sha2-nistp256']);
  assert.deepEqual(orderHostKeyAlgorithms(['ssh-rsa']).slice(0, 4), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
  assert.equal(orderHostKeyAlgorithms(['ecdsa-sha2-nistp384'])[0], 'ecdsa-sha2-nistp384');
  assert.equal(new Set(orderHostKeyAlgorithms(['ssh-ed25519', 'ssh-rsa'])).size, 7);
});
