// Text tables and JSON for evaluation reports (pure).
import type { ThresholdMetrics } from './metrics';
import type { NabResult } from './nab';
import type { DetectorReport } from './run';

export function pct(x: number | null, digits = 1): string {
  return x === null ? '-' : `${(100 * x).toFixed(digits)}%`;
}

/** ms -> "42 min" / "3.5 h". */
export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function num(x: number | null, digits = 3): string {
  return x === null ? '-' : x.toFixed(digits);
}

export function textTable(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

export const SWEEP_HEADER = ['THRESH', 'PREC', 'RECALL', 'F1', 'TP', 'FP', 'FN', 'LATE', 'FP/H', 'FPR(SAMPLES)', 'LEAD MEAN', 'LEAD MEDIAN'];

export function sweepRow(m: ThresholdMetrics): string[] {
  return [
    m.threshold.toFixed(2),
    pct(m.precision),
    pct(m.recall),
    m.f1.toFixed(3),
    String(m.tp),
    String(m.fp),
    String(m.fn),
    String(m.late),
    num(m.fpPerHour, 4),
    pct(m.fpRateSamples, 2),
    duration(m.leadTimeMeanMs),
    duration(m.leadTimeMedianMs),
  ];
}

export function nabLine(n: NabResult): string {
  return `NAB standard-profile score ${n.normalized.toFixed(1)} (raw ${n.raw.toFixed(2)}, null ${n.nullRaw.toFixed(2)}, perfect ${n.perfect.toFixed(0)}, threshold ${n.threshold.toFixed(4)})`;
}

export function detectorText(r: DetectorReport): string {
  const lines = [`== ${r.detector} (${r.scored.length} traces, ${r.seconds.toFixed(1)} s)`, textTable(SWEEP_HEADER, r.sweep.map(sweepRow))];
  if (r.best) lines.push(`best F1 ${r.best.f1.toFixed(3)} at threshold ${r.best.threshold.toFixed(2)}; PR area (average precision) ${r.pr.area.toFixed(3)}`);
  if (r.nab) lines.push(nabLine(r.nab));
  return lines.join('\n');
}

/** A report without the per-row scores, for --json. */
export function reportJson(r: DetectorReport): Record<string, unknown> {
  return {
    detector: r.detector,
    traces: r.scored.map((s) => s.trace.name),
    seconds: r.seconds,
    best: r.best,
    prArea: r.pr.area,
    prPoints: r.pr.points,
    sweep: r.sweep,
    nab: r.nab ?? null,
  };
}
