// Integration: the real agent process (`hefery-agent serve`) protecting a
// real QEMU guest with the qemu-colo backend. The guest has no model, so the
// agent is unsure and must hold the safe interval; what the agent set is
// read back from QEMU with `virsh qemu-monitor-command`, independently of
// Hefery. Pin/resume go over the agent's socket (the CLI and a client), the
// audit log comes back through decisions.list, decision.event reaches a
// subscriber, and stopping the agent leaves the safe value in QEMU.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision } from '../../host-agent/src/protocol/api';
import { connectAgent, type AgentConnection } from '../../host-agent/src/rpc/client';
import { runAgentCli, startAgentProcess, type AgentProcess } from '../fixtures/agent';
import { virsh } from '../fixtures/libvirt';
import { startGuestStack, type TestGuest } from '../fixtures/guest';
import { Teardown } from '../fixtures/teardown';
import { waitFor } from '../fixtures/wait';

const SAFE = 200;
const teardown = new Teardown();
let guest: TestGuest | undefined;
let dir = '';
let sock = '';
let agent: AgentProcess | undefined;
let client: AgentConnection | undefined;
const events: Decision[] = [];

async function delay(domain: string): Promise<number> {
  const out = await virsh('qemu-monitor-command', domain, '{"execute":"query-migrate-parameters"}');
  return (JSON.parse(out) as { return: { 'x-checkpoint-delay': number } }).return['x-checkpoint-delay'];
}

const agentLog = () => agent?.log() ?? '';
const ctx = () => agent?.tail() ?? '';

before(async () => {
  const stack = await startGuestStack(teardown);
  guest = stack.guest;
  console.log(`# guest ${guest.name} answered after ${guest.bootSeconds.toFixed(1)} s`);
  assert.equal(await delay(guest.name), 20000, "QEMU's default before the agent runs");
  dir = mkdtempSync(join(tmpdir(), 'hefery-protect-it-'));
  teardown.add(() => rmSync(dir, { recursive: true, force: true }));
  sock = join(dir, 'agent.sock');
  agent = startAgentProcess({
    libvirt: { uri: stack.services.uri },
    socket: { path: '${HEFERY_RUN_DIR}/agent.sock' },
    store: { path: '${HEFERY_RUN_DIR}/hefery.db' },
    pidFile: null,
    sampling: { intervalMs: 1000 },
    logLevel: 'debug',
    // Only this test's guest: other guests on this libvirtd are left alone.
    policy: { protect: [guest.name], defaults: { safeIntervalMs: SAFE, relaxedIntervalMs: 2000, steps: [500, 1000], maxSampleAgeMs: 10_000 } },
    backend: { type: 'qemu-colo' },
  }, dir);
  teardown.add(() => agent?.kill9());
  await agent.listening(sock, 60_000);
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
  await teardown.run();
});

test('at start-up the agent sets the safe interval in QEMU (no model: fail-safe)', async () => {
  const name = guest!.name;
  await waitFor('x-checkpoint-delay = safe', async () => ((await delay(name)) === SAFE ? true : undefined), 30_000, ctx);
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
  await waitFor('start-up over', async () => {
    const d = (await client!.peer.call('domains.list', {})).find((x) => x.name === name);
    return d?.protection && !/start-up/.test(d.protection.reason) ? true : undefined;
  }, 30_000, ctx);
  const r = await runAgentCli(['pin', name, '--interval', '700ms', '--for', '10m', '--who', 'it-test', '--socket', sock]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${agentLog().slice(-3000)}`);
  assert.match(r.stdout, new RegExp(`^${name}: override ${SAFE} ms -> 700 ms \\(applied\\) by it-test: pinned to 700 ms by it-test until .*x-checkpoint-delay set and read back from QEMU`, 'm'));
  assert.equal(await delay(name), 700);
  const ev = await waitFor('decision.event', () => events.find((e) => e.kind === 'override'), 10_000, ctx);
  assert.deepEqual({ domain: ev.domain, old: ev.oldIntervalMs, new: ev.newIntervalMs, who: ev.who, applied: ev.applied }, { domain: name, old: SAFE, new: 700, who: 'it-test', applied: true });
  const d = (await client!.peer.call('domains.list', {})).find((x) => x.name === name)!;
  assert.equal(d.protection?.mode, 'pinned');
  assert.equal(d.protection?.intervalMs, 700);
  assert.ok(d.protection?.pinnedUntil && d.protection.pinnedUntil > Date.now());
  // Refused pins say why and change nothing.
  const tooLong = await runAgentCli(['pin', name, '--interval', '5s', '--socket', sock]);
  assert.equal(tooLong.code, 1);
  assert.match(tooLong.stderr, /longer than .*relaxed interval \(2000 ms\)/);
  assert.equal(await delay(name), 700);
});

test('interval.resume goes back: no model, so the safe interval again', async () => {
  const name = guest!.name;
  const res = await client!.peer.call('interval.resume', { domain: name, who: 'it-test' });
  assert.deepEqual({ kind: res.kind, old: res.oldIntervalMs, new: res.newIntervalMs, applied: res.applied }, { kind: 'resume', old: 700, new: SAFE, applied: true });
  assert.equal(await delay(name), SAFE);
  await waitFor('the resume event', () => events.find((e) => e.kind === 'resume'), 10_000, ctx);
});

test('decisions.list and `hefery-agent decisions` show the audit log', async () => {
  const name = guest!.name;
  const rows = await client!.peer.call('decisions.list', { domain: name, from: 0, to: Date.now() });
  const summary = rows.map((d) => `${d.kind}:${d.oldIntervalMs ?? '-'}->${d.newIntervalMs}:${d.who}`);
  assert.deepEqual(summary, [`startup:-->${SAFE}:policy`, `override:${SAFE}->700:it-test`, `resume:700->${SAFE}:it-test`]);
  assert.ok(rows.every((d) => d.applied));
  const table = await runAgentCli(['decisions', name, '--since', '10m', '--socket', sock]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^TIME\s+KIND\s+OLD\s+NEW\s+RISK\s+WHO\s+APPLIED\s+REASON/m);
  assert.match(table.stdout, /override\s+200 ms\s+700 ms\s+-\s+it-test\s+yes/);
});

test('stopping the agent leaves the safe value in QEMU', async () => {
  const name = guest!.name;
  await client!.peer.call('interval.pin', { domain: name, intervalMs: 1000, who: 'it-test' });
  assert.equal(await delay(name), 1000);
  client!.close();
  const code = await agent!.stop(30_000);
  assert.equal(code, 0, agentLog().slice(-3000));
  assert.match(agentLog(), /shutdown 1000 -> 200 ms by policy: agent stopping: replication left at the safe interval/);
  assert.equal(await delay(name), SAFE);
});
