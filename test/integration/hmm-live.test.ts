// Integration: the live HMM on a real guest. The real agent process
// (`hefery-agent serve`) samples a real QEMU guest (TCG) running a varying
// workload; a client trains the guest's model over the agent's socket
// (model.train: progress, done, on the agent's worker thread), and from then
// on the sample stream carries a risk computed by the new model; model.get
// returns it. The policy is the default one with the dry-run backend, only
// for this guest.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotificationParams, TrainDone, TrainProgress } from '../../host-agent/src/protocol/api';
import { connectAgent, type AgentConnection } from '../../host-agent/src/rpc/client';
import { startAgentProcess, type AgentProcess } from '../fixtures/agent';
import { startLibvirt, type LibvirtServices } from '../fixtures/libvirt';
import { createTestNet, type TestNet } from '../fixtures/netns';
import { bootGuest, type TestGuest } from '../fixtures/guest';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let services: LibvirtServices | undefined;
let net: TestNet | undefined;
let guest: TestGuest | undefined;
let dir = '';
let agent: AgentProcess | undefined;
let client: AgentConnection | undefined;
const progress: TrainProgress[] = [];
const done: TrainDone[] = [];
const stream: Array<NotificationParams<'samples.event'>> = [];

async function waitFor<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n--- agent log ---\n${agent?.log().slice(-4000)}`);
    await sleep(200);
  }
}

before(async () => {
  services = await startLibvirt();
  net = await createTestNet();
  guest = await bootGuest({ net });
  console.log(`# guest ${guest.name} answered after ${guest.bootSeconds.toFixed(1)} s`);
  dir = mkdtempSync(join(tmpdir(), 'hefery-hmm-it-'));
  agent = startAgentProcess({
    libvirt: { uri: services.uri },
    socket: { path: '${HEFERY_RUN_DIR}/agent.sock' },
    store: { path: '${HEFERY_RUN_DIR}/hefery.db' },
    modelDir: '${HEFERY_RUN_DIR}/models',
    pidFile: null,
    sampling: { intervalMs: 500 },
    logLevel: 'debug',
    policy: { protect: [guest.name] },
    backend: { type: 'dry-run' },
  }, dir);
  await agent.listening(join(dir, 'agent.sock'));
  client = await connectAgent(join(dir, 'agent.sock'), {
    client: 'hmm-live-test',
    onNotification: (name, params) => {
      if (name === 'train.progress') progress.push(params as TrainProgress);
      else if (name === 'train.done') done.push(params as TrainDone);
      else if (name === 'samples.event') stream.push(params as NotificationParams<'samples.event'>);
    },
  });
  await client.peer.call('samples.subscribe', { domains: [guest.name] });
});

after(async () => {
  client?.close();
  await agent?.stop();
  await guest?.destroy();
  await net?.destroy();
  await services?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the agent samples the guest under a varying workload; before any model its risk is null', async () => {
  const g = guest!;
  // Idle, CPU bursts, disk writes, network downloads, memory: every metric moves.
  const phases: Array<() => Promise<unknown>> = [
    () => sleep(4000),
    () => g.cpu(4).then(() => sleep(4500)),
    () => g.disk(8),
    () => g.blob(4096),
    () => g.mem(24, 4).then(() => sleep(4500)),
    () => sleep(3000),
    () => g.cpu(3).then(() => sleep(3500)),
    () => g.blob(2048),
  ];
  for (const p of phases) await p();
  const rows = await client!.peer.call('samples.history', { domain: g.name, from: 0, to: Date.now() });
  assert.ok(rows.length >= 40, `expected a history of the guest, got ${rows.length} samples`);
  assert.ok(rows.some((r) => (r.sample.cpuPct ?? 0) > 50), 'the CPU burst shows');
  assert.ok(rows.some((r) => (r.sample.netTxBps ?? 0) + (r.sample.netRxBps ?? 0) > 100_000), 'the downloads show');
  assert.ok(rows.every((r) => r.risk === null), 'no model yet: no risk');
  const mine = stream.filter((e) => e.sample.domain === g.name);
  assert.ok(mine.length > 0 && mine.every((e) => e.risk === null));
  assert.equal(await client!.peer.call('model.get', { domain: g.name }), null);
});

test("model.train over RPC: train.progress, then train.done with the model; afterwards samples.event carries the new model's risk and model.get returns it", async () => {
  const g = guest!;
  const { jobId } = await client!.peer.call('model.train', { domains: [g.name], restarts: 2, maxIterations: 30 });
  const result = await waitFor('train.done', 60_000, () => done.find((d) => d.jobId === jobId));
  assert.ok(result.ok, `training failed: ${result.error}\n${agent!.log().slice(-3000)}`);
  const mine = progress.filter((p) => p.jobId === jobId);
  assert.ok(mine.length > 0, 'progress notifications');
  assert.deepEqual([...new Set(mine.map((p) => p.restart))], [0, 1]);
  assert.ok(mine.every((p) => p.restarts === 2 && Number.isFinite(p.logLikelihood)));
  const model = result.model!;
  assert.equal(model.domain, g.name);
  assert.equal(model.states.length, 9);
  assert.ok(model.observations >= 40);
  assert.match(agent!.log(), new RegExp(`${jobId}: training started on a worker thread`));
  assert.deepEqual(readdirSync(join(dir, 'models', g.name)), [`${model.version}.json`]);

  const since = Date.now();
  const withRisk = await waitFor('a sample with risk from the new model', 20_000, () =>
    stream.find((e) => e.sample.domain === g.name && e.sample.ts >= since && e.risk !== null));
  const risk = withRisk.risk!;
  assert.equal(risk.modelVersion, model.version);
  assert.ok(risk.next >= 0 && risk.next <= 1);
  assert.equal(risk.horizonSteps, 10);
  assert.ok(model.states.some((s) => s.label === risk.state), `state ${risk.state} is one of the model's`);

  const got = await client!.peer.call('model.get', { domain: g.name });
  assert.deepEqual(got, model);
  const list = await client!.peer.call('domains.list', {});
  assert.equal(list.find((d) => d.name === g.name)?.hasModel, true);
  // the store keeps the risk with every sample from now on
  await sleep(1500);
  const rows = await client!.peer.call('samples.history', { domain: g.name, from: withRisk.sample.ts, to: Date.now() });
  assert.ok(rows.length > 0 && rows.every((r) => r.risk !== null), JSON.stringify(rows.slice(0, 3)));
});
