// The training service with real worker threads, a real SQLite store and real model files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainingContext } from '../../src/daemon';
import { memoryLogger } from '../../src/log';
import { readNewestModel } from '../../src/predictor/modelFiles';
import { ErrorCodes, type TrainDone, type TrainProgress } from '../../src/protocol/api';
import { Store } from '../../src/store/store';
import { TrainingJobs } from '../../src/training/service';
import { syntheticHistory } from '../hmm/helpers';
import { waitFor } from '../../../test/fixtures/wait';

interface Fixture {
  dir: string;
  store: Store;
  ctx: TrainingContext;
  changed: string[];
  log: ReturnType<typeof memoryLogger>;
  close(): void;
}

function fixture(storePath?: string): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-train-'));
  const store = Store.open({ path: storePath ?? join(dir, 'hefery.db') });
  const changed: string[] = [];
  const log = memoryLogger();
  const ctx: TrainingContext = { store, modelDir: join(dir, 'models'), log, modelChanged: (d) => changed.push(d) };
  return { dir, store, ctx, changed, log, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

function collect(): { progress: TrainProgress[]; done: Promise<TrainDone>; listener: { progress(p: TrainProgress): void; done(d: TrainDone): void } } {
  const progress: TrainProgress[] = [];
  let resolve!: (d: TrainDone) => void;
  const done = new Promise<TrainDone>((r) => (resolve = r));
  return { progress, done, listener: { progress: (p) => progress.push(p), done: (d) => resolve(d) } };
}

function insert(store: Store, T: number, seed: number, domain: string, start?: number) {
  const h = syntheticHistory(T, seed, { domain, start });
  store.insertSamples(h.samples.map((sample) => ({ sample, risk: null })));
  return h;
}

test('model.train on a worker thread: progress, the model written and recorded, the predictor told, model.get; the event loop stays free', async () => {
  const f = fixture();
  try {
    const h = insert(f.store, 3000, 1, 'vm1');
    const from = h.samples[100].ts;
    f.store.markIncident({ domain: 'vm1', from: h.samples[2000].ts, to: h.samples[2050].ts, health: 'abnormal', source: 'user' });
    const svc = new TrainingJobs(f.ctx, { defaults: { restarts: 2, maxIterations: 30 } });
    const c = collect();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const { jobId } = await svc.train({ domains: ['vm1'], from, maxIterations: 25 }, c.listener);
    const done = await c.done;
    clearInterval(timer);
    assert.equal(done.jobId, jobId);
    assert.ok(done.ok, done.error);
    assert.ok(c.progress.length > 0 && c.progress.every((p) => p.jobId === jobId && p.restarts === 2));
    assert.deepEqual([...new Set(c.progress.map((p) => p.restart))], [0, 1]);
    assert.ok(c.progress.every((p) => p.iteration <= 25));
    assert.ok(ticks > 3, `the daemon's event loop kept running during training (${ticks} timer ticks)`);
    const model = done.model!;
    assert.equal(model.domain, 'vm1');
    assert.equal(model.trainedFrom, from);
    assert.equal(model.trainedTo, h.samples[2999].ts);
    assert.equal(model.observations, 2900);
    assert.equal(model.states.length, 9);
    const file = readNewestModel(f.ctx.modelDir, 'vm1');
    assert.equal(file?.model.version, model.version);
    assert.equal(file?.model.training.incidents, 1);
    assert.deepEqual(file?.model.training.supervised, ['normal', 'abnormal']);
    assert.equal(f.store.latestModel('vm1')?.version, model.version);
    assert.deepEqual(f.changed, ['vm1']);
    assert.deepEqual(await svc.getModel('vm1'), model);
    assert.equal(await svc.getModel('vm2'), null);
    assert.ok(f.log.lines.some((l) => l.includes(`${jobId}: model ${model.version} for vm1 written to`)));
  } finally {
    f.close();
  }
});

test('pooled training over two domains writes the model for both; an in-memory store is read through its API', async () => {
  const f = fixture(':memory:');
  try {
    insert(f.store, 800, 2, 'vm1');
    insert(f.store, 800, 3, 'vm2');
    const svc = new TrainingJobs(f.ctx, { defaults: { restarts: 1, maxIterations: 5 } });
    const c = collect();
    await svc.train({ domains: ['vm1', 'vm2', 'vm1'] }, c.listener);
    const done = await c.done;
    assert.ok(done.ok, done.error);
    assert.equal(done.model?.observations, 1600);
    assert.deepEqual(f.changed, ['vm1', 'vm2']);
    assert.equal(readNewestModel(f.ctx.modelDir, 'vm2')?.model.version, done.model?.version);
    assert.deepEqual(readNewestModel(f.ctx.modelDir, 'vm1')?.model.domains, ['vm1', 'vm2']);
  } finally {
    f.close();
  }
});

test('cancel: a running job stops at its next iteration and a queued one never starts; nothing is written', async () => {
  const f = fixture();
  try {
    insert(f.store, 20_000, 4, 'vm1');
    const svc = new TrainingJobs(f.ctx, { defaults: { restarts: 5, maxIterations: 10_000 } });
    const a = collect();
    const b = collect();
    const first = await svc.train({ domains: ['vm1'] }, a.listener);
    const second = await svc.train({ domains: ['vm1'] }, b.listener);
    assert.equal(await svc.cancel(second.jobId), true);
    const queuedDone = await b.done;
    assert.deepEqual(queuedDone, { jobId: second.jobId, ok: false, cancelled: true, error: 'cancelled before it started' });
    await waitFor('the running job\'s first progress', () => a.progress.length > 0);
    assert.equal(await svc.cancel(first.jobId), true);
    const runningDone = await a.done;
    assert.equal(runningDone.ok, false);
    assert.equal(runningDone.cancelled, true);
    assert.equal(await svc.cancel(first.jobId), false, 'already finished');
    assert.equal(await svc.cancel('train-999-0000'), false);
    assert.equal(existsSync(join(f.ctx.modelDir, 'vm1')), false);
    assert.deepEqual(f.changed, []);
  } finally {
    f.close();
  }
});

test('errors: no samples is a failed job with the reason; a bad range is InvalidParams; a corrupt model file is a clear error', async () => {
  const f = fixture();
  try {
    const svc = new TrainingJobs(f.ctx);
    const c = collect();
    await svc.train({ domains: ['ghost'] }, c.listener);
    const done = await c.done;
    assert.equal(done.ok, false);
    assert.match(done.error ?? '', /no usable samples for ghost/);
    await assert.rejects(svc.train({ domains: ['vm1'], from: 10, to: 5 }, c.listener), (e: Error & { code?: number }) => e.code === ErrorCodes.InvalidParams && /params\.to \(5\) is before params\.from \(10\)/.test(e.message));
    mkdirSync(join(f.ctx.modelDir, 'vm1'), { recursive: true });
    writeFileSync(join(f.ctx.modelDir, 'vm1', '20260101T000000Z-000000.json'), '{"format":"hefery-hmm","formatVersion":1,');
    await assert.rejects(svc.getModel('vm1'), /20260101T000000Z-000000\.json: not valid JSON \(truncated or corrupt file\?\)/);
    assert.deepEqual(readdirSync(join(f.ctx.modelDir, 'vm1')), ['20260101T000000Z-000000.json']);
  } finally {
    f.close();
  }
});
