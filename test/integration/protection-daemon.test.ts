// Integration: the real agent process (`hefery-agent serve`) protecting a
// real QEMU guest with the qemu-colo backend. The guest has no model, so the
// agent is unsure and must hold the safe interval; what the agent set is
// read back from QEMU with `virsh qemu-monitor-command`, independently of
// Hefery. Pin/resume go over the agent's socket (the CLI and a client), the
// audit log comes back through decisions.list, decision.event reaches a
// subscriber, and stopping the agent leaves the safe value in QEMU.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision } from '../../host-agent/src/protocol/api';
import { connectAgent, type AgentConnection } from '../../host-agent/src/rpc/client';
import { REPO_ROOT, startLibvirt, virsh, type LibvirtServices } from '../fixtures/libvirt';
import { createTestNet, type TestNet } from '../fixtures/netns';
import { bootGuest, type TestGuest } from '../fixtures/guest';

const CLI = join(REPO_ROOT, 'host-agent', 'src', 'cli.ts');
const SAFE = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let services: LibvirtServices | undefined;
let net: TestNet | undefined;
let guest: TestGuest | undefined;
let dir = '';
let sock = '';
let agent: ChildProcess | undefined;
let agentLog = '';
let exited: Promise<number | null> | undefined;
let client: AgentConnection | undefined;
const events: Decision[] = [];

async function delay(domain: string): Promise<number> {
  const out = await virsh('qemu-monitor-command', domain, '{"execute":"query-migrate-parameters"}');
  return (JSON.parse(out) as { return: { 'x-checkpoint-delay': number } }).return['x-checkpoint-delay'];
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n--- agent log ---\n${agentLog.slice(-4000)}`);
    await sleep(200);
  }
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

before(async () => {
  services = await startLibvirt();
  net = await createTestNet();
  guest = await bootGuest({ net });
  console.log(`# guest ${guest.name} answered after ${guest.bootSeconds.toFixed(1)} s`);
  assert.equal(await delay(guest.name), 20000, "QEMU's default before the agent runs");
  dir = mkdtempSync(join(tmpdir(), 'hefery-protect-it-'));
  sock = join(dir, 'agent.sock');
  writeFileSync(join(dir, 'agent.json'), JSON.stringify({
    libvirt: { uri: services.uri },
    socket: { path: '${HEFERY_RUN_DIR}/agent.sock' },
    store: { path: '${HEFERY_RUN_DIR}/hefery.db' },
    pidFile: null,
    sampling: { intervalMs: 1000 },
    logLevel: 'debug',
    // Only this test's guest: other guests on this libvirtd are left alone.
    policy: { protect: [guest.name], defaults: { safeIntervalMs: SAFE, relaxedIntervalMs: 2000, steps: [500, 1000], maxSampleAgeMs: 10_000 } },
    backend: { type: 'qemu-colo' },
  }));
  agent = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--config', join(dir, 'agent.json'), '--run-dir', dir], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stdout?.on('data', (c) => (agentLog += c));
  agent.stderr?.on('data', (c) => (agentLog += c));
  exited = new Promise((res) => agent!.once('exit', (code) => res(code)));
  await waitFor('the agent socket', 60_000, () => {
    if (agent!.exitCode !== null) throw new Error(`agent exited with ${agent!.exitCode}:\n${agentLog}`);
    return existsSync(sock) ? true : undefined;
  });
  client = await connectAgent(sock, {
    client: 'protection-daemon-test',
    onNotification: (method, params) => {
      if (method === 'decision.event') events.push((params as { decision: Decision }).decision);
    },
  });
  await client.peer.call('samples.subscribe', { domains: [guest.name] });
});

