// The held-out part of the results page (scripts/results.ts calls it): every
// detector on the recorded scenarios under the cross-validation protocol of
// host-agent/src/evaluation/crossval.ts (no detector sees the labels of the
// traces it is scored on; thresholds, and the HMM's variant, are chosen on
// the training folds), per protocol and per fault kind, at the policy's raise
// line, and a comparison of the HMM with the baselines written from the
// figures themselves.

import { kindOf, PROTOCOL_NAMES, type CrossValidationReport, type Fold, type Protocol } from '../../host-agent/src/evaluation/crossval';
import { brierScore, evaluateEach, type MetricOptions, type ScoredTrace, type ThresholdMetrics } from '../../host-agent/src/evaluation/metrics';
import { duration, num, pct } from '../../host-agent/src/evaluation/report';
import type { Trace } from '../../host-agent/src/evaluation/types';
import type { PlotSeries } from './results-section';

export interface HeldOutOptions {
  traces: readonly Trace[];
  /** Reports per protocol: the agent's "hmm", the baselines, and optionally "hmm-select" and "hmm-uncalibrated". */
  reports: ReadonlyMap<Protocol, readonly CrossValidationReport[]>;
  /** Fault kinds in display order. */
  kinds: readonly string[];
  opts: MetricOptions;
  /** The policy's default raise line (risk at or above it tightens the interval). */
  raise: number;
  table: (header: string[], rows: string[][]) => string;
}

/** Rows of the main table: the compared detectors (not the uncalibrated reading). */
const compared = (rs: readonly CrossValidationReport[]) => rs.filter((r) => r.detector !== 'hmm-uncalibrated');

function foldOf(r: CrossValidationReport, t: Trace): Fold {
  const f = r.folds.find((x) => x.traces.includes(t.name));
  if (!f) throw new Error(`${r.detector}: no fold holds ${t.name} out`);
  return f;
}

/** Each held-out trace with its fold's threshold. */
export function heldOutItems(r: CrossValidationReport, keep: (t: Trace) => boolean = () => true): { st: ScoredTrace; threshold: number }[] {
  return r.scored.filter((s) => keep(s.trace)).map((st) => ({ st, threshold: foldOf(r, st.trace).threshold }));
}

/** The HMM's held-out scores for the figures: each trace at its own fold's threshold. */
export function heldOutPlots(reports: readonly CrossValidationReport[]): PlotSeries[] {
  return compared(reports).filter((r) => r.detector !== 'hmm-select').map((r) => ({ detector: r.detector, scored: r.scored, threshold: (t: Trace) => foldOf(r, t).threshold, thresholdLabel: 'held-out threshold' }));
}

function thresholdRange(r: CrossValidationReport): string {
  const ts = r.folds.map((f) => f.threshold).sort((a, b) => a - b);
  return ts[0] === ts[ts.length - 1] ? ts[0].toFixed(2) : `${ts[0].toFixed(2)}..${ts[ts.length - 1].toFixed(2)}`;
}

function mainRow(r: CrossValidationReport): string[] {
  const m = r.heldOut;
  return [
    r.detector, thresholdRange(r), pct(m.precision), pct(m.recall), `**${m.f1.toFixed(3)}**`, `${m.tp}/${m.fp}/${m.fn}`, num(m.fpPerHour, 1), duration(m.leadTimeMeanMs), duration(m.leadTimeMedianMs),
    r.best ? `${r.best.f1.toFixed(3)} (${r.best.threshold.toFixed(2)})` : '-', r.pr.area.toFixed(3),
  ];
}

const MAIN_HEADER = ['detector', 'thresholds chosen on the training folds', 'precision', 'recall', 'F1 (held out)', 'TP/FP/FN', 'false alarms / h', 'lead mean', 'lead median', 'in-sample best F1 (threshold) on the same scores', 'PR area'];

const cell = (m: ThresholdMetrics) => `${m.f1.toFixed(2)} (${m.tp}/${m.fp}/${m.fn}), ${duration(m.leadTimeMedianMs)}`;

