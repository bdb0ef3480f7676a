// The workload of every scenario run, so that "normal" is not idle:
//   - HTTP load bursts: `wrk` run inside the test namespace against the guest's
//     httpd, one at a time, each bounded in time (1-3 s, 1 connection), with
//     pauses of 4-12 s between them;
//   - the guest's rhythmic background jobs, one every ~10 s in turn: a CPU
//     burst, a disk write, a memory hold, a download (the workload CGIs of
//     scripts/build-guest.sh).
// The rhythm is drawn from a seeded generator, recorded in the trace's meta,
// so a run's workload can be repeated.

import { spawn, type ChildProcess } from 'node:child_process';
import { seededRandom } from '../../host-agent/src/hmm/train';
import type { NetnsWorker } from './netns-client';

export interface WorkloadOptions {
  worker: NetnsWorker;
  ns: string;
  /** http://ADDR of the guest */
  base: string;
  seed: number;
  log: (msg: string) => void;
}

/** The background job at step k of the cycle (pure, for the tests and the docs). */
export function backgroundJob(k: number, rnd: () => number): { path: string; timeoutMs: number } {
  const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  switch (k % 4) {
    case 0:
      return { path: `/cgi-bin/cpu?secs=${between(2, 5)}`, timeoutMs: 10_000 };
    case 1:
      return { path: `/cgi-bin/disk?mb=${between(1, 3)}`, timeoutMs: 30_000 };
    case 2:
      return { path: `/cgi-bin/mem?mb=${between(8, 24)}&secs=${between(4, 8)}`, timeoutMs: 10_000 };
    default:
      return { path: `/cgi-bin/blob?kb=${between(64, 512)}`, timeoutMs: 30_000 };
  }
}

export class Workload {
  private stopped = false;
  private wrk: ChildProcess | null = null;
  /** Pending pauses: stop() ends them at once. */
  private readonly pauses = new Map<NodeJS.Timeout, () => void>();
  private readonly loops: Promise<void>[] = [];
  private readonly rnd: () => number;
  bursts = 0;
  jobs = 0;
  jobFailures = 0;

  constructor(private readonly o: WorkloadOptions) {
    this.rnd = seededRandom(o.seed);
  }

  start(): void {
    this.loops.push(this.wrkLoop(), this.jobLoop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const [t, wake] of this.pauses) {
      clearTimeout(t);
      wake();
    }
    this.pauses.clear();
    this.wrk?.kill('SIGKILL');
    // A background job may still wait for a hung guest (up to its timeout): do not wait
    // for it; its loop ends when the request does.
    await Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((res) => {
      const t = setTimeout(() => {
        this.pauses.delete(t);
        res();
      }, ms);
      this.pauses.set(t, res);
    });
  }

  private async wrkLoop(): Promise<void> {
    while (!this.stopped) {
      await this.pause(4000 + this.rnd() * 8000);
      if (this.stopped) return;
      const secs = 1 + Math.floor(this.rnd() * 3);
      await this.runWrk(secs);
      this.bursts++;
    }
  }

  /** One bounded wrk burst; killed if it overstays (a hung guest must not hold it). */
  private runWrk(secs: number): Promise<void> {
    return new Promise((res) => {
      const child = spawn('ip', ['netns', 'exec', this.o.ns, 'wrk', '-t1', '-c1', `-d${secs}s`, '--timeout', '2s', `${this.o.base}/index.html`], { stdio: 'ignore' });
      this.wrk = child;
      const guard = setTimeout(() => child.kill('SIGKILL'), (secs + 5) * 1000);
      const done = () => {
        clearTimeout(guard);
        this.wrk = null;
        res();
      };
      child.once('exit', done);
      child.once('error', (e) => {
        this.o.log(`workload: wrk: ${e.message}`);
        done();
      });
    });
  }

  private async jobLoop(): Promise<void> {
    for (let k = 0; !this.stopped; k++) {
      await this.pause(8000 + this.rnd() * 4000);
      if (this.stopped) return;
      const job = backgroundJob(k, this.rnd);
      // One job at a time: a job still running (a slow or failing guest) delays the next.
      const r = await this.o.worker.get(this.o.base + job.path, job.timeoutMs);
      this.jobs++;
      if (!r.ok) this.jobFailures++;
    }
  }
}
