// The ProtectionService the daemon drives: the Controller decides, the
// ReplicationBackend applies, the DecisionSink records (audit log in the
// store + decision.event to subscribers).
//
// Decisions are recorded once their outcome is known (applied, superseded,
// or failed with the backend's error), only for changes: a target that
// moves, an operator's pin/resume, a pin expiry, start-up, shutdown, a
// backend fault. A failed apply is retried with backoff; a retry that fails
// the same way again is logged, not recorded again.
//
// A timer calls Controller.tick() so a domain whose samples stop arriving
// falls back to the safe interval even though observe() is never called.

import type { BackendFault, ReplicationBackend } from '../backends/types';
import { ConfigError } from '../config';
import type { Logger } from '../log';
import { ErrorCodes, type Decision, type Params, type ProtectionStatus, type Risk, type Sample } from '../protocol/api';
import { RpcFailure } from '../protocol/peer';
import type { DomainEvent } from '../libvirt/types';
import type { ProtectionService } from '../rpc/services';
import type { DomainPolicy, PolicyConfig } from './config';
import { Controller, PolicyError, POLICY_WHO, type Intent } from './controller';
import type { DecisionSink, NewDecision } from './types';

export interface PolicyServiceOptions {
  policy: PolicyConfig;
  backend: ReplicationBackend;
  sink: DecisionSink;
  log: Logger;
  /** The agent's sampling interval, ms: staleness must allow for it; default time span of one risk value. */
  samplingIntervalMs?: number;
  /** Clock, ms since the epoch (tests inject one). */
  now?: () => number;
  /** Period of the staleness / pin-expiry check, ms; 0: no timer (tests call tick()). Default: a quarter of the shortest maxSampleAgeMs, at most 1 s. */
  tickMs?: number;
  /** Backoff of re-applying after a failed apply. */
  retry?: { initialMs: number; maxMs: number };
}

const RPC_CODE = { 'not-protected': ErrorCodes.NotFound, invalid: ErrorCodes.InvalidParams, unavailable: ErrorCodes.Busy } as const;

