// The agent's TrainingService (rpc/services.ts): model.train / model.cancel /
// model.get. Jobs run one at a time, each on its own worker thread
// (worker.ts), so the daemon keeps sampling while a model trains; further
// jobs wait in a queue. A finished model is written atomically into
// <modelDir>/<domain>/ for every domain it was trained on, recorded in the
// store's models table, and the daemon is told (ctx.modelChanged) so the
// live predictor reloads it.

import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { TrainingContext } from '../daemon';
import { ErrorCodes, type ModelSummary, type Params, type TrainDone } from '../protocol/api';
import { RpcFailure } from '../protocol/peer';
import type { TrainingService, TrainListener } from '../rpc/services';
import { modelSummary, type HmmModel } from '../hmm/model';
import { readNewestModel, serializeModel, writeModel } from '../predictor/modelFiles';
import type { WorkerJob, WorkerMessage, WorkerTrainOptions } from './protocol';

export interface TrainingServiceOptions {
  /** Training defaults (from the config's prediction section); model.train's restarts/maxIterations override. */
  defaults?: WorkerTrainOptions;
  /** The worker script (default: worker.ts next to this file, or training-worker.js next to the bundle). */
  workerFile?: string;
  /** Jobs waiting beyond the running one (default 8). */
  maxQueued?: number;
  now?: () => number;
}

interface Job {
  id: string;
  req: Params<'model.train'>;
  domains: string[];
  listener: TrainListener;
  cancel: SharedArrayBuffer;
  worker: Worker | null;
  finished: boolean;
}

/** Largest history a job reads through the store's API (in-memory stores only; file stores are read by the worker). */
const MAX_IN_MEMORY_ROWS = 100_000_000;

export function defaultWorkerFile(): string {
  return __filename.endsWith('.ts') ? join(__dirname, 'worker.ts') : join(__dirname, 'training-worker.js');
}

