// The interval controller: pure decisions, no I/O, clock injected.
//
// Per protected domain it keeps a target checkpoint interval and a mode:
//   failsafe  a fail-safe cause is active -> the safe (shortest) interval
//             (a pin shorter than safe is kept: it is even safer)
//   pinned    an operator pin, honoured while the agent can observe the
//             domain and replication works (no model does not suspend it:
//             a pin replaces the risk-based decision)
//   auto      risk decides, with hysteresis and dwell
// and `unprotected` for domains the policy does not cover.
//
// Fail-safe causes: startup (nothing known yet), stale (no sample for
// maxSampleAgeMs; the service's timer calls tick() so this fires even when
// no sample arrives at all), no-risk (no model / prediction error), stats
// (collection failing), backend (apply failed, replication died), down
// (domain crashed/stopped), store (the audit log cannot be written: disk
// full, I/O error; held until writes succeed again). Agent shutdown sets every domain to the safe
// interval. Only a healthy domain may get a longer interval than the safe
// one: by risk when no cause is active, by pin when none but no-risk is.
//
// Auto mode: risk >= raise -> safe at once; risk < lower and dwellMs since the
// last change -> one ladder step longer (or, with the hazard rule, the
// Young/Daly interval); in between -> hold (the hazard rule may still
// tighten). Tightening is never delayed; relaxing always waits for the dwell.
//
// The controller returns Intents; the protection service applies them
// through the backend and records each as a Decision.

import type { Decision, DomainState } from '../protocol/api';
import { policyFor, type DomainPolicy, type PolicyConfig } from './config';

export type FailsafeCause = 'startup' | 'stale' | 'no-risk' | 'stats' | 'backend' | 'down' | 'store';
export type Mode = 'auto' | 'pinned' | 'failsafe';

/** A change the service must apply (or, apply false, only record). */
export interface Intent {
  domain: string;
  kind: Decision['kind'];
  intervalMs: number;
  /** The previous target, null at start-up or after the domain (re)started. */
  previousMs: number | null;
  risk: number | null;
  reason: string;
  who: string;
  /** false: the domain is not running; recorded now, applied when it runs again. */
  apply: boolean;
  /** Agent shutdown: the backend must not wait for its rate limit. */
  bypassRateLimit?: boolean;
}

export interface ControllerStatus {
  mode: Mode | 'unprotected';
  targetMs: number | null;
  pinnedUntil: number | null;
  reason: string;
}

export type PolicyErrorCode = 'not-protected' | 'invalid' | 'unavailable';

