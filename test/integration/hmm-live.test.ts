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
import { startGuestStack, type TestGuest } from '../fixtures/guest';
import { Teardown } from '../fixtures/teardown';
import { sleep, waitFor } from '../fixtures/wait';

const teardown = new Teardown();
let guest: TestGuest | undefined;
let dir = '';
let agent: AgentProcess | undefined;
let client: AgentConnection | undefined;
const progress: TrainProgress[] = [];
const done: TrainDone[] = [];
const stream: Array<NotificationParams<'samples.event'>> = [];

const ctx = () => agent?.tail() ?? '';

before(async () => {
  const stack = await startGuestStack(teardown);
  guest = stack.guest;
  console.log(`# guest ${guest.name} answered after ${guest.bootSeconds.toFixed(1)} s`);
  dir = mkdtempSync(join(tmpdir(), 'hefery-hmm-it-'));
  teardown.add(() => rmSync(dir, { recursive: true, force: true }));
  agent = startAgentProcess({
    libvirt: { uri: stack.services.uri },
    socket: { path: '${HEFERY_RUN_DIR}/agent.sock' },
    store: { path: '${HEFERY_RUN_DIR}/hefery.db' },
    modelDir: '${HEFERY_RUN_DIR}/models',
    pidFile: null,
    sampling: { intervalMs: 500 },
    logLevel: 'debug',
    policy: { protect: [guest.name] },
    backend: { type: 'dry-run' },
  }, dir);
  teardown.add(() => agent?.stop());
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
  await teardown.run();
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
  // ~30 s at 500 ms: at least 40 samples, however slowly the machine samples.
  const rows = await waitFor('a history of 40 samples', async () => {
    const got = await client!.peer.call('samples.history', { domain: g.name, from: 0, to: Date.now() });
    return got.length >= 40 ? got : undefined;
  }, 30_000, ctx);
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
  const result = await waitFor('train.done', () => done.find((d) => d.jobId === jobId), 60_000, ctx);
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
  const withRisk = await waitFor('a sample with risk from the new model', () =>
    stream.find((e) => e.sample.domain === g.name && e.sample.ts >= since && e.risk !== null), 20_000, ctx);
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
  const rows = await waitFor('three stored samples with the new model', async () => {
    const got = await client!.peer.call('samples.history', { domain: g.name, from: withRisk.sample.ts, to: Date.now() });
    return got.length >= 3 ? got : undefined;
  }, 30_000, ctx);
  assert.ok(rows.every((r) => r.risk !== null), JSON.stringify(rows.slice(0, 3)));
});
