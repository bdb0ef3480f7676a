// Host side of test/xen/dom0/remus-driver.ts: starts the driver in dom0 over
// ssh, sends commands, collects its JSON-line events (times are the driver's
// monotonic ms, so all times of one run compare with each other).

import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Lane } from './lane';
import { DOM0_DRIVER, DOM0_LIB, DOM0_NODE } from './payload';

// The agent config's backend section, exactly as an operator would write it
// for a secondary on the same host (the lane has one dom0).
export const LANE_BACKEND = {
  type: 'xen-remus',
  xl: '/usr/sbin/xl',
  // unsafe mode: no network buffering (Debian's libxl has none: "Remus: No
  // support for network buffering"), no disk replication (the guest has no disk)
  args: ['-F', '-n', '-d', '-s', ''],
  destination: 'xl migrate-receive -r -e',
  fence: ['xl', 'destroy', '{domain}--incoming'],
  stateDir: '/run/hefery-remus',
  minRestartIntervalMs: 5000,
  readyPattern: 'Checkpointed save', // "replicating" = the first checkpoint went out
  readyTimeoutMs: 10 * 60_000,
  stopTimeoutMs: 2 * 60_000,
  retry: { initialMs: 2000, maxMs: 20_000 },
};

export interface DriverEvent {
  ev: 'ready' | 'xl' | 'restart' | 'fault' | 'log' | 'ack' | 'result' | 'fatal';
  t: number;
  [k: string]: unknown;
}

export interface RestartEvent extends DriverEvent {
  fromMs: number | null;
  toMs: number;
  waitedMs: number;
  gapMs: number;
}

/** A JSON-line event of a dom0 helper (remus-driver.js, agent-session.js): `t` is the helper's monotonic ms. */
export interface Dom0Event {
  ev: string;
  t: number;
  [k: string]: unknown;
}

/**
 * A dom0 helper started over ssh that reads JSON commands on stdin and writes
 * JSON events on stdout (all kept in `events`, in order). Commands get an id;
 * the helper acks each ({"ev":"ack","id":N}) and answers with
 * {"ev":"result","id":N,...}.
 */
export class Dom0Process<E extends Dom0Event = Dom0Event> {
  readonly events: E[] = [];
  protected readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiters: Array<{ test: (e: E) => boolean; resolve: (e: E) => void }> = [];
  private stderr = '';
  protected exited: Promise<number | null>;

