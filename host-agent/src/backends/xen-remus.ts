// The `xen-remus` backend: replicates a Xen domain with `xl remus -i MS`.
//
// Usable on its own (no daemon needed), e.g. inside a nested Xen dom0:
//
//   import { parseBackendConfig } from './config';
//   import { XenRemusBackend } from './xen-remus';
//   const cfg = parseBackendConfig({ type: 'xen-remus', args: ['-F', '-n', '-d', '-s', ''],
//     destination: 'xl migrate-receive -r -e', fence: ['xl', 'destroy', '{domain}--incoming'],
//     stateDir: '/tmp/remus', minRestartIntervalMs: 5000 }, { libvirtUri: '' });
//   const remus = new XenRemusBackend(cfg as XenRemusConfig, createLogger());
//   await remus.start('guest', 200);          // spawns xl remus -i 200 ... guest HOST
//   await remus.setInterval('guest', 50);     // controlled restart, rate-limited
//   remus.onRestart((r) => console.log(r));   // { domain, fromMs, toMs, waitedMs, gapMs }
//   await remus.stop('guest');                // fence, let xl exit, replication off
//   await remus.close({ leaveRunning: false });
//
// constructor(config: XenRemusConfig (validated by parseBackendConfig), log: Logger)
//
// Why restarts: libxl reads the interval once, when Remus starts
// (libxl_domain_remus_start), so a new interval means stopping replication
// and starting it again. Stopping is the delicate part: when the primary's
// stream ends, the secondary's `xl migrate-receive -r` fails over and
// unpauses its copy. So a stop first runs the configured `fence` command
// (destroy the secondary's copy); the primary's xl then sees the backup fail,
// resumes the domain at the primary and exits on its own. Only if it does not
// exit in time is it sent SIGTERM, then SIGKILL. The unprotected gap (fence
// start until the new xl is replicating) is measured and logged.
//
// Rate limit: two restarts of one domain are at least minRestartIntervalMs
// apart. A request that arrives earlier waits exactly the remaining time; a
// newer request replaces a waiting one (the replaced one resolves with
// applied: false), so a tighten never waits behind a relax.
//
// Supervision: an xl that exits on its own after it was replicating is a
// fault (onFault), restarted at its interval with exponential backoff; the
// recovery is reported too. Nothing goes through a shell: xl and the fence
// command are spawned with argv arrays, and domain names must match
// DOMAIN_NAME. xl's output goes to STATEDIR/<domain>.log and its pid and argv
// to STATEDIR/<domain>.json, so xl keeps running when the agent stops
// (replication left at its last interval) and the next agent adopts it.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log';
import { DOMAIN_NAME } from '../protocol/api';
import type { XenRemusConfig } from './config';
import type { ApplyResult, BackendCapabilities, BackendFault, ReplicationBackend, SetIntervalOptions } from './types';

/** One restart of a domain's replication (interval change or recovery). */
export interface RemusRestart {
  domain: string;
  fromMs: number | null;
  toMs: number;
  /** Time the request waited for the rate limit or the backoff, ms. */
  waitedMs: number;
  /** Fence start (or spawn, when nothing ran) until the new xl replicates, ms. */
  gapMs: number;
}

interface Running {
  pid: number;
  intervalMs: number;
  /** Our child, or null when adopted from a previous agent (watched by polling). */
  child: ChildProcess | null;
  /** Resolves with a description of how it ended. */
  exited: Promise<string>;
  /** Set while we stop it on purpose: its exit is not a fault. */
  stopping: boolean;
  /** Left running at close(): no longer watched. */
  detached: boolean;
  startedAt: number;
  /** true once it counted as replicating (settled / printed readyPattern). */
  ready: boolean;
  logFrom: number;
}

interface Waiter {
  resolve: (r: ApplyResult) => void;
  reject: (e: Error) => void;
}

interface Wanted {
  intervalMs: number;
  since: number;
  bypass: boolean;
  waiters: Waiter[];
}

interface DomainSlot {
  proc: Running | null;
  wanted: Wanted | null;
  busy: boolean;
  timer: NodeJS.Timeout | null;
  /** performance.now() of the last start attempt: the rate limit counts from it. */
  lastStartAt: number | null;
  /** Automatic restart after an unexpected exit. */
  backoff: { attempt: number; until: number } | null;
  /** A fault was reported and no recovery since. */
  faulted: boolean;
  released: boolean;
  /**
   * A previous agent's xl remus is gone (stale state file): its secondary's
   * receiving domain may still be there, and a new `xl remus` would fail on
   * it ("Domain with name DOMAIN--incoming already exists"). Fenced before
   * the next start.
   */
  strayReceiver: boolean;
}

