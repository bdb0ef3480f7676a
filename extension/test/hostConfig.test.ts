// The host list: hefery.hosts entries (validated, errors naming the entry
// and field) merged with ~/.ssh/config Host entries, each resolved through
// the SSH config with the setting's values first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHostList, DEFAULT_SOCKET_PATH, parseHostAddress } from '../src/core/hostConfig';
import { SshConfig, type LocalContext } from '../src/core/sshConfig';

const local: LocalContext = { home: '/home/ann', user: 'ann', uid: 1000, hostname: 'laptop', env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } };
const config = SshConfig.parse([
  'Host hv1',
  '  HostName hv1.lab.example',
  '  User admin',
  '  Port 2222',
  '  IdentityFile ~/.ssh/id_lab',
  'Host hv2',
  '  HostKeyAlias hv2-key',
  '  IdentityAgent none',
  '  IdentitiesOnly yes',
  '  UserKnownHostsFile ~/.ssh/lab_known_hosts',
  'Host *',
  '  User default-user',
].join('\n'), '/home/ann/.ssh/config', '/home/ann');

test('settings entries resolve through the SSH config, their own values first; ssh-config hosts follow', () => {
  const { hosts, problems } = buildHostList({
    settings: [
      { name: 'lab', host: 'hv1', port: 22, identityFile: '~/keys/special' },
      { host: '10.0.0.5', username: 'root', socketPath: '/srv/hefery/agent.sock' },
    ],
    sshConfig: config,
    local,
    globalKnownHosts: '/etc/ssh/ssh_known_hosts',
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(hosts.map((h) => [h.id, h.source]), [['lab', 'settings'], ['10.0.0.5', 'settings'], ['hv1', 'ssh-config'], ['hv2', 'ssh-config']]);
  const lab = hosts[0];
  assert.equal(lab.target.host, 'hv1.lab.example');
  assert.equal(lab.target.port, 22, 'the setting wins over Port 2222');
  assert.equal(lab.target.username, 'admin');
  assert.deepEqual(lab.target.identityFiles, ['/home/ann/keys/special', '/home/ann/.ssh/id_lab']);
  assert.equal(lab.target.agentSocket, '/tmp/agent.sock');
  assert.equal(lab.socketPath, DEFAULT_SOCKET_PATH);
  assert.deepEqual(lab.knownHostsFiles, ['/home/ann/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts']);
  const plain = hosts[1];
  assert.equal(plain.target.username, 'root');
  assert.equal(plain.socketPath, '/srv/hefery/agent.sock');
  assert.deepEqual(plain.target.identityFiles, ['/home/ann/.ssh/id_rsa', '/home/ann/.ssh/id_ecdsa', '/home/ann/.ssh/id_ed25519'], 'OpenSSH defaults when none is configured');
  const hv2 = hosts[3];
  assert.equal(hv2.target.agentSocket, undefined, 'IdentityAgent none');
  assert.equal(hv2.target.identitiesOnly, true);
  assert.equal(hv2.target.knownHostsHost, 'hv2-key');
  assert.equal(hv2.target.knownHostsPort, 22);
  assert.equal(hv2.target.username, 'default-user');
  assert.deepEqual(hv2.knownHostsFiles, ['/home/ann/.ssh/lab_known_hosts', '/etc/ssh/ssh_known_hosts']);
});

test('bad entries are named and skipped; duplicate names too; the setting shadows the ssh-config host', () => {
  const { hosts, problems } = buildHostList({
    settings: [{ host: 'hv1', port: 'ssh' }, { name: 'x', host: 'a b' }, { host: 'hv1' }, { host: 'hv1' }, 'nonsense'],
    sshConfig: config,
    local,
    knownHostsPath: '/tmp/kh',
  });
  assert.deepEqual(problems, [
    'hefery.hosts[0].port: expected finite number, got string "ssh"',
    'hefery.hosts[1].host: expected string matching /^[^\\s]+$/, got string "a b"',
    'hefery.hosts[3]: a host named "hv1" is already configured; this entry is ignored',
    'hefery.hosts[4]: expected object, got string "nonsense"',
  ]);
  assert.deepEqual(hosts.map((h) => [h.id, h.source]), [['hv1', 'settings'], ['hv2', 'ssh-config']]);
  assert.deepEqual(hosts[0].knownHostsFiles, ['/tmp/kh'], 'hefery.knownHostsPath wins');
  assert.deepEqual(buildHostList({ settings: [], sshConfig: null, local }).hosts, []);
});

test('"Add Host" addresses', () => {
  assert.deepEqual(parseHostAddress('hv1'), { host: 'hv1' });
  assert.deepEqual(parseHostAddress(' root@10.0.0.1:2222 '), { host: '10.0.0.1', port: 2222, username: 'root' });
  assert.deepEqual(parseHostAddress('u@[::1]:22'), { host: '::1', port: 22, username: 'u' });
  assert.equal(parseHostAddress('a b'), 'expected host, user@host or user@host:port');
  assert.equal(parseHostAddress('h:70000'), 'port 70000 is out of range (1-65535)');
});