function startWorker(file: string, job: WorkerJob): Worker {
  if (file.endsWith('.ts')) {
    // From a checkout (node --import tsx): the worker's entry must go through tsx's require hook.
    const tsx = require.resolve('tsx/cjs');
    return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(file)});`, { eval: true, workerData: job });
  }
  return new Worker(file, { workerData: job });
}

export class TrainingJobs implements TrainingService {
  private readonly queue: Job[] = [];
  private running: Job | null = null;
  private next = 1;
  private readonly now: () => number;

  constructor(private readonly ctx: TrainingContext, private readonly opts: TrainingServiceOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  async train(req: Params<'model.train'>, listener: TrainListener): Promise<{ jobId: string }> {
    const from = req.from ?? 0;
    const to = req.to ?? this.now();
    if (to < from) throw new RpcFailure(ErrorCodes.InvalidParams, `params.to (${to}) is before params.from (${from})`);
    const max = this.opts.maxQueued ?? 8;
    if (this.queue.length >= max) throw new RpcFailure(ErrorCodes.Busy, `${this.queue.length} training jobs are already waiting (limit ${max}); try again later`);
    const id = `train-${this.next++}-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`;
    const job: Job = { id, req: { ...req, from, to }, domains: [...new Set(req.domains)], listener, cancel: new SharedArrayBuffer(4), worker: null, finished: false };
    this.queue.push(job);
    this.ctx.log.info(`${id}: queued (${job.domains.join(', ')}, ${new Date(from).toISOString()} .. ${new Date(to).toISOString()})`);
    setImmediate(() => this.pump());
    return { jobId: id };
  }

  async cancel(jobId: string): Promise<boolean> {
    const i = this.queue.findIndex((j) => j.id === jobId);
    if (i >= 0) {
      const [job] = this.queue.splice(i, 1);
      this.finish(job, { jobId, ok: false, cancelled: true, error: 'cancelled before it started' });
      return true;
    }
    const job = this.running;
    if (!job || job.id !== jobId || job.finished) return false;
    Atomics.store(new Int32Array(job.cancel), 0, 1);
    // The worker stops at its next iteration; one stuck in a long read is terminated.
    setTimeout(() => {
      if (!job.finished) void job.worker?.terminate();
    }, 10_000).unref();
    this.ctx.log.info(`${jobId}: cancel requested`);
    return true;
  }

  async getModel(domain: string): Promise<ModelSummary | null> {
    const found = readNewestModel(this.ctx.modelDir, domain);
    return found ? modelSummary(found.model, domain) : null;
  }

  /** Cancels everything (agent stopping). */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) this.finish(job, { jobId: job.id, ok: false, cancelled: true, error: 'the agent is stopping' });
    const w = this.running?.worker;
    if (this.running) this.finish(this.running, { jobId: this.running.id, ok: false, cancelled: true, error: 'the agent is stopping' });
    await w?.terminate();
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const job = this.queue.shift() as Job;
    this.running = job;
    try {
      this.start(job);
    } catch (e) {
      this.finish(job, { jobId: job.id, ok: false, error: (e as Error).message });
    }
  }

  private start(job: Job): void {
    const { store } = this.ctx;
    const from = job.req.from as number;
    const to = job.req.to as number;
    const incidents: WorkerJob['incidents'] = {};
    for (const d of job.domains) incidents[d] = store.incidents(d, from, to).map((i) => ({ from: i.from, to: i.to, health: i.health }));
    let source: WorkerJob['source'];
    if (store.path === ':memory:') {
      const samples: Record<string, ReturnType<typeof store.history>[number]['sample'][]> = {};
      for (const d of job.domains) samples[d] = store.history(d, from, to, MAX_IN_MEMORY_ROWS).map((r) => r.sample);
      source = { kind: 'samples', samples };
    } else source = { kind: 'store', path: store.path };
    const d = this.opts.defaults ?? {};
    const options: WorkerTrainOptions = { ...d, restarts: job.req.restarts ?? d.restarts, maxIterations: job.req.maxIterations ?? d.maxIterations, now: this.now() };
    const w = startWorker(this.opts.workerFile ?? defaultWorkerFile(), { jobId: job.id, domains: job.domains, from, to, source, incidents, options, cancel: job.cancel });
    job.worker = w;
    this.ctx.log.info(`${job.id}: training started on a worker thread`);
    w.on('message', (m: WorkerMessage) => this.onMessage(job, m));
    w.on('error', (e) => this.finish(job, { jobId: job.id, ok: false, error: `training worker failed: ${e.message}` }));
    w.on('exit', (code) => {
      if (!job.finished) {
        const cancelled = Atomics.load(new Int32Array(job.cancel), 0) === 1;
        this.finish(job, { jobId: job.id, ok: false, cancelled, error: cancelled ? 'training cancelled' : `training worker exited (code ${code}) without a result` });
      }
      if (this.running === job) this.running = null;
      this.pump();
    });
  }

  private onMessage(job: Job, m: WorkerMessage): void {
    if (job.finished) return;
    if (m.type === 'progress') {
      this.tell(job, () => job.listener.progress({ jobId: job.id, restart: m.restart, restarts: m.restarts, iteration: m.iteration, logLikelihood: m.logLikelihood }));
    } else if (m.type === 'failed') {
      this.finish(job, { jobId: job.id, ok: false, error: m.error, ...(m.cancelled ? { cancelled: true } : {}) });
    } else {
      try {
        this.install(job, m.model);
        this.finish(job, { jobId: job.id, ok: true, model: modelSummary(m.model, job.domains[0]) });
      } catch (e) {
        this.finish(job, { jobId: job.id, ok: false, error: `the model could not be saved: ${(e as Error).message}` });
      }
    }
  }

  /** Writes the model for every domain, records it in the store, reloads the predictors. */
  private install(job: Job, model: HmmModel): void {
    const json = serializeModel(model);
    for (const d of job.domains) {
      const path = writeModel(this.ctx.modelDir, d, model);
      try {
        this.ctx.store.saveModel(d, model.version, json, model.createdAt);
      } catch (e) {
        this.ctx.log.warn(`${job.id}: model file written, but not recorded in the store: ${(e as Error).message}`);
      }
      this.ctx.log.info(`${job.id}: model ${model.version} for ${d} written to ${path} (log-likelihood ${model.training.logLikelihood.toFixed(1)}, ${model.training.iterations} iterations, states ${model.states.map((s) => s.label).join(' ')})`);
    }
    for (const d of job.domains) this.ctx.modelChanged(d);
  }

  private finish(job: Job, done: TrainDone): void {
    if (job.finished) return;
    job.finished = true;
    if (!done.ok) this.ctx.log[done.cancelled ? 'info' : 'warn'](`${job.id}: ${done.error}`);
    this.tell(job, () => job.listener.done(done));
    if (this.running === job && !job.worker) {
      this.running = null;
      setImmediate(() => this.pump());
    }
  }

  /** Notifies the client; a client that went away must not break the job. */
  private tell(job: Job, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.ctx.log.debug(`${job.id}: cannot notify the client: ${(e as Error).message}`);
    }
  }
}
