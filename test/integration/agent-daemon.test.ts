// Integration: the real agent process (`hefery-agent serve`) on libvirt's
// built-in test driver (test:///default: one running domain named "test",
// state only, no guest), queried with the real CLI over its Unix socket.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { runAgentCli, spawnAgentCli, startAgentProcess, type AgentProcess } from '../fixtures/agent';
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
  for (const [argv, re] of [[['log', '--lines', '0'], /--lines: expected a whole number from 1 to 2000, got "0"/], [['log', '--level', 'loud'], /--level: expected one of debug, info, warn, error, got "loud"/]] as const) {
    const r = await cli([...argv, '--socket', sock]);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, re);
  }
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

test('`hefery-agent log` prints the lines the agent wrote to its stderr, filters by level, and follows new ones', { skip }, async () => {
  // What the agent wrote to stderr, in its own line format (stdout and stderr share the fixture's log).
  const stderrLines = agent!.log().split('\n').filter((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO |WARN |ERROR) /.test(l));
  assert.ok(stderrLines.some((l) => /\[rpc\] listening at /.test(l)), agent!.tail());
  const all = await cli(['log', '--lines', '2000', '--socket', sock]);
  assert.equal(all.code, 0, all.stderr);
  const shown = all.stdout.trimEnd().split('\n');
  for (const l of stderrLines.slice(0, 20)) assert.ok(shown.includes(l), `the start-up line is shown as written:\n${l}\n--- shown ---\n${all.stdout.slice(0, 3000)}`);

  const last3 = await cli(['log', '--lines', '3', '--level', 'info', '--json', '--socket', sock]);
  assert.equal(last3.code, 0, last3.stderr);
  const entries = last3.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; level: string });
  assert.ok(entries.length >= 1 && entries.length <= 3, last3.stdout);
  assert.ok(entries.every((e) => e.level !== 'debug'), 'no debug line at --level info');
  assert.ok(entries.every((e, i) => i === 0 || e.seq > entries[i - 1].seq), 'oldest first');

  // --follow: a client sending garbage makes the agent log a protocol error, which must appear.
  const follow = spawnAgentCli(['log', '--follow', '--lines', '1', '--socket', sock]);
  let followed = '';
  follow.stdout!.on('data', (c: Buffer) => (followed += c.toString()));
  try {
    // Its first answer (the newest line) is in before the garbage goes out.
    await waitFor('log --follow to print the newest line', () => followed.length > 0 || follow.exitCode !== null, 30_000);
    assert.equal(follow.exitCode, null, followed);
    const s = connect(sock);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('{"jsonrpc":"2.0","method":"no.such-notification-hefery-follow"}\n');
    await waitFor('the protocol error in the followed log', () => /WARN .*unknown notification: no\.such-notification-hefery-follow/.test(followed), 15_000, () => followed);
    s.destroy();
  } finally {
    follow.kill('SIGINT');
  }
  assert.equal(await new Promise((r) => follow.once('exit', (code) => r(code))), 0, 'Ctrl-C ends --follow with exit 0');
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
