// Ground-truth bookkeeping of one scenario run (pure): from the health
// probes, the guest's console and the agent's recorded domain events, when
// did the failure happen; and the labelled fault window that results.
//
//   normal period        prediction period           after the failure
// ──────────────────┼──────────────────────────────┼──────────────────────┤
//   (training, then  start = fault injected        failure               end = recording stopped
//    scored normal)

import type { FaultWindow } from '../../host-agent/src/evaluation/types';
import type { FailureSignal } from './catalog';

/** One health probe (GET /cgi-bin/ok): sent at `sentAt`; `ok` null while it is still pending. */
export interface Probe {
  sentAt: number;
  ok: boolean | null;
  ms?: number;
  error?: string;
}

/** A domain event as the agent's store records it. */
export interface RecordedEvent {
  ts: number;
  kind: string;
  detail: string;
}

export interface Observations {
  probes: readonly Probe[];
  /** When the runner first saw the guest's OOM killer on its console, else null. */
  oomAt: number | null;
  /** The console line that showed it. */
  oomLine?: string;
  events: readonly RecordedEvent[];
}

export interface Failure {
  signal: FailureSignal;
  /** The failure time, ms since the epoch. */
  at: number;
  /** Human-readable evidence, kept in the trace's meta. */
  evidence: string;
}

/**
 * The first outage beginning at or after `from`: a run of consecutive
 * unanswered probes (in send order) whose sends span at least `minMs`. Its
 * start is the first unanswered probe. Scanning stops at the first pending
 * probe, so a probe still on its way cannot be skipped over.
 */
export function findOutage(probes: readonly Probe[], from: number, minMs: number): { start: number; confirmedBy: number; failed: number } | null {
  const sorted = probes.filter((p) => p.sentAt >= from).sort((a, b) => a.sentAt - b.sentAt);
  let runStart: number | null = null;
  let failed = 0;
  for (const p of sorted) {
    if (p.ok === null) return null;
    if (p.ok) {
      runStart = null;
      failed = 0;
      continue;
    }
    if (runStart === null) runStart = p.sentAt;
    failed++;
    if (p.sentAt - runStart >= minMs) return { start: runStart, confirmedBy: p.sentAt, failed };
  }
  return null;
}

export const OOM_PATTERN = /Out of memory: Kill(ed)? process[^\n]*/;

/** The first line of `text` showing the OOM killer at work, or null. */
export function oomLine(text: string): string | null {
  const m = OOM_PATTERN.exec(text);
  return m ? m[0].trim() : null;
}

function isPause(e: RecordedEvent): boolean {
  return e.kind === 'io-error' || (e.kind === 'suspended' && /io-?error/i.test(e.detail));
}

/** When `signal` fired at or after `from`, or null. */
export function signalFired(signal: FailureSignal, obs: Observations, from: number, outageMs: number): Failure | null {
  switch (signal) {
    case 'outage': {
      const o = findOutage(obs.probes, from, outageMs);
      return o ? { signal, at: o.start, evidence: `httpd unanswered from ${iso(o.start)} (${o.failed} probes in a row over ${Math.round((o.confirmedBy - o.start) / 1000)} s)` } : null;
    }
    case 'oom':
      return obs.oomAt !== null && obs.oomAt >= from ? { signal, at: obs.oomAt, evidence: `guest console: ${obs.oomLine ?? 'OOM killer'}` } : null;
    case 'crashed': {
      const e = obs.events.find((x) => x.ts >= from && x.kind === 'crashed');
      return e ? { signal, at: e.ts, evidence: `agent event crashed (${e.detail}) at ${iso(e.ts)}` } : null;
    }
    case 'paused': {
      const e = obs.events.find((x) => x.ts >= from && isPause(x));
      return e ? { signal, at: e.ts, evidence: `agent event ${e.kind} (${e.detail}) at ${iso(e.ts)}` } : null;
    }
  }
}

/**
 * The failure of a run: the earliest (by failure time) of the scenario's
 * signals that fired at or after the fault's start. A crash always counts:
 * once the domain is gone there is nothing left to wait for.
 */
export function detectFailure(signals: readonly FailureSignal[], obs: Observations, from: number, outageMs: number): Failure | null {
  const all: FailureSignal[] = signals.includes('crashed') ? [...signals] : [...signals, 'crashed'];
  let best: Failure | null = null;
  for (const s of all) {
    const f = signalFired(s, obs, from, outageMs);
    if (f && (best === null || f.at < best.at)) best = f;
  }
  return best;
}

/** The labelled window of a run; `failure` null when none came before the run gave up. */
export function faultWindow(start: number, failure: number | null, end: number, label: string): FaultWindow {
  if (!(Number.isFinite(start) && Number.isFinite(end))) throw new Error(`fault window needs finite start and end (got ${start}, ${end})`);
  if (end < start) throw new Error(`fault window ends (${iso(end)}) before it starts (${iso(start)})`);
  const w: FaultWindow = { start: Math.round(start), end: Math.round(end), label };
  if (failure !== null) {
    if (failure < start || failure > end) throw new Error(`failure ${iso(failure)} outside the fault window ${iso(start)}..${iso(end)}`);
    w.failure = Math.round(failure);
  }
  return w;
}

/** Rows before this time only train the detectors: the first `fraction` of the normal period. */
export function trainUntil(normalStart: number, faultStart: number, fraction: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`training fraction ${fraction} is not in [0, 1]`);
  return Math.round(normalStart + fraction * (faultStart - normalStart));
}

export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
