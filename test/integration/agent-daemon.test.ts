// Integration: the real agent process (`hefery-agent serve`) on libvirt's
// built-in test driver (test:///default: one running domain named "test",
// state only, no guest), queried with the real CLI over its Unix socket.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgentCli, startAgentProcess, type AgentProcess } from '../fixtures/agent';
import { REPO_ROOT } from '../fixtures/libvirt';
import { waitFor } from '../fixtures/wait';

const ADDON = join(REPO_ROOT, 'host-agent', 'native', 'build', 'Release', 'hefery_libvirt.node');
const addonBuilt = existsSync(ADDON);
const skip = addonBuilt ? false : `the libvirt addon is not built (${ADDON} missing): run npm run build:native`;

let dir = '';
let sock = '';
let agent: AgentProcess | undefined;

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runAgentCli(args, { env, timeoutMs: 30_000 });

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'hefery-agent-it-'));
  sock = join(dir, 'run', 'agent.sock');
  // No --run-dir: the config's paths come from HEFERY_RUN_DIR in the environment.
  agent = startAgentProcess({
    libvirt: { uri: 'test:///default' },
    socket: { path: '${HEFERY_RUN_DIR}/run/agent.sock' },
    store: { path: '${HEFERY_RUN_DIR}/state/hefery.db' },
    pidFile: '${HEFERY_RUN_DIR}/run/agent.pid',
    sampling: { intervalMs: 200 },
    logLevel: 'debug',
  }, dir, { runDirArg: false, env: { HEFERY_RUN_DIR: dir } });
  await agent.listening(sock);
});

after(async () => {
  await agent?.kill9();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the agent serves the test driver domain to `hefery-agent domains`', { skip }, async () => {
  assert.equal(statSync(sock).mode & 0o777, 0o660);
  assert.equal(readFileSync(join(dir, 'run', 'agent.pid'), 'utf8').trim(), String(agent!.pid));
  const r = await waitFor('`hefery-agent domains` to list the test domain', async () => {
    const out = await cli(['domains', '--socket', sock]);
    return /^test\s+running/m.test(out.stdout) ? out : undefined;
  }, 30_000, () => agent!.tail());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^NAME\s+STATE/m);
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
  type Row = { sample: { domain: string; state: string; ts: number; cpuPct: number | null }; risk: number | null };
  // Sampling every 200 ms: wait until at least two samples are stored.
  const rows = await waitFor('two stored samples', async () => {
    const r = await cli(['history', 'test', '--since', '1m', '--json', '--socket', sock]);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Row[];
    return got.length >= 2 ? got : undefined;
  }, 30_000, () => agent!.tail());
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
  const code = await agent!.stop(20_000);
  assert.equal(code, 0, agent!.log());
  assert.match(agent!.log(), /SIGTERM received/);
  assert.match(agent!.log(), /stopped/);
  assert.equal(existsSync(sock), false);
  assert.equal(existsSync(join(dir, 'run', 'agent.pid')), false);
  assert.equal(existsSync(join(dir, 'state', 'hefery.db-wal')) ? statSync(join(dir, 'state', 'hefery.db-wal')).size : 0, 0, 'WAL checkpointed on close');
});
