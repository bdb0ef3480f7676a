// SshConfig against OpenSSH itself: every resolution below is compared with
// what `ssh -G -F FILE ALIAS` prints for the same file (hostname, port, user,
// identityfile, identitiesonly). Token expansion, which `ssh -G` leaves
// unexpanded, is checked against values written out by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { SshConfig, splitArgs, splitLine, hostLineMatches, type LocalContext } from '../src/core/sshConfig';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hefery-sshconfig-'));
}

const me = userInfo();
const local = (home: string, env: Record<string, string> = {}): LocalContext => ({
  home, user: me.username, uid: me.uid, hostname: 'work.example.net', env,
});

/** The fields we care about from `ssh -G`; identityfile in order. */
function sshG(file: string, alias: string): { hostname: string; port: number; user: string; identityfile: string[]; identitiesonly: boolean } {
  const out = execFileSync('ssh', ['-G', '-F', file, alias], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const r = { hostname: '', port: 0, user: '', identityfile: [] as string[], identitiesonly: false };
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    const k = line.slice(0, sp);
    const v = line.slice(sp + 1);
    if (k === 'hostname') r.hostname = v;
    else if (k === 'port') r.port = Number(v);
    else if (k === 'user') r.user = v;
    else if (k === 'identityfile') r.identityfile.push(v);
    else if (k === 'identitiesonly') r.identitiesonly = v === 'yes';
  }
  return r;
}