interface StateFile {
  pid: number;
  intervalMs: number;
  argv: string[];
  startedAt: string;
}

const now = () => performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class XenRemusBackend implements ReplicationBackend {
  readonly name = 'xen-remus';
  readonly capabilities: BackendCapabilities;
  private readonly slots = new Map<string, DomainSlot>();
  private readonly faultListeners: Array<(f: BackendFault) => void> = [];
  private readonly restartListeners: Array<(r: RemusRestart) => void> = [];
  private readonly ready: RegExp | null;
  private closed = false;

  constructor(private readonly cfg: XenRemusConfig, private readonly log: Logger) {
    this.capabilities = {
      liveIntervalChange: false,
      restartsReplication: true,
      minIntervalMs: cfg.minIntervalMs,
      minChangeIntervalMs: cfg.minRestartIntervalMs,
    };
    this.ready = cfg.readyPattern ? new RegExp(cfg.readyPattern) : null;
    mkdirSync(cfg.stateDir, { recursive: true, mode: 0o750 });
    if (!cfg.fence) log.warn('xen-remus: no fence command configured: each restart ends the stream and the secondary fails over (two running copies) unless something else stops it');
  }

  /** The exact argv after the xl executable (tests and the Xen lane check it). */
  argv(domain: string, intervalMs: number): string[] {
    checkDomain(domain);
    return ['remus', '-i', String(intervalMs), ...this.cfg.args, domain, this.destinationOf(domain)];
  }

  /** Starts replicating `domain` at `intervalMs` (same as setInterval; named for standalone use). */
  start(domain: string, intervalMs: number): Promise<ApplyResult> {
    return this.setInterval(domain, intervalMs);
  }

  setInterval(domain: string, intervalMs: number, opts: SetIntervalOptions = {}): Promise<ApplyResult> {
    try {
      if (this.closed) throw new Error('xen-remus backend is closed');
      checkDomain(domain);
      if (!Number.isInteger(intervalMs) || intervalMs < this.cfg.minIntervalMs) {
        throw new Error(`xen-remus: interval must be a whole number of ms >= ${this.cfg.minIntervalMs}, got ${intervalMs}`);
      }
      this.destinationOf(domain);
    } catch (e) {
      return Promise.reject(e);
    }
    const slot = this.slot(domain);
    slot.released = false;
    if (!slot.proc && !slot.busy) this.adopt(domain, slot);
    return new Promise<ApplyResult>((resolve, reject) => {
      const w = slot.wanted;
      if (w && w.intervalMs === intervalMs) {
        w.waiters.push({ resolve, reject });
        w.bypass ||= !!opts.bypassRateLimit;
      } else {
        if (w) this.supersede(domain, w, intervalMs);
        slot.wanted = { intervalMs, since: now(), bypass: !!opts.bypassRateLimit, waiters: [{ resolve, reject }] };
      }
      this.pump(domain);
    });
  }

  current(domain: string): number | null {
    const p = this.slots.get(domain)?.proc;
    return p && p.ready ? p.intervalMs : null;
  }

  /** Stops replicating `domain` (fence, then let xl exit). */
  async stop(domain: string): Promise<void> {
    checkDomain(domain);
    const slot = this.slot(domain);
    slot.released = true;
    this.cancelWanted(domain, slot, 'replication of the domain was stopped');
    while (slot.busy) await sleep(20);
    if (!slot.proc) this.adopt(domain, slot);
    const p = slot.proc;
    if (!p) return;
    slot.busy = true;
    try {
      await this.stopProc(domain, p);
      slot.proc = null;
    } finally {
      slot.busy = false;
      this.pump(domain); // a request that came in meanwhile starts replication again
    }
  }

  release(domain: string): Promise<void> {
    return this.stop(domain);
  }

  onFault(listener: (f: BackendFault) => void): void {
    this.faultListeners.push(listener);
  }

  onRestart(listener: (r: RemusRestart) => void): void {
    this.restartListeners.push(listener);
  }

  /** Default (agent shutdown): xl keeps replicating, detached; the next agent adopts it. leaveRunning false: stop every domain. */
  async close(opts: { leaveRunning?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [domain, slot] of this.slots) {
      this.cancelWanted(domain, slot, 'xen-remus backend closed');
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
    }
    for (const [domain, slot] of this.slots) {
      while (slot.busy) await sleep(20);
      const p = slot.proc;
      if (!p) continue;
      if (opts.leaveRunning === false) {
        await this.stopProc(domain, p).catch((e: Error) => this.log.error(`xen-remus ${domain}: stop at close failed: ${e.message}`));
        slot.proc = null;
      } else {
        p.stopping = true; // no longer supervised by us
        p.detached = true;
        p.child?.unref();
        this.log.info(`xen-remus ${domain}: xl remus (pid ${p.pid}) left running at ${p.intervalMs} ms`);
      }
    }
  }

  // ---- the per-domain queue ----------------------------------------------------------------

  private slot(domain: string): DomainSlot {
    let s = this.slots.get(domain);
    if (!s) {
      s = { proc: null, wanted: null, busy: false, timer: null, lastStartAt: null, backoff: null, faulted: false, released: false, strayReceiver: false };
      this.slots.set(domain, s);
    }
    return s;
  }

  private supersede(domain: string, w: Wanted, by: number): void {
    const cur = this.current(domain);
    for (const x of w.waiters) x.resolve({ applied: false, intervalMs: cur, note: `superseded by a request for ${by} ms before it was applied` });
  }

  private cancelWanted(domain: string, slot: DomainSlot, why: string): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.backoff = null;
    const w = slot.wanted;
    slot.wanted = null;
    if (w) for (const x of w.waiters) x.reject(new Error(`xen-remus ${domain}: ${why}`));
  }

  /** Runs the domain's next operation when it may: one at a time, after the rate limit / backoff. */
  private pump(domain: string): void {
    const slot = this.slot(domain);
    if (slot.busy || !slot.wanted || this.closed) return;
    const w = slot.wanted;
    if (slot.proc && slot.proc.intervalMs === w.intervalMs) {
      slot.wanted = null;
      for (const x of w.waiters) x.resolve({ applied: true, intervalMs: w.intervalMs, note: `xl remus already replicating at ${w.intervalMs} ms` });
      return;
    }
    const at = w.bypass ? 0 : this.earliest(slot);
    const wait = at - now();
    if (wait > 0) {
      if (!slot.timer) {
        const why = slot.proc ? 'the restart rate limit' : 'the restart backoff';
        this.log.info(`xen-remus ${domain}: ${w.intervalMs} ms waits ${Math.ceil(wait)} ms for ${why}`);
        slot.timer = setTimeout(() => {
          slot.timer = null;
          this.pump(domain);
        }, Math.ceil(wait));
      }
      return;
    }
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.wanted = null;
    slot.busy = true;
    this.apply(domain, slot, w).then(
      (r) => {
        for (const x of w.waiters) x.resolve(r);
      },
      (e: Error) => {
        for (const x of w.waiters) x.reject(e);
        if (w.waiters.length === 0) this.retryLater(domain, slot, w.intervalMs, e);
      },
    ).finally(() => {
      slot.busy = false;
      this.pump(domain);
    });
  }

  private earliest(slot: DomainSlot): number {
    if (slot.proc) return slot.lastStartAt === null ? 0 : slot.lastStartAt + this.cfg.minRestartIntervalMs;
    return slot.backoff ? slot.backoff.until : 0;
  }

  /** Start (nothing runs) or restart (another interval runs). */
  private async apply(domain: string, slot: DomainSlot, w: Wanted): Promise<ApplyResult> {
    const waitedMs = Math.round(now() - w.since);
    const old = slot.proc;
    const t0 = now();
    if (old) {
      try {
        await this.stopProc(domain, old);
      } catch (e) {
        throw new Error(`xen-remus ${domain}: interval not changed, replication continues at ${old.intervalMs} ms: ${(e as Error).message}`);
      }
      slot.proc = null;
    }
    slot.lastStartAt = now();
    if (!old && slot.strayReceiver) await this.fenceStrayReceiver(domain, slot);
    let p: Running;
    try {
      p = await this.startProc(domain, w.intervalMs);
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(old ? `xen-remus ${domain}: replication was stopped for the change from ${old.intervalMs} ms and did not start again: ${msg}` : msg);
    }
    slot.proc = p;
    slot.backoff = null;
    const gapMs = Math.round(now() - t0);
    const restart: RemusRestart = { domain, fromMs: old?.intervalMs ?? null, toMs: w.intervalMs, waitedMs, gapMs };
    const waited = waitedMs >= 50 ? `waited ${waitedMs} ms for the restart limit, ` : '';
    let note: string;
    if (old) {
      note = `xl remus restarted (${waited}unprotected gap ${gapMs} ms)`;
      this.log.info(`xen-remus ${domain}: replication restarted ${old.intervalMs} -> ${w.intervalMs} ms, unprotected gap ${gapMs} ms${waited ? `, ${waited.slice(0, -2)}` : ''}`);
    } else {
      note = `xl remus started (${waited}replicating after ${gapMs} ms)`;
      this.log.info(`xen-remus ${domain}: replication started at ${w.intervalMs} ms (pid ${p.pid}, replicating after ${gapMs} ms)`);
    }
    for (const l of this.restartListeners) l(restart);
    if (slot.faulted) {
      slot.faulted = false;
      this.emitFault({ domain, error: null });
    }
    return { applied: true, intervalMs: w.intervalMs, note };
  }

  /** After an automatic restart failed: try again later, with growing backoff. */
  private retryLater(domain: string, slot: DomainSlot, intervalMs: number, e: Error): void {
    if (slot.released || this.closed) return;
    this.log.warn(`xen-remus ${domain}: automatic restart failed: ${e.message}`);
    this.scheduleRestart(domain, slot, intervalMs);
  }

  private scheduleRestart(domain: string, slot: DomainSlot, intervalMs: number): void {
    const attempt = (slot.backoff?.attempt ?? 0) + 1;
    const delay = Math.min(this.cfg.retry.initialMs * 2 ** (attempt - 1), this.cfg.retry.maxMs);
    slot.backoff = { attempt, until: now() + delay };
    if (!slot.wanted) slot.wanted = { intervalMs, since: now(), bypass: false, waiters: [] };
    this.log.info(`xen-remus ${domain}: restarting xl remus at ${slot.wanted.intervalMs} ms in ${delay} ms (attempt ${attempt})`);
    this.pump(domain);
  }

  // ---- processes -----------------------------------------------------------------------

  private async startProc(domain: string, intervalMs: number): Promise<Running> {
    const argv = this.argv(domain, intervalMs);
    const logPath = join(this.cfg.stateDir, `${domain}.log`);
    const fd = openSync(logPath, 'a', 0o640);
    let logFrom: number;
    let child: ChildProcess;
    try {
      writeFileSync(fd, `=== ${new Date().toISOString()} hefery: ${[this.cfg.xl, ...argv].map(quoteForLog).join(' ')}\n`);
      logFrom = statSync(logPath).size;
      // detached: its own process group, so a terminal's ^C to the agent does not end replication.
      child = spawn(this.cfg.xl, argv, { stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    const spawned = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', (e) => reject(new Error(`xen-remus ${domain}: cannot run ${this.cfg.xl}: ${e.message}`)));
    });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
    });
    const p: Running = { pid: spawned, intervalMs, child, exited, stopping: false, detached: false, startedAt: now(), ready: false, logFrom };
    this.writeState(domain, { pid: p.pid, intervalMs, argv: [this.cfg.xl, ...argv], startedAt: new Date().toISOString() });
    try {
      await this.waitReady(domain, p, logPath);
    } catch (e) {
      p.stopping = true;
      await this.terminate(p);
      this.removeState(domain, p.pid);
      throw e;
    }
    p.ready = true;
    void exited.then((how) => this.onExit(domain, p, how));
    return p;
  }

  /** Replicating = alive after settleMs, or (readyPattern) a matching output line. */
  private async waitReady(domain: string, p: Running, logPath: string): Promise<void> {
    let done = false;
    const exitedEarly = p.exited.then((how) => {
      if (!done) throw new Error(`xen-remus ${domain}: xl remus ${how} before replicating: ${this.logTail(logPath, p.logFrom) || '(no output)'}`);
    });
    const ready = this.ready
      ? this.watchLog(logPath, p.logFrom, this.ready, this.cfg.readyTimeoutMs, () => done).then((ok) => {
          if (!ok && !done) throw new Error(`xen-remus ${domain}: no output line matched readyPattern /${this.cfg.readyPattern}/ within ${this.cfg.readyTimeoutMs} ms`);
        })
      : sleep(this.cfg.settleMs);
    try {
      await Promise.race([exitedEarly, ready]);
    } finally {
      done = true;
    }
  }

  private async watchLog(path: string, from: number, re: RegExp, timeoutMs: number, stop: () => boolean): Promise<boolean> {
    const deadline = now() + timeoutMs;
    let text = '';
    let pos = from;
    while (!stop() && now() < deadline) {
      const chunk = readFrom(path, pos);
      pos += chunk.length;
      text += chunk.toString('utf8');
      const lines = text.split('\n');
      text = lines.pop() ?? '';
      if (lines.some((l) => re.test(l))) return true;
      await sleep(100);
    }
    return false;
  }

  private onExit(domain: string, p: Running, how: string): void {
    const slot = this.slot(domain);
    if (p.stopping || slot.proc !== p) return;
    slot.proc = null;
    this.removeState(domain, p.pid);
    const livedMs = now() - p.startedAt;
    const logPath = join(this.cfg.stateDir, `${domain}.log`);
    const error = new Error(`xen-remus ${domain}: xl remus (pid ${p.pid}) ${how} after ${(livedMs / 1000).toFixed(1)} s; replication stopped: ${this.logTail(logPath, p.logFrom) || '(no output)'}`);
    this.log.error(error.message);
    if (!slot.faulted) {
      slot.faulted = true;
      this.emitFault({ domain, error });
    }
    // A long healthy run starts the backoff from scratch.
    if (slot.backoff && livedMs > Math.max(60_000, this.cfg.retry.maxMs)) slot.backoff = null;
    if (!slot.released && !this.closed) this.scheduleRestart(domain, slot, p.intervalMs);
  }

  /** Fence the secondary, let xl exit on its own, then SIGTERM, then SIGKILL (its whole process group). */
  private async stopProc(domain: string, p: Running): Promise<void> {
    p.stopping = true;
    if (this.cfg.fence) {
      try {
        await this.runFence(domain);
      } catch (e) {
        p.stopping = false;
        throw e;
      }
    } else {
      signalGroup(p.pid, 'SIGTERM');
    }
    await this.terminate(p);
    signalGroup(p.pid, 'SIGTERM'); // what xl forked and left behind (its receive command)
    this.removeState(domain, p.pid);
  }

  /** The fence, before a start after a stale state file; a fence that finds nothing to destroy is no error. */
  private async fenceStrayReceiver(domain: string, slot: DomainSlot): Promise<void> {
    slot.strayReceiver = false;
    if (!this.cfg.fence) return;
    try {
      await this.runFence(domain);
      this.log.info(`xen-remus ${domain}: fenced what the previous xl remus may have left on the secondary`);
    } catch (e) {
      this.log.info(`xen-remus ${domain}: nothing fenced before the start (${(e as Error).message})`);
    }
  }

  private async terminate(p: Running): Promise<void> {
    const t = this.cfg.stopTimeoutMs;
    if (await settlesWithin(p.exited, t)) return;
    this.log.warn(`xl remus (pid ${p.pid}) still running ${t} ms after the stop: SIGTERM`);
    signalGroup(p.pid, 'SIGTERM');
    if (await settlesWithin(p.exited, t)) return;
    this.log.warn(`xl remus (pid ${p.pid}) ignored SIGTERM: SIGKILL`);
    signalGroup(p.pid, 'SIGKILL');
    await settlesWithin(p.exited, t);
  }

  private runFence(domain: string): Promise<void> {
    const [cmd, ...args] = (this.cfg.fence as string[]).map((a) => a.split('{domain}').join(domain));
    return new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr?.on('data', (c: Buffer) => {
        if (err.length < 2000) err += c.toString('utf8');
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.cfg.fenceTimeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`fence command ${cmd} cannot run: ${e.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`fence command ${[cmd, ...args].join(' ')} failed (${signal ? `killed by ${signal}` : `exit code ${code}`}): ${err.trim().slice(0, 500) || '(no output)'}`));
      });
    });
  }

  // ---- adoption of an xl left running by a previous agent ----------------------------------

  private adopt(domain: string, slot: DomainSlot): void {
    const st = this.readState(domain);
    if (!st) return;
    const expected = this.argv(domain, st.intervalMs);
    const isOurs = () => runsArgv(st.pid, this.cfg.xl, expected);
    const alive = processArgv(st.pid);
    if (!alive || !isOurs()) {
      this.log.info(`xen-remus ${domain}: stale state file (pid ${st.pid} ${alive ? 'runs something else' : 'is gone'}) removed`);
      this.removeState(domain, st.pid);
      slot.strayReceiver = true;
      return;
    }
    const p: Running = { pid: st.pid, intervalMs: st.intervalMs, child: null, exited: Promise.resolve(''), stopping: false, detached: false, startedAt: now(), ready: true, logFrom: 0 };
    // Not our child: no exit event, so poll (the argv check also guards against pid reuse).
    const exited = (async () => {
      while (!p.detached && isOurs()) await sleep(250);
      return p.detached ? 'left running' : 'exited';
    })();
    p.exited = exited;
    slot.proc = p;
    void exited.then((how) => this.onExit(domain, p, how));
    this.log.info(`xen-remus ${domain}: adopted xl remus pid ${st.pid} replicating at ${st.intervalMs} ms`);
  }

  private statePath(domain: string): string {
    return join(this.cfg.stateDir, `${domain}.json`);
  }

  private readState(domain: string): StateFile | null {
    try {
      const v = JSON.parse(readFileSync(this.statePath(domain), 'utf8')) as Partial<StateFile>;
      if (!Number.isInteger(v.pid) || !Number.isInteger(v.intervalMs) || !Array.isArray(v.argv)) throw new Error('malformed');
      return v as StateFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn(`xen-remus ${domain}: unreadable state file ${this.statePath(domain)} ignored: ${(e as Error).message}`);
      }
      return null;
    }
  }

  private writeState(domain: string, st: StateFile): void {
    const path = this.statePath(domain);
    writeFileSync(`${path}.tmp`, JSON.stringify(st) + '\n', { mode: 0o640 });
    renameSync(`${path}.tmp`, path);
  }

  private removeState(domain: string, pid: number): void {
    const st = this.readState(domain);
    if (st && st.pid !== pid) return; // a newer xl already wrote its own
    try {
      unlinkSync(this.statePath(domain));
    } catch {
      // already gone
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  private destinationOf(domain: string): string {
    const d = Object.prototype.hasOwnProperty.call(this.cfg.destinations, domain) ? this.cfg.destinations[domain] : this.cfg.destination;
    if (d === null) throw new Error(`xen-remus: no destination for domain ${domain} (set backend.destination or backend.destinations.${domain})`);
    return d;
  }

  private logTail(path: string, from: number): string {
    const buf = readFrom(path, from);
    const lines = buf.subarray(Math.max(0, buf.length - 2000)).toString('utf8').trim().split('\n');
    return lines.slice(-3).join(' | ').slice(0, 600);
  }

  private emitFault(f: BackendFault): void {
    for (const l of this.faultListeners) {
      try {
        l(f);
      } catch (e) {
        this.log.error(`xen-remus fault listener failed: ${(e as Error).message}`);
      }
    }
  }
}

/** Refuses any name that is not a plain libvirt/xl domain name, before anything is spawned. */
function checkDomain(domain: string): void {
  if (typeof domain !== 'string' || !DOMAIN_NAME.test(domain)) {
    throw new Error(`xen-remus: refusing domain name ${JSON.stringify(domain)}: expected ${DOMAIN_NAME}`);
  }
}

/**
 * Signals xl's whole process group (xl was spawned detached, so its pid is the
 * group id): the migration child it forked (`sh -c` of the destination) goes
 * too. Never the bare pid: once xl is gone that number may belong to anyone.
 */
function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is gone
  }
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.then(() => true), new Promise<boolean>((res) => (t = setTimeout(() => res(false), ms)))]);
  clearTimeout(t);
  return r;
}

/** The argv of a live process (Linux /proc), null when it does not exist. */
function processArgv(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return null; // zombie
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return null;
  }
}

/** Does `pid` run `xl ...argv`? (an interpreter may come first when xl is a script) */
function runsArgv(pid: number, xl: string, argv: readonly string[]): boolean {
  const a = processArgv(pid);
  if (!a || a.length <= argv.length) return false;
  const head = a.slice(0, a.length - argv.length);
  return head.includes(xl) && a.slice(-argv.length).every((x, i) => x === argv[i]);
}

function readFrom(path: string, from: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = statSync(path).size;
    const len = Math.max(0, Math.min(size - from, 1 << 20));
    const buf = Buffer.alloc(len);
    const n = len > 0 ? readSync(fd, buf, 0, len, from) : 0;
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function quoteForLog(a: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
