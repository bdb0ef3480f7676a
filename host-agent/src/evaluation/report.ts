// Text tables and JSON for evaluation reports (pure).
import { PROTOCOL_NAMES, type CrossValidationReport, type Fold } from './crossval';
import { evaluateEach, type ThresholdMetrics } from './metrics';
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

/** The held-out metrics, one line. */
export function heldOutLine(m: ThresholdMetrics): string {
  return `precision ${pct(m.precision)}, recall ${pct(m.recall)}, F1 ${m.f1.toFixed(3)}, TP/FP/FN ${m.tp}/${m.fp}/${m.fn}, late ${m.late}, false alarms/h ${num(m.fpPerHour, 2)}, lead mean ${duration(m.leadTimeMeanMs)}, median ${duration(m.leadTimeMedianMs)}`;
}

export function crossValidationText(r: CrossValidationReport): string {
  const thetas = r.folds.map((f) => f.threshold).sort((a, b) => a - b);
  const chosen = new Map<string, number>();
  for (const f of r.folds) chosen.set(f.chosen, (chosen.get(f.chosen) ?? 0) + 1);
  const perFold = r.folds.map((f) => {
    const held = countFold(r, f);
    return [f.group, f.threshold.toFixed(2), f.inner ? f.inner.f1.toFixed(3) : '-', f.chosen, `${held.tp}/${held.fp}/${held.fn}`];
  });
  const lines = [
    `== ${r.detector}, ${PROTOCOL_NAMES[r.protocol]} (${r.scored.length} traces, ${r.folds.length} folds, ${r.trainings} fits, ${r.seconds.toFixed(1)} s)`,
    `held out: ${heldOutLine(r.heldOut)}`,
    `thresholds chosen on the training folds: ${thetas[0].toFixed(2)}..${thetas[thetas.length - 1].toFixed(2)} (median ${thetas[thetas.length >> 1].toFixed(2)})${chosen.size > 1 || !chosen.has(r.detector) ? `; variants chosen: ${[...chosen].map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`,
  ];
  if (r.best) lines.push(`in-sample best on the same scores: F1 ${r.best.f1.toFixed(3)} at ${r.best.threshold.toFixed(2)}; PR area ${r.pr.area.toFixed(3)}`);
  lines.push(textTable(['FOLD', 'THRESH', 'INNER F1', 'VARIANT', 'TP/FP/FN'], perFold));
  return lines.join('\n');
}

/** One fold's held-out counts at its threshold. */
export function countFold(r: CrossValidationReport, f: Fold): ThresholdMetrics {
  return evaluateEach(r.scored.filter((s) => f.traces.includes(s.trace.name)).map((st) => ({ st, threshold: f.threshold })), r.options);
}

/** A cross-validation report without the per-row scores, for --json. */
export function crossValidationJson(r: CrossValidationReport): Record<string, unknown> {
  return {
    detector: r.detector,
    protocol: r.protocol,
    traces: r.scored.map((s) => s.trace.name),
    heldOut: r.heldOut,
    folds: r.folds.map((f) => ({ ...f, heldOut: countFold(r, f) })),
    inSample: { best: r.best, prArea: r.pr.area, sweep: r.sweep },
    trainings: r.trainings,
    seconds: r.seconds,
  };
}