/** Fault kind x detector: held-out F1 (TP/FP/FN), lead median; the last row all kinds. */
export function perKindTable(o: HeldOutOptions, reports: readonly CrossValidationReport[]): string {
  const rs = compared(reports);
  const rows = o.kinds.map((k) => [k, ...rs.map((r) => cell(evaluateEach(heldOutItems(r, (t) => kindOf(t) === k), o.opts)))]);
  rows.push(['**all**', ...rs.map((r) => cell(r.heldOut))]);
  return o.table(['fault', ...rs.map((r) => r.detector)], rows);
}

function selectionLine(p: Protocol, reports: readonly CrossValidationReport[]): string | null {
  const sel = reports.find((r) => r.detector === 'hmm-select');
  if (!sel) return null;
  const chosen = new Map<string, number>();
  for (const f of sel.folds) chosen.set(f.chosen, (chosen.get(f.chosen) ?? 0) + 1);
  return `${PROTOCOL_NAMES[p]}: ${[...chosen].sort((a, b) => b[1] - a[1]).map(([k, v]) => `\`${k}\` in ${v} of ${sel.folds.length} folds`).join(', ')}`;
}

function atRaise(o: HeldOutOptions, reports: readonly CrossValidationReport[]): string {
  return o.table(
    ['detector', 'precision', 'recall', 'F1', 'TP/FP/FN', 'false alarms / h', 'lead median', 'Brier score (next sample in a fault window)'],
    reports.filter((r) => r.detector !== 'hmm-select').map((r) => {
      const m = evaluateEach(r.scored.map((st) => ({ st, threshold: o.raise })), o.opts);
      return [r.detector, pct(m.precision), pct(m.recall), m.f1.toFixed(3), `${m.tp}/${m.fp}/${m.fn}`, num(m.fpPerHour, 1), duration(m.leadTimeMedianMs), num(brierScore(r.scored), 4)];
    }),
  );
}

/** Sentences comparing the HMM with the best baseline, from the figures (so they stay true when the page is regenerated). */
export function comparison(o: HeldOutOptions, p: Protocol, reports: readonly CrossValidationReport[]): string {
  const hmm = reports.find((r) => r.detector === 'hmm');
  const baselines = reports.filter((r) => !r.detector.startsWith('hmm'));
  if (!hmm || baselines.length === 0) return '';
  const best = baselines.reduce((a, b) => (b.heldOut.f1 > a.heldOut.f1 ? b : a));
  const h = hmm.heldOut;
  const b = best.heldOut;
  const than = (x: number, y: number, more: string, less: string) => (x > y ? more : x < y ? less : 'the same as');
  const behind: string[] = [];
  const ahead: string[] = [];
  for (const k of o.kinds) {
    const mh = evaluateEach(heldOutItems(hmm, (t) => kindOf(t) === k), o.opts);
    const mb = Math.max(...baselines.map((r) => evaluateEach(heldOutItems(r, (t) => kindOf(t) === k), o.opts).f1));
    if (mh.f1 < mb) behind.push(`${k} (${mh.f1.toFixed(2)} vs ${mb.toFixed(2)})`);
    else if (mh.f1 > mb) ahead.push(k);
  }
  return [
    `**${PROTOCOL_NAMES[p]}:** the HMM's held-out F1 is ${h.f1.toFixed(3)} against ${best.heldOut.f1.toFixed(3)} for the best baseline (\`${best.detector}\`),`,
    `with ${num(h.fpPerHour, 1)} false alarms per hour (${than(h.fpPerHour ?? 0, b.fpPerHour ?? 0, 'more than', 'fewer than')} its ${num(b.fpPerHour, 1)}),`,
    `recall ${pct(h.recall)} (${pct(b.recall)}) and a median lead time of ${duration(h.leadTimeMedianMs)} (${duration(b.leadTimeMedianMs)}).`,
    ahead.length ? `Per fault kind it is ahead of every baseline on ${ahead.join(', ')}` : 'Per fault kind it is ahead of every baseline on none',
    behind.length ? `and behind the best of them on ${behind.join(', ')}.` : 'and behind none of them.',
  ].join(' ');
}