export class PolicyProtectionService implements ProtectionService {
  readonly backend: string;
  private readonly ctl: Controller;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | null;
  private readonly retries = new Map<string, { attempt: number; timer: NodeJS.Timeout | null }>();
  /** Last failure recorded per domain ("interval|message"): the same failure again is only logged. */
  private readonly lastFailure = new Map<string, string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: PolicyServiceOptions) {
    const b = opts.backend;
    this.backend = b.name;
    this.now = opts.now ?? Date.now;
    checkAgainstBackend(opts.policy, b, opts.samplingIntervalMs ?? null, opts.log);
    this.ctl = new Controller(opts.policy, { now: this.now, minIntervalMs: b.capabilities.minIntervalMs, riskStepMs: opts.samplingIntervalMs });
    b.onFault((f) => this.onFault(f));
    const shortestAge = Math.min(opts.policy.defaults.maxSampleAgeMs, ...opts.policy.overrides.map((o) => o.policy.maxSampleAgeMs));
    const tickMs = opts.tickMs ?? Math.min(1000, Math.max(50, Math.floor(shortestAge / 4)));
    this.timer = tickMs > 0 ? setInterval(() => this.tick(), tickMs) : null;
    this.timer?.unref();
  }

  // ---- ProtectionService ------------------------------------------------------------------

  observe(sample: Sample, risk: Risk | null): void {
    if (this.stopping) return;
    if (sample.state === 'vanished') {
      this.forget(sample.domain);
      return;
    }
    this.run(this.ctl.observe(sample, risk ? risk.next : null));
  }

  statsUnavailable(reason: string): void {
    if (this.stopping) return;
    this.run(this.ctl.statsUnavailable(reason));
  }

  storeUnavailable(reason: string | null): void {
    if (this.stopping) return;
    this.run(this.ctl.storeUnavailable(reason));
  }

  onDomainEvent(ev: DomainEvent): void {
    if (this.stopping) return;
    this.run(this.ctl.domainEvent(ev.domain, ev.kind, ev.detail));
  }

  status(domain: string): ProtectionStatus | null {
    const s = this.ctl.status(domain);
    if (!s) return null;
    if (s.mode === 'unprotected') return { mode: 'unprotected', intervalMs: null, pinnedUntil: null, backend: this.backend, reason: s.reason };
    const cur = this.opts.backend.current(domain);
    const pending = s.targetMs !== null && cur !== s.targetMs ? ` (pending: ${s.targetMs} ms, in effect: ${cur === null ? 'none' : `${cur} ms`})` : '';
    const p = this.ctl.policyOf(domain);
    return {
      mode: s.mode, intervalMs: cur, pinnedUntil: s.pinnedUntil, backend: this.backend, reason: (s.reason + pending).slice(0, 500),
      ...(p ? { thresholds: { raise: p.raise, lower: p.lower }, ladder: p.ladder.slice(0, 64) } : {}),
    };
  }

  async pin(req: Params<'interval.pin'>): Promise<Decision> {
    const intent = this.decide(() => this.ctl.pin(req.domain, req.intervalMs, req.expiresAt ?? null, req.who));
    return (await this.execute(intent, false)) as Decision;
  }

  async resume(req: Params<'interval.resume'>): Promise<Decision> {
    const intent = this.decide(() => this.ctl.resume(req.domain, req.who));
    return (await this.execute(intent, false)) as Decision;
  }

  /** Every protected domain to its safe interval (the backend may not wait for its rate limit), then the backend is closed. */
  shutdown(): Promise<void> {
    if (!this.stopping) this.stopping = this.doShutdown();
    return this.stopping;
  }

  /** The periodic check (staleness, pin expiry); public for tests that run without the timer. */
  tick(): void {
    if (this.stopping) return;
    this.run(this.ctl.tick());
  }

  /** The effective policy of a protected domain (tests, diagnostics). */
  policyOf(domain: string): DomainPolicy | null {
    return this.ctl.policyOf(domain);
  }

  /** Resolves once every apply started so far has finished (tests). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  // ---- applying and recording ---------------------------------------------------------------

  private decide(fn: () => Intent): Intent {
    if (this.stopping) throw new RpcFailure(ErrorCodes.Busy, 'the agent is stopping');
    try {
      return fn();
    } catch (e) {
      if (e instanceof PolicyError) throw new RpcFailure(RPC_CODE[e.code], e.message);
      throw e;
    }
  }

  private run(intents: Intent[]): void {
    for (const i of intents) {
      const p = this.execute(i, false).catch((e: Error) => this.opts.log.error(`${i.domain}: recording a decision failed: ${e.message}`));
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  /** Applies an Intent and records the outcome; quiet: a repeat of the last recorded failure is only logged (returns null). */
  private async execute(i: Intent, quiet: boolean): Promise<Decision | null> {
    const b = this.opts.backend;
    const before = b.current(i.domain);
    const base = { domain: i.domain, kind: i.kind, oldIntervalMs: before, newIntervalMs: i.intervalMs, risk: i.risk, who: i.who };
    if (!i.apply) {
      return this.record({ ...base, applied: false, reason: `${i.reason} (not applied now: the domain is not running; applied when it runs again)` });
    }
    try {
      const r = await b.setInterval(i.domain, i.intervalMs, { bypassRateLimit: i.bypassRateLimit });
      if (!r.applied) return this.record({ ...base, applied: false, reason: `${i.reason}; ${r.note}` });
      this.retryDone(i.domain);
      this.lastFailure.delete(i.domain);
      if (!this.stopping) this.run(this.ctl.applied(i.domain, true));
      return this.record({ ...base, applied: true, reason: `${i.reason}; ${r.note}` });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.opts.log.error(`${i.domain}: applying ${i.intervalMs} ms failed: ${err.message}`);
      if (!this.stopping) {
        this.run(this.ctl.applied(i.domain, false, err));
        this.scheduleRetry(i.domain);
      }
      const key = `${i.intervalMs}|${err.message}`;
      if (quiet && this.lastFailure.get(i.domain) === key) return null;
      this.lastFailure.set(i.domain, key);
      return this.record({ ...base, applied: false, reason: i.reason, error: err.message });
    }
  }

  private record(d: Omit<NewDecision, 'ts'>): Decision {
    const saved = this.opts.sink.record({
      ...d,
      ts: Math.round(this.now()),
      reason: d.reason.slice(0, 500),
      who: d.who.slice(0, 128),
      ...(d.error !== undefined ? { error: d.error.slice(0, 2000) } : {}),
    });
    const arrow = `${saved.oldIntervalMs ?? '-'} -> ${saved.newIntervalMs ?? '-'} ms`;
    this.opts.log.info(`${saved.domain}: ${saved.kind} ${arrow}${saved.applied ? '' : ' (not applied)'} by ${saved.who}: ${saved.reason}${saved.error ? ` [error: ${saved.error}]` : ''}`);
    return saved;
  }

  private scheduleRetry(domain: string): void {
    const cfg = this.opts.retry ?? { initialMs: 1000, maxMs: 60_000 };
    const r = this.retries.get(domain) ?? { attempt: 0, timer: null };
    r.attempt++;
    if (r.timer) clearTimeout(r.timer);
    const delay = Math.min(cfg.initialMs * 2 ** (r.attempt - 1), cfg.maxMs);
    r.timer = setTimeout(() => {
      r.timer = null;
      this.retry(domain, r.attempt);
    }, delay);
    r.timer.unref();
    this.retries.set(domain, r);
  }

  private retry(domain: string, attempt: number): void {
    if (this.stopping) return;
    const s = this.ctl.status(domain);
    if (!s || s.mode === 'unprotected' || s.targetMs === null || !this.ctl.isRunning(domain)) return;
    if (this.opts.backend.current(domain) === s.targetMs) return this.retryDone(domain);
    const kind = s.mode === 'pinned' ? 'override' : s.mode === 'auto' ? 'auto' : 'failsafe';
    const intent: Intent = {
      domain, kind, intervalMs: s.targetMs, previousMs: s.targetMs, risk: null, who: POLICY_WHO, apply: true,
      reason: `retry ${attempt} of applying ${s.targetMs} ms (${s.reason})`,
    };
    const p = this.execute(intent, true).catch((e: Error) => this.opts.log.error(`${domain}: retry failed: ${e.message}`));
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private retryDone(domain: string): void {
    const r = this.retries.get(domain);
    if (r?.timer) clearTimeout(r.timer);
    this.retries.delete(domain);
  }

  private onFault(f: BackendFault): void {
    if (this.stopping || !this.ctl.isProtected(f.domain)) return;
    if (!f.error) {
      this.opts.log.info(`${f.domain}: ${this.backend} reports replication recovered`);
      this.lastFailure.delete(f.domain);
      this.run(this.ctl.backendFault(f.domain, null));
      return;
    }
    const intents = this.ctl.backendFault(f.domain, f.error);
    if (intents.length > 0) {
      this.run(intents);
      return;
    }
    // Already at the safe interval: the fault itself still goes to the audit log.
    const s = this.ctl.status(f.domain);
    this.lastFailure.set(f.domain, `${s?.targetMs}|${f.error.message}`);
    this.record({
      domain: f.domain, kind: 'failsafe', oldIntervalMs: s?.targetMs ?? null, newIntervalMs: s?.targetMs ?? null, risk: null, who: POLICY_WHO,
      applied: false, reason: `${this.backend} fault: replication interrupted; safe interval kept, the backend restarts it`, error: f.error.message,
    });
  }

  private forget(domain: string): void {
    this.retryDone(domain);
    this.lastFailure.delete(domain);
    const wasProtected = this.ctl.isProtected(domain);
    this.ctl.forget(domain);
    if (wasProtected) {
      this.opts.backend.release(domain).catch((e: Error) => this.opts.log.warn(`${domain}: releasing the vanished domain failed: ${e.message}`));
    }
  }

  private async doShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const d of [...this.retries.keys()]) this.retryDone(d);
    const intents = this.ctl.shutdown();
    await Promise.allSettled(intents.map((i) => this.execute(i, false)));
    await Promise.allSettled([...this.inflight]);
    await this.opts.backend.close();
    this.opts.log.info(`protection stopped: ${intents.length} domain(s) left at their safe interval (${this.backend})`);
  }
}

