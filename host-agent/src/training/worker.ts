// The training worker thread: reads the history, trains, posts the model.
// Runs on a worker_thread so the daemon keeps sampling while it trains.
// Progress is posted at most every PROGRESS_MS (plus the first iteration of
// every restart and the last one before it), so a small data set training
// hundreds of iterations a second does not flood the client.

import { parentPort, workerData } from 'node:worker_threads';
import { trainModel, TrainingCancelled, type TrainingSeries } from '../hmm/train';
import { openReadOnly, readSamples } from './history';
import { throttleProgress, type WorkerJob, type WorkerMessage } from './protocol';

const PROGRESS_MS = 50;

function post(m: WorkerMessage): void {
  parentPort?.postMessage(m);
}

function run(job: WorkerJob): void {
  const cancel = new Int32Array(job.cancel);
  let series: TrainingSeries[];
  if (job.source.kind === 'store') {
    const db = openReadOnly(job.source.path);
    try {
      series = job.domains.map((domain) => ({ domain, samples: readSamples(db, domain, job.from, job.to), incidents: job.incidents[domain] ?? [] }));
    } finally {
      db.close();
    }
  } else {
    const given = job.source.samples;
    series = job.domains.map((domain) => ({ domain, samples: given[domain] ?? [], incidents: job.incidents[domain] ?? [] }));
  }
  const progress = throttleProgress<WorkerMessage & { type: 'progress' }>(post, PROGRESS_MS);
  const model = trainModel(series, {
    ...job.options,
    onProgress: (p) => progress.report({ type: 'progress', ...p }),
    shouldStop: () => Atomics.load(cancel, 0) === 1,
  }).model;
  progress.flush();
  post({ type: 'done', model });
}

try {
  run(workerData as WorkerJob);
} catch (e) {
  post({ type: 'failed', error: (e as Error)?.message ?? String(e), cancelled: e instanceof TrainingCancelled });
}