after(async () => {
  client?.close();
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    agent.kill('SIGKILL');
    await exited;
  }
  await guest?.destroy();
  await net?.destroy();
  await services?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('at start-up the agent sets the safe interval in QEMU (no model: fail-safe)', async () => {
  const name = guest!.name;
  await waitFor('x-checkpoint-delay = safe', 30_000, async () => ((await delay(name)) === SAFE ? true : undefined));
  const list = await client!.peer.call('domains.list', {});
  const d = list.find((x) => x.name === name)!;
  assert.equal(d.hasModel, false);
  assert.equal(d.protection?.backend, 'qemu-colo');
  assert.equal(d.protection?.intervalMs, SAFE);
  assert.equal(d.protection?.mode, 'failsafe');
  assert.match(d.protection!.reason, /no risk|start-up/);
  const hello = client!.hello;
  assert.equal(hello.backend, 'qemu-colo');
});

test('interval.pin over the socket changes QEMU\'s x-checkpoint-delay; the subscriber gets decision.event', async () => {
  const name = guest!.name;
  // A pin is held at the safe interval during start-up: wait until the domain's first samples are in.
  await waitFor('start-up over', 30_000, async () => {
    const d = (await client!.peer.call('domains.list', {})).find((x) => x.name === name);
    return d?.protection && !/start-up/.test(d.protection.reason) ? true : undefined;
  });
  const r = await cli(['pin', name, '--interval', '700ms', '--for', '10m', '--who', 'it-test', '--socket', sock]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${agentLog.slice(-3000)}`);
  assert.match(r.stdout, new RegExp(`^${name}: override ${SAFE} ms -> 700 ms \\(applied\\) by it-test: pinned to 700 ms by it-test until .*x-checkpoint-delay set and read back from QEMU`, 'm'));
  assert.equal(await delay(name), 700);
  const ev = await waitFor('decision.event', 10_000, () => events.find((e) => e.kind === 'override'));
  assert.deepEqual({ domain: ev.domain, old: ev.oldIntervalMs, new: ev.newIntervalMs, who: ev.who, applied: ev.applied }, { domain: name, old: SAFE, new: 700, who: 'it-test', applied: true });
  const d = (await client!.peer.call('domains.list', {})).find((x) => x.name === name)!;
  assert.equal(d.protection?.mode, 'pinned');
  assert.equal(d.protection?.intervalMs, 700);
  assert.ok(d.protection?.pinnedUntil && d.protection.pinnedUntil > Date.now());
  // Refused pins say why and change nothing.
  const tooLong = await cli(['pin', name, '--interval', '5s', '--socket', sock]);
  assert.equal(tooLong.code, 1);
  assert.match(tooLong.stderr, /longer than .*relaxed interval \(2000 ms\)/);
  assert.equal(await delay(name), 700);
});

test('interval.resume goes back: no model, so the safe interval again', async () => {
  const name = guest!.name;
  const res = await client!.peer.call('interval.resume', { domain: name, who: 'it-test' });
  assert.deepEqual({ kind: res.kind, old: res.oldIntervalMs, new: res.newIntervalMs, applied: res.applied }, { kind: 'resume', old: 700, new: SAFE, applied: true });
  assert.equal(await delay(name), SAFE);
  await waitFor('the resume event', 10_000, () => events.find((e) => e.kind === 'resume'));
});

test('decisions.list and `hefery-agent decisions` show the audit log', async () => {
  const name = guest!.name;
  const rows = await client!.peer.call('decisions.list', { domain: name, from: 0, to: Date.now() });
  const summary = rows.map((d) => `${d.kind}:${d.oldIntervalMs ?? '-'}->${d.newIntervalMs}:${d.who}`);
  assert.deepEqual(summary, [`startup:-->${SAFE}:policy`, `override:${SAFE}->700:it-test`, `resume:700->${SAFE}:it-test`]);
  assert.ok(rows.every((d) => d.applied));
  const table = await cli(['decisions', name, '--since', '10m', '--socket', sock]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^TIME\s+KIND\s+OLD\s+NEW\s+RISK\s+WHO\s+APPLIED\s+REASON/m);
  assert.match(table.stdout, /override\s+200 ms\s+700 ms\s+-\s+it-test\s+yes/);
});

test('stopping the agent leaves the safe value in QEMU', async () => {
  const name = guest!.name;
  await client!.peer.call('interval.pin', { domain: name, intervalMs: 1000, who: 'it-test' });
  assert.equal(await delay(name), 1000);
  client!.close();
  agent!.kill('SIGTERM');
  const code = await Promise.race([exited!, sleep(30_000).then(() => 'timeout' as const)]);
  assert.equal(code, 0, agentLog.slice(-3000));
  assert.match(agentLog, /shutdown 1000 -> 200 ms by policy: agent stopping: replication left at the safe interval/);
  assert.equal(await delay(name), SAFE);
});
