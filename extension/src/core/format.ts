// Words and numbers the tree, the status bar and the commands show, and the
// parsing of what users type (intervals like `250ms`, times like `14:30`).
// vscode-free so it is unit-tested; every text the UI shows about a domain or
// a host comes from here.

import type { AgentStatus, ProtectionStatus } from '../../../host-agent/src/protocol/api';
import type { HostView, DomainView } from './hostsModel';

/** The protocol's bounds for interval.pin. */
export const MIN_PIN_MS = 1;
export const MAX_PIN_MS = 3_600_000;

export function formatPercent(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v < 10 ? `${v.toFixed(1)}%` : `${Math.round(v)}%`;
}

/** A probability 0..1 as a percentage. */
export function formatRisk(p: number | null | undefined): string {
  return p === null || p === undefined ? '–' : formatPercent(p * 100);
}

export function formatInterval(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)} s`;
  return `${+(ms / 60_000).toFixed(2)} min`;
}

/** `250ms`, `250 ms`, `250` (ms), `1.5s`, `2 s`, `1m`, `1 min`; an error sentence otherwise. */
export function parseInterval(text: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min)?\s*$/i.exec(text);
  if (!m) return `"${text.trim()}" is not an interval: write e.g. 250ms, 2s or 1m`;
  const unit = (m[2] ?? 'ms').toLowerCase();
  const ms = Math.round(Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' || unit === 'sec' ? 1000 : 60_000));
  if (ms < MIN_PIN_MS || ms > MAX_PIN_MS) return `${formatInterval(ms)} is outside ${MIN_PIN_MS} ms .. ${formatInterval(MAX_PIN_MS)}`;
  return ms;
}

/** `HH:MM` local time of a timestamp. */
export function formatClock(ts: number): string {
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** The next moment (after `now`) the local clock shows `HH:MM`; an error sentence for bad input. */
export function parseClockTime(text: string, now: number): number | string {
  const m = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return `"${text.trim()}" is not a time: write HH:MM, e.g. 18:30`;
  const d = new Date(now);
  d.setHours(Number(m[1]), Number(m[2]), 0, 0);
  if (d.getTime() <= now) d.setDate(d.getDate() + 1);
  return d.getTime();
}

export function modeText(p: ProtectionStatus | null | undefined): string {
  if (!p) return 'not protected';
  switch (p.mode) {
    case 'pinned':
      return p.pinnedUntil ? `pinned until ${formatClock(p.pinnedUntil)}` : 'pinned';
    case 'failsafe':
      return 'failsafe';
    case 'unprotected':
      return 'not protected';
    default:
      return 'auto';
  }
}

export type RiskLevel = 'unknown' | 'low' | 'elevated' | 'high';

export interface RiskThresholds {
  /** At or above: elevated. */
  warn: number;
  /** At or above: high. */
  alert: number;
}

/** The domain's own policy thresholds when the agent sends them, else the settings'. */
export function riskLevel(risk: number | null | undefined, p: ProtectionStatus | null | undefined, fallback: RiskThresholds): RiskLevel {
  if (risk === null || risk === undefined) return 'unknown';
  const t = p?.thresholds ? { warn: p.thresholds.lower, alert: p.thresholds.raise } : fallback;
  return risk >= t.alert ? 'high' : risk >= t.warn ? 'elevated' : 'low';
}

/** The tree row's description: state, CPU, memory, risk, interval, mode. */
export function domainDescription(d: DomainView): string {
  const parts: string[] = [d.state];
  if (d.latest?.cpuPct !== null && d.latest?.cpuPct !== undefined) parts.push(`CPU ${formatPercent(d.latest.cpuPct)}`);
  if (d.latest?.memPct !== null && d.latest?.memPct !== undefined) parts.push(`mem ${formatPercent(d.latest.memPct)}`);
  if (d.risk) parts.push(`risk ${formatRisk(d.risk.next)}`);
  if (d.protection && d.protection.mode !== 'unprotected') {
    parts.push(formatInterval(d.protection.intervalMs));
    parts.push(modeText(d.protection));
  }
  return parts.join(' · ');
}

/** The contextValue menus key on: domain.auto / domain.pinned / domain.failsafe / domain.unprotected. */
export function domainContext(d: DomainView): string {
  return `domain.${d.protection?.mode ?? 'unprotected'}`;
}

/** What a connected agent says it cannot do right now (agent.status), one short phrase each; empty when healthy or not known. */
export function agentProblems(s: AgentStatus | undefined): string[] {
  if (!s) return [];
  const out: string[] = [];
  if (!s.store.writable) out.push('store not writable');
  if (!s.stats.available) out.push('no libvirt stats');
  return out;
}

/**
 * The agent's problems in full, for tooltips: since when, the agent's own
 * error, and what it means for replication (the agent is fail-safe meanwhile).
 */
export function agentProblemDetails(s: AgentStatus | undefined): string[] {
  if (!s) return [];
  const since = (ts: number | undefined) => (ts === undefined ? '' : ` since ${formatClock(ts)}`);
  const out: string[] = [];
  if (!s.store.writable) {
    out.push(`The agent cannot write its store${since(s.store.since)} (${s.store.failedWrites} failed write${s.store.failedWrites === 1 ? '' : 's'})${s.store.error ? `: ${truncate(s.store.error, 200)}` : ''}. History is not being kept and every protected domain is held at its safe interval.`);
  }
  if (!s.stats.available) {
    out.push(`The agent gets no libvirt stats${since(s.stats.since)}${s.stats.error ? `: ${truncate(s.stats.error, 200)}` : ''}. Every protected domain is held at its safe interval until samples come again.`);
  }
  return out;
}

export function hostDescription(h: HostView, domainCount: number, now: number): string {
  switch (h.state) {
    case 'connected': {
      const problems = agentProblems(h.status);
      return `connected${problems.length ? ` · degraded: ${problems.join(', ')}` : ''} · ${domainCount} domain${domainCount === 1 ? '' : 's'}`;
    }
    case 'connecting':
      return 'connecting…';
    case 'reconnecting': {
      const secs = h.nextRetryAt !== undefined ? Math.max(0, Math.ceil((h.nextRetryAt - now) / 1000)) : undefined;
      return `reconnecting${secs !== undefined ? ` in ${secs} s` : '…'}${h.attempts ? ` (attempt ${h.attempts + 1})` : ''}`;
    }
    case 'error':
      return `error: ${truncate(h.error ?? 'unknown', 80)}`;
    default:
      return 'disconnected';
  }
}

export function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export interface PinPreset {
  ms: number;
  /** What the value is: the current interval, the policy's safe or relaxed one. */
  note?: string;
}

/**
 * The intervals the pin quick pick offers. With the domain's policy ladder
 * (safe, steps, relaxed) from the agent: exactly those, as the agent refuses
 * a pin longer than the relaxed interval, and the current one; without it,
 * pinChoices' generic ladder.
 */
export function pinPresets(p: ProtectionStatus | null | undefined): PinPreset[] {
  const current = p?.intervalMs ?? null;
  const ladder = p?.ladder?.length ? p.ladder : undefined;
  const values = ladder ? [...new Set([...ladder, ...(current ? [current] : [])])].sort((a, b) => a - b) : pinChoices(current);
  return values.map((ms) => {
    const notes = [
      ms === current ? 'current' : '',
      ladder && ms === ladder[0] ? 'safe (shortest) in the policy' : '',
      ladder && ladder.length > 1 && ms === ladder[ladder.length - 1] ? 'relaxed (longest) in the policy' : '',
    ].filter(Boolean);
    return notes.length ? { ms, note: notes.join(', ') } : { ms };
  });
}

/** Intervals worth offering: the usual ladder, half and double the current one, within the protocol's bounds. */
export function pinChoices(currentMs: number | null | undefined, ladder: number[] = [50, 100, 250, 500, 1000, 2000, 5000]): number[] {
  const set = new Set(ladder);
  if (currentMs) {
    set.add(Math.round(currentMs));
    set.add(Math.max(MIN_PIN_MS, Math.round(currentMs / 2)));
    set.add(Math.min(MAX_PIN_MS, Math.round(currentMs * 2)));
  }
  return [...set].filter((v) => v >= MIN_PIN_MS && v <= MAX_PIN_MS).sort((a, b) => a - b);
}