/** A refused pin/resume; the service turns `code` into an RPC error code. */
export class PolicyError extends Error {
  constructor(readonly code: PolicyErrorCode, message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

interface Pin {
  intervalMs: number;
  until: number | null;
  who: string;
}

interface DomainCtl {
  name: string;
  policy: DomainPolicy;
  target: number | null;
  /** Time of the last target change (the dwell counts from it). */
  changedAt: number;
  causes: Map<FailsafeCause, string>;
  pin: Pin | null;
  lastSampleTs: number | null;
  /** Time the domain was first seen (staleness before any sample counts from it). */
  seenAt: number;
  risk: number | null;
  running: boolean;
  reason: string;
}

export const POLICY_WHO = 'policy';

const DOWN_STATES: ReadonlySet<DomainState> = new Set<DomainState>(['shutoff', 'crashed', 'shutdown', 'vanished']);

const CAUSE_TEXT: Record<FailsafeCause, string> = {
  startup: 'start-up',
  stale: 'no fresh sample',
  'no-risk': 'no risk',
  stats: 'stats unavailable',
  backend: 'backend error',
  down: 'domain not running',
  store: 'store cannot write',
};

export interface ControllerOptions {
  /** Clock, ms since the epoch. */
  now: () => number;
  /** The backend's shortest interval: shorter pins are refused. */
  minIntervalMs?: number;
  /** Default time span of one risk value (the sampling interval), for the hazard rule. */
  riskStepMs?: number;
}

export class Controller {
  private readonly domains = new Map<string, DomainCtl>();
  private readonly unprotected = new Set<string>();
  private stopped = false;
  /** Set while the store cannot write: every protected domain (also one seen meanwhile) is fail-safe. */
  private storeProblem: string | null = null;

  constructor(private readonly cfg: PolicyConfig, private readonly opts: ControllerOptions) {}

  // ---- inputs ---------------------------------------------------------------------------

  /** One sample of a domain with its risk (null: none). The first sample of a domain is its start-up decision. */
  observe(s: { domain: string; ts: number; state: DomainState }, risk: number | null): Intent[] {
    if (this.stopped) return [];
    const now = this.opts.now();
    let d = this.domains.get(s.domain);
    if (!d) {
      const created = this.create(s.domain, now);
      if (!created) return [];
      d = created;
      d.running = !DOWN_STATES.has(s.state);
      if (!d.running) d.causes.set('down', `domain is ${s.state}`);
      d.lastSampleTs = s.ts;
      d.risk = risk;
      return [this.startupIntent(d, now)];
    }
    const running = !DOWN_STATES.has(s.state);
    const restarted = running && !d.running;
    d.running = running;
    if (running) d.causes.delete('down');
    else d.causes.set('down', `domain is ${s.state}`);
    d.lastSampleTs = Math.max(d.lastSampleTs ?? 0, s.ts);
    d.risk = risk;
    d.causes.delete('stats');
    d.causes.delete('startup');
    const age = now - s.ts;
    if (age > d.policy.maxSampleAgeMs) d.causes.set('stale', `newest sample is ${fmtS(age)} old (max ${fmtS(d.policy.maxSampleAgeMs)})`);
    else d.causes.delete('stale');
    if (risk === null) d.causes.set('no-risk', 'no risk for the latest sample (no model, missing data or a prediction error)');
    else d.causes.delete('no-risk');
    if (restarted) return [this.restartedIntent(d, now)];
    return this.evaluate(d, now);
  }

  /** Periodic check: sample age (also when no sample arrives at all) and pin expiry. */
  tick(): Intent[] {
    if (this.stopped) return [];
    const now = this.opts.now();
    const out: Intent[] = [];
    for (const d of this.domains.values()) {
      if (d.pin && d.pin.until !== null && d.pin.until <= now) {
        const p = d.pin;
        d.pin = null;
        out.push(this.resumeIntent(d, now, POLICY_WHO, `pin of ${p.intervalMs} ms by ${p.who} expired`));
        continue;
      }
      const age = now - (d.lastSampleTs ?? d.seenAt);
      if (age > d.policy.maxSampleAgeMs) {
        d.causes.set('stale', d.lastSampleTs === null ? `no sample for ${fmtS(age)}` : `no sample for ${fmtS(age)} (max ${fmtS(d.policy.maxSampleAgeMs)})`);
        out.push(...this.evaluate(d, now));
      }
    }
    return out;
  }

  /** Stats collection is failing: every protected domain falls back to safe until its next sample. */
  statsUnavailable(reason: string): Intent[] {
    if (this.stopped) return [];
    const now = this.opts.now();
    const out: Intent[] = [];
    for (const d of this.domains.values()) {
      d.causes.set('stats', `stats unavailable: ${reason}`.slice(0, 300));
      out.push(...this.evaluate(d, now));
    }
    return out;
  }

  /**
   * The store cannot write (reason), or can again (null). Decisions could not be
   * audited and history is being lost: every protected domain is held at its safe
   * interval until writes succeed again (a sample does not clear this cause).
   */
  storeUnavailable(reason: string | null): Intent[] {
    if (this.stopped) return [];
    this.storeProblem = reason === null ? null : `store cannot write: ${reason}`.slice(0, 300);
    const now = this.opts.now();
    const out: Intent[] = [];
    for (const d of this.domains.values()) {
      if (this.storeProblem !== null) d.causes.set('store', this.storeProblem);
      else if (!d.causes.delete('store')) continue;
      out.push(...this.evaluate(d, now));
    }
    return out;
  }

  /** libvirt lifecycle / watchdog / I/O error events. */
  domainEvent(domain: string, kind: string, detail = ''): Intent[] {
    if (this.stopped) return [];
    if (domain === '') return kind === 'disconnected' ? this.statsUnavailable(`libvirt connection lost${detail ? `: ${detail}` : ''}`) : [];
    const d = this.domains.get(domain);
    if (!d) return [];
    const now = this.opts.now();
    if (kind === 'crashed' || kind === 'stopped') {
      d.running = false;
      d.causes.set('down', `domain ${kind}`);
      return this.evaluate(d, now);
    }
    if (kind === 'started' && !d.running) {
      d.running = true;
      d.causes.delete('down');
      return [this.restartedIntent(d, now)];
    }
    if (kind === 'watchdog' || kind === 'io-error') {
      // A sign of trouble, not of uncertainty: tighten now; relaxing waits a full dwell from here.
      d.changedAt = now;
      const want = Math.min(d.target ?? d.policy.safeIntervalMs, d.policy.safeIntervalMs);
      if (want === d.target) return [];
      return [this.change(d, now, 'failsafe', want, `libvirt ${kind} event${detail ? ` (${detail})` : ''}: safe interval`)];
    }
    return [];
  }

  /** The backend reported a fault (error) or a recovery (null). */
  backendFault(domain: string, error: Error | null): Intent[] {
    const d = this.domains.get(domain);
    if (!d || this.stopped) return [];
    if (error) d.causes.set('backend', `backend error: ${error.message}`.slice(0, 300));
    else if (!d.causes.delete('backend')) return []; // nothing changed: no re-evaluation (it could only relax)
    return this.evaluate(d, this.opts.now());
  }

  /** The outcome of applying an Intent. */
  applied(domain: string, ok: boolean, error?: Error): Intent[] {
    return this.backendFault(domain, ok ? null : (error ?? new Error('apply failed')));
  }

  pin(domain: string, intervalMs: number, until: number | null, who: string): Intent {
    if (this.stopped) throw new PolicyError('unavailable', 'the agent is stopping');
    const now = this.opts.now();
    const d = this.known(domain);
    const min = this.opts.minIntervalMs ?? 1;
    if (!Number.isInteger(intervalMs)) throw new PolicyError('invalid', `intervalMs must be a whole number of milliseconds, got ${intervalMs}`);
    if (intervalMs < min) throw new PolicyError('invalid', `intervalMs ${intervalMs} is shorter than the backend's minimum of ${min} ms`);
    if (intervalMs > d.policy.relaxedIntervalMs) {
      throw new PolicyError('invalid', `intervalMs ${intervalMs} is longer than ${domain}'s relaxed interval (${d.policy.relaxedIntervalMs} ms): a pin may not relax protection beyond the policy's longest interval; raise relaxedIntervalMs in the agent's config to allow it`);
    }
    if (until !== null && until <= now) throw new PolicyError('invalid', `expiresAt ${new Date(until).toISOString()} is not in the future`);
    d.pin = { intervalMs, until, who };
    const what = `pinned to ${intervalMs} ms by ${who}${until !== null ? ` until ${new Date(until).toISOString()}` : ''}`;
    if (this.blocking(d).length > 0 && intervalMs > d.policy.safeIntervalMs) {
      return this.change(d, now, 'override', this.failsafeInterval(d), `${what}; held at the safe interval while fail-safe (${this.causeText(d)})`, who, true);
    }
    return this.change(d, now, 'override', this.failsafeOr(d, intervalMs), what, who, true);
  }

  resume(domain: string, who: string): Intent {
    if (this.stopped) throw new PolicyError('unavailable', 'the agent is stopping');
    const d = this.known(domain);
    if (!d.pin) throw new PolicyError('invalid', `${domain} is not pinned (mode ${this.mode(d)})`);
    const p = d.pin;
    d.pin = null;
    return this.resumeIntent(d, this.opts.now(), who, `automatic mode resumed by ${who} (was pinned to ${p.intervalMs} ms)`);
  }

  /** The agent stops: every protected domain to its safe interval, and no more decisions after this. */
  shutdown(): Intent[] {
    if (this.stopped) return [];
    this.stopped = true;
    const now = this.opts.now();
    const out: Intent[] = [];
    for (const d of this.domains.values()) {
      const intent = this.change(d, now, 'shutdown', d.policy.safeIntervalMs, 'agent stopping: replication left at the safe interval', POLICY_WHO, true);
      intent.bypassRateLimit = true;
      out.push(intent);
    }
    return out;
  }

  /** The domain vanished: forget it. */
  forget(domain: string): void {
    this.domains.delete(domain);
    this.unprotected.delete(domain);
  }

  // ---- views ----------------------------------------------------------------------------

  status(domain: string): ControllerStatus | null {
    const d = this.domains.get(domain);
    if (d) return { mode: this.mode(d), targetMs: d.target, pinnedUntil: d.pin?.until ?? null, reason: d.reason };
    if (this.unprotected.has(domain)) return { mode: 'unprotected', targetMs: null, pinnedUntil: null, reason: 'not matched by policy.protect' };
    return null;
  }

  isRunning(domain: string): boolean {
    return this.domains.get(domain)?.running ?? false;
  }

  isProtected(domain: string): boolean {
    return this.domains.has(domain);
  }

  domainNames(): string[] {
    return [...this.domains.keys()];
  }

  policyOf(domain: string): DomainPolicy | null {
    return this.domains.get(domain)?.policy ?? null;
  }

  // ---- the rules ------------------------------------------------------------------------

  /** A protected domain the agent has seen, or a PolicyError saying why not. */
  private known(domain: string): DomainCtl {
    const d = this.domains.get(domain);
    if (d) return d;
    if (this.unprotected.has(domain) || !policyFor(this.cfg, domain)) {
      throw new PolicyError('not-protected', `${domain} is not protected by this agent's policy (policy.protect)`);
    }
    throw new PolicyError('not-protected', `${domain}: no such domain (libvirt has not listed it to this agent)`);
  }

  private create(domain: string, now: number): DomainCtl | null {
    const policy = policyFor(this.cfg, domain);
    if (!policy) {
      this.unprotected.add(domain);
      return null;
    }
    const d: DomainCtl = {
      name: domain, policy, target: null, changedAt: now,
      causes: new Map<FailsafeCause, string>([['startup', 'agent start-up'], ...(this.storeProblem !== null ? [['store', this.storeProblem] as [FailsafeCause, string]] : [])]),
      pin: null, lastSampleTs: null, seenAt: now, risk: null, running: true, reason: 'start-up',
    };
    this.domains.set(domain, d);
    return d;
  }

  private startupIntent(d: DomainCtl, now: number): Intent {
    return this.change(d, now, 'startup', d.policy.safeIntervalMs, 'agent start-up: safe interval until fresh samples and risk say otherwise', POLICY_WHO, true);
  }

  /** Running again after a stop/crash: whatever replication had is gone; start from the safe interval. */
  private restartedIntent(d: DomainCtl, now: number): Intent {
    d.causes.set('startup', 'domain started');
    d.target = null;
    return this.change(d, now, 'failsafe', this.failsafeInterval(d), 'domain running again: safe interval until fresh risk says otherwise', POLICY_WHO, true);
  }

  private resumeIntent(d: DomainCtl, now: number, who: string, why: string): Intent {
    // Back to auto from where the pin left it: tighten if needed, relax only after a full dwell from now.
    d.changedAt = now;
    const want = this.wanted(d, now);
    return this.change(d, now, 'resume', want.intervalMs, `${why}; ${want.why}`, who, true);
  }

  /** Re-evaluates a domain; an Intent when its target changes. */
  private evaluate(d: DomainCtl, now: number): Intent[] {
    const want = this.wanted(d, now);
    if (want.intervalMs === d.target) {
      d.reason = want.why;
      return [];
    }
    return [this.change(d, now, want.kind, want.intervalMs, want.why)];
  }

  private wanted(d: DomainCtl, now: number): { intervalMs: number; kind: Decision['kind']; why: string } {
    if (this.blocking(d).length > 0) return { intervalMs: this.failsafeInterval(d), kind: 'failsafe', why: `fail-safe (${this.causeText(d)}): safe interval` };
    if (d.pin) {
      const noRisk = d.causes.has('no-risk') ? ' (no risk available; a pin does not depend on it)' : '';
      return { intervalMs: d.pin.intervalMs, kind: 'override', why: `pinned to ${d.pin.intervalMs} ms by ${d.pin.who}${noRisk}` };
    }
    const a = this.auto(d, now);
    return { intervalMs: a.intervalMs, kind: 'auto', why: a.why };
  }

  /** Auto mode: risk is known and everything is healthy here. */
  private auto(d: DomainCtl, now: number): { intervalMs: number; why: string } {
    const p = d.policy;
    const r = d.risk as number;
    const cur = d.target ?? p.safeIntervalMs;
    const rs = r.toFixed(3);
    if (r >= p.raise) return { intervalMs: Math.min(cur, p.safeIntervalMs), why: `risk ${rs} >= raise ${p.raise}: safe interval` };
    const dwellLeft = p.dwellMs - (now - d.changedAt);
    if (p.hazard) {
      const h = this.hazardInterval(p, r);
      if (h < cur * (1 - p.hazard.deadband)) return { intervalMs: h, why: `Young/Daly: risk ${rs} -> ${h} ms (tighten)` };
      if (r < p.lower && h > cur * (1 + p.hazard.deadband)) {
        if (dwellLeft <= 0) return { intervalMs: h, why: `Young/Daly: risk ${rs} < lower ${p.lower} -> ${h} ms (relax)` };
        return { intervalMs: cur, why: `risk ${rs} low: relaxing to ${h} ms after the dwell (${fmtS(dwellLeft)} left)` };
      }
      return { intervalMs: cur, why: `Young/Daly: risk ${rs}, ${cur} ms kept (within the deadband or between the thresholds)` };
    }
    if (r < p.lower) {
      const next = p.ladder.find((x) => x > cur);
      if (next === undefined) return { intervalMs: cur, why: `risk ${rs} < lower ${p.lower}: at the relaxed interval` };
      if (dwellLeft <= 0) return { intervalMs: next, why: `risk ${rs} < lower ${p.lower} for the dwell: one step longer` };
      return { intervalMs: cur, why: `risk ${rs} < lower ${p.lower}: relaxing after the dwell (${fmtS(dwellLeft)} left)` };
    }
    return { intervalMs: cur, why: `risk ${rs} between lower ${p.lower} and raise ${p.raise}: interval kept` };
  }

  /**
   * Young/Daly: interval = sqrt(2 C / lambda), lambda the failure rate implied by the
   * risk r of failing within one risk step T: lambda = -ln(1 - r) / T. Clamped to
   * [safe, relaxed]; with intermediate steps, snapped down to the ladder (the safer side).
   */
  hazardInterval(p: DomainPolicy, r: number): number {
    const hz = p.hazard as NonNullable<DomainPolicy['hazard']>;
    const step = hz.riskStepMs ?? this.opts.riskStepMs ?? 1000;
    const lambda = r >= 1 ? Infinity : -Math.log1p(-r) / step;
    const raw = lambda === 0 ? Infinity : Math.sqrt((2 * hz.checkpointCostMs) / lambda);
    const clamped = Math.min(p.relaxedIntervalMs, Math.max(p.safeIntervalMs, raw));
    if (p.ladder.length > 2) return [...p.ladder].reverse().find((x) => x <= clamped) ?? p.safeIntervalMs;
    return Math.round(clamped);
  }

  private failsafeInterval(d: DomainCtl): number {
    return this.failsafeOr(d, d.policy.safeIntervalMs);
  }

  /** With any fail-safe cause: the safe interval, or a pin when it is shorter still. Otherwise `ms`. */
  private failsafeOr(d: DomainCtl, ms: number): number {
    const safe = d.policy.safeIntervalMs;
    if (this.blocking(d).length === 0) return ms;
    return d.pin && d.pin.intervalMs < safe ? d.pin.intervalMs : safe;
  }

  private change(d: DomainCtl, now: number, kind: Decision['kind'], intervalMs: number, reason: string, who = POLICY_WHO, always = false): Intent {
    const previousMs = d.target;
    if (previousMs !== intervalMs) d.changedAt = now;
    if (!always && previousMs === intervalMs) throw new Error('internal: no change');
    d.target = intervalMs;
    d.reason = reason;
    return { domain: d.name, kind, intervalMs, previousMs, risk: d.risk, reason, who, apply: d.running };
  }

  private mode(d: DomainCtl): Mode {
    if (this.blocking(d).length > 0) return 'failsafe';
    return d.pin ? 'pinned' : 'auto';
  }

  /**
   * The causes that hold the domain at the safe interval. Without a pin: all. With a
   * pin: all but no-risk, since an operator's pin replaces the risk-based decision
   * (it does not need a model); being unable to observe the domain or a broken
   * replication still suspend it.
   */
  private blocking(d: DomainCtl): FailsafeCause[] {
    const all = [...d.causes.keys()];
    return d.pin ? all.filter((c) => c !== 'no-risk') : all;
  }

  private causeText(d: DomainCtl): string {
    return [...d.causes.entries()].map(([c, detail]) => (detail ? detail : CAUSE_TEXT[c])).join('; ');
  }
}

function fmtS(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