test('resolution matches `ssh -G` for patterns, negation, first-wins, defaults, =, quotes and Include', () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', '10-db.conf'), 'Host db1 db2\n  HostName 10.0.0.%h\n  User dba\n');
    writeFileSync(join(dir, 'conf.d', '20-more.conf'), 'Host db2\n  Port 2202\n  IdentityFile /keys/db2\n');
    writeFileSync(join(dir, 'conf.d', 'skip.txt'), 'Host skipped\n  Port 1\n');
    writeFileSync(join(dir, 'only-web.conf'), 'Port 8022\nIdentityFile /keys/included-for-web\n');
    const file = join(dir, 'config');
    writeFileSync(file, [
      '# defaults before the first Host apply to everyone',
      'IdentityFile /keys/first',
      '',
      'Include ' + join(dir, 'conf.d', '*.conf'),
      'Host web* !web-legacy',
      '  HostName=web.internal   # trailing comment',
      '  Port = 2222',
      '  IdentitiesOnly yes',
      '  IdentityFile "/keys/with space"',
      '  Include ' + join(dir, 'only-web.conf'),
      'Host web-legacy',
      '  User legacy',
      'Host web1',
      '  Port 9999',
      '  User webuser',
      'Match host nomatch-ever',
      '  User from-match',
      'Host *',
      '  User fallback',
      '  IdentityFile /keys/last',
      '  Port 2000',
    ].join('\n'));
    const cfg = SshConfig.load(file, dir);
    assert.deepEqual(cfg.problems, []);
    for (const alias of ['web1', 'web-legacy', 'db1', 'db2', 'other', 'WEB2', 'Db1']) {
      const ours = cfg.resolve(alias, local(dir));
      const theirs = sshG(file, alias);
      assert.equal(ours.hostName, theirs.hostname, `${alias}: hostname`);
      assert.equal(ours.port, theirs.port, `${alias}: port`);
      assert.equal(ours.user, theirs.user, `${alias}: user`);
      assert.deepEqual(ours.identityFiles, theirs.identityfile, `${alias}: identityfile`);
      assert.equal(ours.identitiesOnly, theirs.identitiesonly, `${alias}: identitiesonly`);
    }
    // The figures themselves, so the comparison cannot pass by both being empty.
    const web1 = cfg.resolve('web1', local(dir));
    assert.equal(web1.hostName, 'web.internal');
    assert.equal(web1.port, 2222);
    assert.equal(web1.user, 'webuser');
    assert.deepEqual(web1.identityFiles, ['/keys/first', '/keys/with space', '/keys/included-for-web', '/keys/last']);
    assert.equal(cfg.resolve('db1', local(dir)).hostName, '10.0.0.db1');
    assert.equal(cfg.resolve('web-legacy', local(dir)).port, 2000);
    assert.ok(web1.notes.some((n) => /:16: Match blocks are not evaluated/.test(n)), web1.notes.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listed hosts: named patterns only, in order, from included files too; wildcard and negated ones are defaults', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'inc.conf'), 'Host included-host\n  Port 1\n');
    const cfg = SshConfig.parse([
      'Host alpha beta* !gamma',
      'Host *.example.org',
      'Host Alpha delta',
      `Include ${join(dir, 'inc.conf')}`,
      'Host *',
    ].join('\n'), join(dir, 'config'), dir);
    assert.deepEqual(cfg.hosts().map((h) => h.alias), ['alpha', 'Alpha', 'delta', 'included-host']);
    assert.deepEqual(cfg.hosts()[2].at, { file: join(dir, 'config'), line: 3 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('relative Include lives in ~/.ssh; an Include inside an inactive block applies to nothing', () => {
  const home = tempDir();
  try {
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'extra'), 'User from-extra\nHost other\n  Port 7\n');
    const cfg = SshConfig.parse('Host a\n  Include extra\nHost *\n  User default\n', join(home, '.ssh', 'config'), home);
    assert.equal(cfg.resolve('a', local(home)).user, 'from-extra');
    const b = cfg.resolve('b', local(home));
    assert.equal(b.user, 'default', 'the include under Host a must not apply to b');
    // NEVERMATCH: a Host line inside an include under an inactive block does not activate.
    assert.equal(cfg.resolve('other', local(home)).port, 22);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('IdentityFile tokens, ~ and ${ENV} expand as OpenSSH defines them; an unknown token is a note naming the line', () => {
  const home = '/home/tester';
  const cfg = SshConfig.parse([
    'Host box',
    '  HostName box.example.com',
    '  User remote',
    '  Port 2200',
    '  IdentityFile ~/.ssh/id_%r@%h:%p',
    '  IdentityFile %d/keys/%u-%n-%%',
    '  IdentityFile ${KEYDIR}/k-%l-%L',
    '  IdentityFile /bad/%x',
    '  IdentityFile ${NOT_SET_ANYWHERE}/k',
  ].join('\n'), '/cfg', home);
  const r = cfg.resolve('box', local(home, { KEYDIR: '/srv/keys' }));
  assert.deepEqual(r.identityFiles, [
    '/home/tester/.ssh/id_remote@box.example.com:2200',
    `/home/tester/keys/${me.username}-box-%`,
    '/srv/keys/k-work.example.net-work',
  ]);
  assert.ok(r.notes.includes('/cfg:8: IdentityFile: "/bad/%x": unknown token %x'), r.notes.join('\n'));
  assert.ok(r.notes.includes('/cfg:9: IdentityFile: "${NOT_SET_ANYWHERE}/k": environment variable NOT_SET_ANYWHERE is not set'), r.notes.join('\n'));
});

test('presets (settings) win over the file, like ssh command-line options', () => {
  const cfg = SshConfig.parse('Host h\n  HostName real\n  Port 2\n  User u\n  IdentityFile /f\n', '/cfg', '/home/x');
  const r = cfg.resolve('h', local('/home/x'), { port: 3, user: 'v', identityFiles: ['/pre'] });
  assert.equal(r.hostName, 'real');
  assert.equal(r.port, 3);
  assert.equal(r.user, 'v');
  assert.deepEqual(r.identityFiles, ['/pre', '/f']);
});

test('bad lines are reported with file:line and skipped; the rest still applies', () => {
  const cfg = SshConfig.parse('Host h\n  Port "2222\n  = nothing\n  User ok\n  Port 70000\n  ProxyJump bastion\n', '/cfg', '/home/x');
  assert.deepEqual(cfg.problems, ['/cfg:2: unterminated " quote', '/cfg:3: cannot read "= nothing": expected "Keyword value"']);
  const r = cfg.resolve('h', local('/home/x'));
  assert.equal(r.user, 'ok');
  assert.equal(r.port, 22);
  assert.ok(r.notes.includes('/cfg:5: Port: expected 1..65535, got "70000"; using 22'));
  assert.deepEqual(r.unsupported, ['ProxyJump (/cfg:6)']);
});

test('a missing config file is an empty config; Include of a missing glob is nothing', () => {
  const cfg = SshConfig.load('/nonexistent/hefery/config', '/nonexistent');
  assert.deepEqual(cfg.hosts(), []);
  assert.deepEqual(cfg.problems, []);
  const r = cfg.resolve('x', local('/nonexistent'));
  assert.equal(r.hostName, 'x');
  assert.equal(r.port, 22);
  assert.equal(r.user, me.username);
});

test('line splitting: keyword=value, quotes, escapes, comments', () => {
  assert.deepEqual(splitLine('  Port=22'), { keyword: 'port', args: ['22'] });
  assert.deepEqual(splitLine('IdentityFile = "a b" c\\ d \'e"f\' # x'), { keyword: 'identityfile', args: ['a b', 'c d', 'e"f'] });
  assert.equal(splitLine('   # only a comment'), null);
  assert.equal(splitLine(''), null);
  assert.deepEqual(splitArgs('a\\"b'), ['a"b']);
  assert.ok(hostLineMatches(['*.org', '!bad.org'], 'good.org'));
  assert.ok(!hostLineMatches(['*.org', '!bad.org'], 'bad.org'));
  assert.ok(!hostLineMatches(['web*'], 'WEB1'), 'Host patterns are case-sensitive, as in ssh');
  assert.ok(!hostLineMatches(['!x'], 'y'), 'a line of negations alone matches nothing');
  assert.ok(hostLineMatches(['h?st'], 'host'));
});