  constructor(lane: Lane, cmd: string, private readonly echo: (e: E) => void = () => undefined) {
    this.child = lane.spawnDom0(cmd);
    this.child.stderr?.on('data', (c: Buffer) => (this.stderr = (this.stderr + c.toString('utf8')).slice(-4000)));
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (line) => {
      let e: E;
      try {
        e = JSON.parse(line) as E;
      } catch {
        e = { ev: 'log', t: this.now(), line: `(not JSON) ${line}` } as unknown as E;
      }
      this.events.push(e);
      this.echo(e);
      for (const w of [...this.waiters]) {
        if (w.test(e)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
    this.exited = new Promise((res) => this.child.once('close', (code) => res(code)));
  }

  /** Latest helper time seen. */
  now(): number {
    return this.events.length ? this.events[this.events.length - 1].t : 0;
  }

  /** Resolves with the first event (already seen or coming) that passes `test`. */
  waitFor(test: (e: E) => boolean, timeoutMs: number, what: string): Promise<E> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { test, resolve: (e: E) => (clearTimeout(timer), resolve(e)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; dom0 helper stderr: ${this.stderr.trim() || '(none)'}`));
      }, timeoutMs);
      this.waiters.push(w);
      void this.exited.then((code) => {
        if (this.waiters.includes(w)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          clearTimeout(timer);
          reject(new Error(`dom0 helper exited (${code}) while waiting for ${what}: ${this.stderr.trim() || '(no stderr)'}`));
        }
      });
    });
  }

  protected send(cmd: Record<string, unknown>): number {
    const id = this.nextId++;
    this.child.stdin!.write(JSON.stringify({ id, ...cmd }) + '\n');
    return id;
  }

  /** Sends a command and resolves with its result event. */
  protected request(cmd: Record<string, unknown>, timeoutMs: number, what: string): Promise<E> {
    const id = this.send(cmd);
    return this.waitFor((e) => e.ev === 'result' && e.id === id, timeoutMs, what);
  }

  /** A time mark on the helper's clock: resolves with the helper time the mark arrived. */
  async mark(timeoutMs = 60_000): Promise<number> {
    const id = this.send({ cmd: 'mark' });
    return (await this.waitFor((e) => e.ev === 'ack' && e.id === id, timeoutMs, 'mark')).t;
  }

  /** Sends close, waits for its result, ends stdin and waits for the helper's exit (SIGTERM after 10 s). */
  protected async closeWith(extra: Record<string, unknown>, timeoutMs: number): Promise<void> {
    try {
      await this.request({ cmd: 'close', ...extra }, timeoutMs, 'close');
    } finally {
      this.child.stdin!.end();
      const t = setTimeout(() => this.child.kill('SIGTERM'), 10_000);
      await this.exited;
      clearTimeout(t);
    }
  }

  kill(): void {
    this.child.kill('SIGTERM');
  }
}

/** The xen-remus backend alone in dom0 (test/xen/dom0/remus-driver.ts). */
export class RemusDriver extends Dom0Process<DriverEvent> {
  /** `backend`: the agent config's backend section, passed to parseBackendConfig in dom0. */
  constructor(lane: Lane, domain: string, backend: unknown, echo: (e: DriverEvent) => void = () => undefined) {
    const arg = JSON.stringify({ domain, backend }).replace(/'/g, `'\\''`);
    super(lane, `LD_LIBRARY_PATH=${DOM0_LIB} exec ${DOM0_NODE} ${DOM0_DRIVER} '${arg}'`, echo);
  }

  /** backend.setInterval; resolves with the result event (ok or not). */
  set(intervalMs: number, timeoutMs: number): Promise<DriverEvent> {
    return this.request({ cmd: 'set', intervalMs }, timeoutMs, `setInterval(${intervalMs})`);
  }

  /** backend.stop: fence the secondary, the old xl resumes the guest alone and exits. */
  stop(timeoutMs: number): Promise<DriverEvent> {
    return this.request({ cmd: 'stop' }, timeoutMs, 'stop');
  }

  close(leaveRunning: boolean, timeoutMs: number): Promise<void> {
    return this.closeWith({ leaveRunning }, timeoutMs);
  }
}

/** Prints the driver's backend log, restarts and faults as they come (progress of a long test). */
export function echoDriverEvent(e: DriverEvent): void {
  if (e.ev === 'log' || e.ev === 'restart' || e.ev === 'fault' || e.ev === 'fatal') {
    process.stderr.write(`xen-lane: [dom0 ${(e.t / 1000).toFixed(1)} s] ${e.ev}: ${JSON.stringify(e.line ?? e.error ?? e)}\n`);
  }
}

// ---- the checkpoint signal ---------------------------------------------------------------
// xl's own output, as the backend logs it: libxc's save side prints one
// "Checkpointed save: N/N 100%" progress line per checkpoint sent (primary;
// a checkpoint of more than 1024 dirty pages also prints partial "1024/N"
// lines, not counted), and the receiving side (`xl migrate-receive -r`, whose
// output shares the stream) one "All records processed" line per checkpoint
// applied to the secondary.

export const SENT = /xc: progress: Checkpointed save: (\d+)\/\1\s/;
export const APPLIED = /xc: info: All records processed/;
/** The old xl, fenced (its secondary destroyed), gives up and resumes the guest at the primary. */
export const RESUMED = /Remus: Backup failed\? resuming domain at primary/;

export interface PhaseStats {
  intervalMs: number;
  seconds: number;
  sent: number;
  applied: number;
  perSecond: number;
  /** Time between consecutive sent checkpoints, ms. */
  gapMs: { min: number; median: number; max: number } | null;
}

export function xlTimes(events: readonly Dom0Event[], re: RegExp, from: number, to: number): number[] {
  return events.filter((e) => e.ev === 'xl' && e.t >= from && e.t < to && re.test(String(e.line))).map((e) => e.t);
}

export function phaseStats(events: readonly Dom0Event[], intervalMs: number, from: number, to: number): PhaseStats {
  const sent = xlTimes(events, SENT, from, to);
  const applied = xlTimes(events, APPLIED, from, to);
  const gaps = sent.slice(1).map((t, i) => t - sent[i]).sort((a, b) => a - b);
  const seconds = (to - from) / 1000;
  return {
    intervalMs,
    seconds: Math.round(seconds * 10) / 10,
    sent: sent.length,
    applied: applied.length,
    perSecond: Math.round((sent.length / seconds) * 1000) / 1000,
    gapMs: gaps.length ? { min: gaps[0], median: gaps[Math.floor(gaps.length / 2)], max: gaps[gaps.length - 1] } : null,
  };
}

export interface RestartBreakdown {
  /** Request reached the driver until the old xl resumed the guest alone (fence + xl's exit path), ms. */
  stopMs: number | null;
  /** From there until the new xl's first checkpoint (full copy + first checkpoint), ms. */
  startMs: number | null;
}

/** Splits a restart requested at driver time `from` using xl's own lines. */
export function restartBreakdown(events: readonly Dom0Event[], from: number): RestartBreakdown {
  const resumed = xlTimes(events, RESUMED, from, Infinity)[0];
  if (resumed === undefined) return { stopMs: null, startMs: null };
  const first = xlTimes(events, SENT, resumed, Infinity)[0];
  return { stopMs: resumed - from, startMs: first === undefined ? null : first - resumed };
}
