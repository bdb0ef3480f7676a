// Integration: the real agent process (`hefery-agent serve`) on libvirt's
// built-in test driver (test:///default: one running domain named "test",
// state only, no guest), queried with the real CLI over its Unix socket.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'host-agent', 'src', 'cli.ts');
const ADDON = join(ROOT, 'host-agent', 'native', 'build', 'Release', 'hefery_libvirt.node');
const addonBuilt = existsSync(ADDON);
const skip = addonBuilt ? false : `the libvirt addon is not built (${ADDON} missing): run npm run build:native`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir = '';
let sock = '';
let agent: ChildProcess | undefined;
let agentLog = '';
let exited: Promise<number | null> | undefined;

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'hefery-agent-it-'));
  sock = join(dir, 'run', 'agent.sock');
  writeFileSync(join(dir, 'agent.json'), JSON.stringify({
    libvirt: { uri: 'test:///default' },
    socket: { path: '${HEFERY_RUN_DIR}/run/agent.sock' },
    store: { path: '${HEFERY_RUN_DIR}/state/hefery.db' },
    pidFile: '${HEFERY_RUN_DIR}/run/agent.pid',
    sampling: { intervalMs: 200 },
    logLevel: 'debug',
  }));
  agent = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--config', join(dir, 'agent.json')], {
    cwd: ROOT, env: { ...process.env, HEFERY_RUN_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stdout?.on('data', (c) => (agentLog += c));
  agent.stderr?.on('data', (c) => (agentLog += c));
  exited = new Promise((res) => agent!.once('exit', (code) => res(code)));
  const deadline = Date.now() + 30_000;
  while (!existsSync(sock)) {
    if (agent.exitCode !== null) throw new Error(`agent exited with ${agent.exitCode} before listening:\n${agentLog}`);
    if (Date.now() > deadline) throw new Error(`agent did not listen within 30 s:\n${agentLog}`);
    await sleep(100);
  }
});

after(async () => {
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    agent.kill('SIGKILL');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the agent serves the test driver domain to `hefery-agent domains`', { skip }, async () => {
  assert.equal(statSync(sock).mode & 0o777, 0o660);
  assert.equal(readFileSync(join(dir, 'run', 'agent.pid'), 'utf8').trim(), String(agent!.pid));
  let r = await cli(['domains', '--socket', sock]);
  for (let i = 0; i < 50 && !/^test\s+running/m.test(r.stdout); i++) {
    await sleep(200);
    r = await cli(['domains', '--socket', sock]);
  }
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^NAME\s+STATE/m);
  assert.match(r.stdout, /^test\s+running/m, `${r.stdout}\n${agentLog}`);
  const json = await cli(['domains', '--json'], { HEFERY_SOCKET: sock });
  assert.equal(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout) as Array<{ name: string; uuid: string; state: string; hasModel: boolean; risk: unknown }>;
  const t = list.find((d) => d.name === 'test');
  assert.ok(t, json.stdout);
  assert.equal(t.state, 'running');
  assert.match(t.uuid, /^[0-9a-f-]{36}$/);
  assert.equal(t.hasModel, false);
  assert.equal(t.risk, null);
});

test('`hefery-agent history test` returns the stored samples', { skip }, async () => {
  await sleep(600);
  const r = await cli(['history', 'test', '--since', '1m', '--json', '--socket', sock]);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Array<{ sample: { domain: string; state: string; ts: number; cpuPct: number | null }; risk: number | null }>;
  assert.ok(rows.length >= 2, `expected several samples, got ${rows.length}`);
  assert.ok(rows.every((x) => x.sample.domain === 'test' && x.sample.state === 'running'));
  assert.ok(rows.every((x, i) => i === 0 || x.sample.ts >= rows[i - 1].sample.ts), 'ascending');
  const table = await cli(['history', 'test', '--socket', sock]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^TIME\s+STATE\s+CPU%/m);
});

test('CLI errors: usage, unknown command, bad duration, no agent at the socket', { skip }, async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: hefery-agent <command>/);
  assert.match(help.stdout, /^\s+serve\s/m);
  const unknown = await cli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const bad = await cli(['history', 'test', '--since', 'yesterday', '--socket', sock]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since: expected a duration like 30s, 5m, 2h or 7d, got "yesterday"/);
  const missing = join(dir, 'nobody.sock');
  const none = await cli(['domains', '--socket', missing]);
  assert.equal(none.code, 3);
  assert.equal(none.stderr.trim(), `hefery-agent domains: no agent listening at ${missing}: is hefery-agent serve running?`);
  const second = await cli(['serve', '--config', join(dir, 'agent.json')], { HEFERY_RUN_DIR: dir });
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`another hefery-agent \\(pid ${agent!.pid}\\) is running`));
});

test('SIGTERM stops the agent gracefully: exit 0, socket and pid file removed, store flushed', { skip }, async () => {
  agent!.kill('SIGTERM');
  const code = await Promise.race([exited!, sleep(20_000).then(() => 'timeout' as const)]);
  assert.equal(code, 0, agentLog);
  assert.match(agentLog, /SIGTERM received/);
  assert.match(agentLog, /stopped/);
  assert.equal(existsSync(sock), false);
  assert.equal(existsSync(join(dir, 'run', 'agent.pid')), false);
  assert.equal(existsSync(join(dir, 'state', 'hefery.db-wal')) ? statSync(join(dir, 'state', 'hefery.db-wal')).size : 0, 0, 'WAL checkpointed on close');
});