/**
 * Why the figures come out as they do: the mechanisms, not the numbers (the
 * sentences above the tables carry those and are regenerated with them).
 */
const WHY = [
  `**Why.** Every scenario runs a workload whose bursts (a CPU burst of 2-5 s, memory held for 4-8 s, a synced disk write, a download) reach the same levels as the faults. A static threshold or a z-score alarms on each burst, so their best thresholds buy recall with false alarms. The HMM separates the two by persistence: its normal states include the short high-load episodes, and its abnormal states, learnt from the other traces' fault windows, last tens of seconds, so the risk crosses a high threshold only after a few seconds of sustained trouble. That is where its lower false-alarm rate comes from, and also why it warns a few seconds later than a threshold on the same metric when a fault ramps up fast (the fork bomb). Leaving a whole fault kind out costs it little because what it learns is "sustained extremes relative to this domain's history", not one fault's signature.`,
  '',
  `\`hang\` and the sudden \`crash\` (crash-1) have no precursor: about one second passes between the fault and the failure. A detector "predicts" them only when it happened to be alarming already, which the per-kind cells of the baselines show (lead time 1-2 s) and which they pay for with false alarms on the other traces; the HMM does not, and misses them.`,
];

/** Markdown lines of the held-out section. */
export function heldOutSection(o: HeldOutOptions): string[] {
  const md: string[] = [];
  for (const [p, reports] of o.reports) {
    md.push(`### ${PROTOCOL_NAMES[p][0].toUpperCase()}${PROTOCOL_NAMES[p].slice(1)}`, '');
    md.push(p === 'loo'
      ? 'Each trace is scored by a model trained on the 13 others (with their fault windows as incidents) plus its own unlabelled training part; its threshold is chosen on the others only.'
      : 'Each fault kind is scored by a model that never saw that kind: trained on the traces of the six other kinds (labelled) plus the scored traces\' own unlabelled training parts; thresholds chosen on the other kinds only. This is the harder question: a failure the agent has not seen before.');
    md.push('', o.table(MAIN_HEADER, compared(reports).map(mainRow)), '');
    md.push(comparison(o, p, reports), '');
  }
  const lines = [...o.reports].map(([p, rs]) => selectionLine(p, rs)).filter((x): x is string => x !== null);
  if (lines.length) {
    md.push('**The HMM\'s variant, chosen on the training folds** (`hmm-select` in the tables: per fold, the variant with the best inner F1 among: thresholds from all samples or from healthy samples only, scoring the next-step risk or the 10-step horizon). `hmm` is the agent\'s default, which these choices set (docs/hmm.md):', '');
    for (const l of lines) md.push(`- ${l}`);
    md.push('');
  }
  md.push(...WHY, '');
  for (const [p, reports] of o.reports) {
    md.push(`#### Per fault kind, ${PROTOCOL_NAMES[p]}`, '', 'Cells: held-out F1 (TP/FP/FN), median lead time; each trace at its fold\'s threshold.', '', perKindTable(o, reports), '');
  }
  const loo = o.reports.get('loo');
  if (loo) {
    md.push(
      `#### At the policy's raise line (risk ${o.raise})`,
      '',
      `The agent's policy tightens the checkpoint interval when the risk reaches its \`raise\` level (default ${o.raise}, docs/policy.md). The same leave-one-trace-out scores, all read at that fixed level, and the Brier score of each score read as the probability that the next sample is in a fault window (0 is perfect; lower is better calibrated). \`hmm-uncalibrated\`: the same models without their Platt calibration (hmm/calibration.ts).`,
      '',
      atRaise(o, loo),
      '',
    );
  }
  return md;
}