/** Refuses a policy the backend cannot carry out, naming the config field. */
function checkAgainstBackend(policy: PolicyConfig, b: ReplicationBackend, samplingMs: number | null, log: Logger): void {
  const all: Array<[string, DomainPolicy]> = [['policy.defaults', policy.defaults], ...policy.overrides.map((o): [string, DomainPolicy] => [`policy.domains.${o.pattern}`, o.policy])];
  for (const [path, p] of all) {
    if (p.safeIntervalMs < b.capabilities.minIntervalMs) {
      throw new ConfigError(`${path}.safeIntervalMs: ${p.safeIntervalMs} ms is shorter than the ${b.name} backend's minimum of ${b.capabilities.minIntervalMs} ms`);
    }
    if (samplingMs !== null && p.maxSampleAgeMs < 2 * samplingMs) {
      throw new ConfigError(`${path}.maxSampleAgeMs: expected >= 2 x sampling.intervalMs (${2 * samplingMs}), got number ${p.maxSampleAgeMs}`);
    }
    if (p.dwellMs < b.capabilities.minChangeIntervalMs) {
      log.warn(`${path}.dwellMs (${p.dwellMs} ms) is shorter than the ${b.name} backend's minimum time between changes (${b.capabilities.minChangeIntervalMs} ms): relaxing will wait for the backend`);
    }
    const restartDwellMs = Math.max(RESTART_DWELL_MIN_MS, RESTART_DWELL_FACTOR * b.capabilities.minChangeIntervalMs);
    if (b.capabilities.restartsReplication && p.dwellMs < restartDwellMs) {
      log.warn(`${path}.dwellMs (${p.dwellMs} ms) is short for the ${b.name} backend, which restarts replication on every change (the domain is unprotected meanwhile): a risk that wavers makes the agent relax and tighten again within one incident; choose several restart gaps, ${restartDwellMs} ms or more (docs/policy.md)`);
    }
  }
}

/**
 * With a backend that restarts replication on a change, each relax costs an
 * unprotected gap: the dwell should span several restarts. In the nested Xen
 * lane a 20 s dwell with 30 s restarts left the guest unprotected for most of
 * a fault (docs/xen-lane.md).
 */
const RESTART_DWELL_FACTOR = 4;
const RESTART_DWELL_MIN_MS = 120_000;
