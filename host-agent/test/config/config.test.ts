import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, DEFAULTS, defaultConfig, loadConfig, parseConfig } from '../../src/config';

const ctx = { baseDir: '/etc/hefery' };

function err(value: unknown, c: { baseDir: string; runDir?: string } = ctx): string {
  try {
    parseConfig(value, c);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the config to be refused');
}

test('an empty config gives the production defaults', () => {
  const c = parseConfig({}, ctx);
  assert.equal(c.libvirt.uri, 'qemu:///system');
  assert.equal(c.socket.path, '/run/hefery/agent.sock');
  assert.equal(c.socket.group, 'hefery');
  assert.equal(c.store.path, '/var/lib/hefery/hefery.db');
  assert.equal(c.sampling.intervalMs, 1000);
  assert.equal(c.store.retention.days, DEFAULTS.retentionDays);
  assert.equal(c.pidFile, '/run/hefery/agent.pid');
  assert.equal(c.policy, null);
  assert.deepEqual(defaultConfig(), c);
});

test('wrong types name the field, the expectation and what was given', () => {
  assert.equal(err({ sampling: { intervalMs: 'fast' } }), 'sampling.intervalMs: expected number >= 100, got string "fast"');
  assert.equal(err({ sampling: { intervalMs: 10 } }), 'sampling.intervalMs: expected number >= 100, got number 10');
  assert.equal(err({ libvirt: { uri: 42 } }), 'libvirt.uri: expected string, got number 42');
  assert.equal(err({ socket: { maxConnections: 1.5 } }), 'socket.maxConnections: expected integer >= 1 and <= 10000, got number 1.5');
  assert.equal(err({ store: { retention: { days: -1 } } }), 'store.retention.days: expected number >= 0.001, got number -1');
  assert.equal(err({ logLevel: 'loud' }), 'logLevel: expected one of debug, info, warn, error, got string "loud"');
  assert.equal(err({ socket: [] }), 'socket: expected object, got array');
  assert.equal(err([]), 'value: expected object, got array');
});

test('unknown fields (typos) are refused', () => {
  assert.equal(err({ sampling: { intervalMS: 1000 } }), 'sampling.intervalMS: expected no such field, got number 1000');
  assert.match(err({ sockets: {} }), /^sockets: expected no such field/);
});

test('maxGapMs must not be below the interval', () => {
  assert.match(err({ sampling: { intervalMs: 2000, maxGapMs: 1000 } }), /sampling\.maxGapMs: expected number >= sampling\.intervalMs \(2000\)/);
});

test('policy and backend pass through opaque', () => {
  const policy = { minIntervalMs: 25, anything: [1, 2, { x: true }] };
  const c = parseConfig({ policy, backend: 'dry-run' }, ctx);
  assert.deepEqual(c.policy, policy);
  assert.equal(c.backend, 'dry-run');
});

test('paths: ${HEFERY_RUN_DIR} substitution, relative to the config file, null pid file', () => {
  const c = parseConfig({ socket: { path: '${HEFERY_RUN_DIR}/a.sock' }, store: { path: 'data/h.db' }, pidFile: null }, { baseDir: '/etc/hefery', runDir: '/tmp/run' });
  assert.equal(c.socket.path, '/tmp/run/a.sock');
  assert.equal(c.store.path, '/etc/hefery/data/h.db');
  assert.equal(c.pidFile, null);
  assert.equal(err({ socket: { path: '${HEFERY_RUN_DIR}/a.sock' } }), 'socket.path: uses ${HEFERY_RUN_DIR} but neither --run-dir nor the HEFERY_RUN_DIR environment variable is set');
  assert.equal(err({ modelDir: '${HOME}/m' }, { baseDir: '/', runDir: '/r' }), 'modelDir: unknown variable ${HOME} (only ${HEFERY_RUN_DIR} is supported)');
});

test('loadConfig: file errors start with the file name; run dir from option or env', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'c.json');
  writeFileSync(f, '{ "sampling": { "intervalMs": "fast" } }');
  assert.throws(() => loadConfig(f), { name: 'ConfigError', message: `config ${f}: sampling.intervalMs: expected number >= 100, got string "fast"` });
  writeFileSync(f, '{ nope');
  assert.throws(() => loadConfig(f), new RegExp(`config ${f}: not valid JSON`));
  assert.throws(() => loadConfig(join(dir, 'missing.json')), /cannot read: ENOENT/);
  writeFileSync(f, '{ "store": { "path": "${HEFERY_RUN_DIR}/h.db" } }');
  assert.equal(loadConfig(f, { runDir: '/x' }).store.path, '/x/h.db');
  assert.equal(loadConfig(f, { env: { HEFERY_RUN_DIR: '/from-env' } }).store.path, '/from-env/h.db');
  assert.equal(loadConfig(f, { runDir: '/opt', env: { HEFERY_RUN_DIR: '/from-env' } }).store.path, '/opt/h.db', '--run-dir wins');
});

test('the shipped configs are valid', () => {
  const root = resolve(__dirname, '..', '..', 'config');
  const demo = loadConfig(join(root, 'demo.json'), { runDir: '/tmp/hefery-demo' });
  assert.equal(demo.socket.path, '/tmp/hefery-demo/agent.sock');
  assert.equal(demo.store.path, '/tmp/hefery-demo/hefery.db');
  const prod = loadConfig(join(root, 'agent.json'), { env: {} });
  assert.deepEqual({ ...prod, policy: null, backend: null }, defaultConfig());
});
