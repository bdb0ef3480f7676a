// The recorded-scenario part of the results page (scripts/results.ts calls
// it): the trace library, each detector's metrics per fault kind at its best
// threshold, the precision-recall curve, and one plot per fault kind (the
// agent's metrics, every detector's score, the fault window).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kindOf } from '../../host-agent/src/evaluation/crossval';
import { evaluateAt, type MetricOptions, type ScoredTrace } from '../../host-agent/src/evaluation/metrics';
import { duration, num, pct } from '../../host-agent/src/evaluation/report';
import type { DetectorReport } from '../../host-agent/src/evaluation/run';
import { svgDocument, type PanelOptions, type Series } from '../../host-agent/src/evaluation/svg';
import type { Trace } from '../../host-agent/src/evaluation/types';
import { SCENARIOS } from './catalog';

export { kindOf };

/** One detector's scores to plot, with the alarm threshold it used on each trace. */
export interface PlotSeries {
  detector: string;
  scored: readonly ScoredTrace[];
  threshold(t: Trace): number;
  /** Label of the threshold line, e.g. "held-out threshold". */
  thresholdLabel: string;
}

/** An in-sample report as a plot: its best-F1 threshold on every trace. */
export function asPlot(r: DetectorReport | PlotSeries): PlotSeries {
  if ('threshold' in r && typeof r.threshold === 'function') return r;
  const d = r as DetectorReport;
  return { detector: d.detector, scored: d.scored, threshold: () => d.best?.threshold ?? 0.5, thresholdLabel: 'best-F1 threshold' };
}

export interface SectionOptions {
  traces: readonly Trace[];
  reports: readonly DetectorReport[];
  /** What the per-kind figures show (default: the reports at their in-sample best thresholds). */
  plots?: readonly PlotSeries[];
  plotCaption?: string;
  opts: MetricOptions;
  outDir: string;
  colors: Record<string, string>;
  table: (header: string[], rows: string[][]) => string;
}


/** Kinds in catalog order, then any others alphabetically. */
export function kindsIn(traces: readonly Trace[]): string[] {
  const present = new Set(traces.map(kindOf));
  const known = SCENARIOS.map((s) => s.name).filter((k) => present.has(k));
  return [...known, ...[...present].filter((k) => !known.includes(k)).sort()];
}

const secs = (ms: number) => `${Math.round(ms / 1000)} s`;

function libraryTable(o: SectionOptions): string {
  return o.table(
    ['trace', 'fault', 'variant', 'samples', 'normal', 'fault to failure', 'failure signal'],
    o.traces.map((t) => {
      const w = t.windows[0];
      const normal = w ? w.start - t.rows[0].ts : NaN;
      return [
        t.name,
        kindOf(t),
        t.meta?.variant ?? '-',
        String(t.rows.length),
        Number.isFinite(normal) ? secs(normal) : '-',
        w?.failure !== undefined ? secs(w.failure - w.start) : 'no failure',
        t.meta?.failureSignal ?? '-',
      ];
    }),
  );
}

/** One detector's metrics per fault kind (and over all) at threshold θ. */
export function perKindRows(scored: readonly ScoredTrace[], theta: number, opts: MetricOptions, kinds: readonly string[]): string[][] {
  const row = (label: string, subset: readonly ScoredTrace[]) => {
    const m = evaluateAt(subset, theta, opts);
    return [label, String(subset.length), pct(m.precision), pct(m.recall), m.f1.toFixed(3), `${m.tp}/${m.fp}/${m.fn}`, pct(m.fpRateSamples, 2), num(m.fpPerHour, 1), duration(m.leadTimeMeanMs), duration(m.leadTimeMedianMs)];
  };
  return [...kinds.map((k) => row(k, scored.filter((s) => kindOf(s.trace) === k))), row('**all**', scored)];
}

const PER_KIND_HEADER = ['fault', 'traces', 'precision', 'recall', 'F1', 'TP/FP/FN', 'FPR (samples)', 'false alarms / h', 'lead mean', 'lead median'];

/** The plot of one trace: metrics and scores against seconds from the fault's start. */
export function tracePanels(t: Trace, input: readonly (DetectorReport | PlotSeries)[], colors: Record<string, string>): PanelOptions[] {
  const reports = input.map(asPlot);
  const w = t.windows[0];
  const t0 = w?.start ?? t.rows[0].ts;
  const x = (ts: number) => (ts - t0) / 1000;
  const xDomain = [x(t.rows[0].ts), x(t.rows[t.rows.length - 1].ts)] as const;
  const bands = w ? [[x(w.start), x(w.failure ?? w.end)] as const] : [];
  const trainEnd = t.trainUntil !== undefined && t.trainUntil < t.rows.length ? x(t.rows[t.trainUntil].ts) : null;
  const failureAt = w?.failure !== undefined ? x(w.failure) : null;
  /** A vertical marker at the failure, as a two-point series. */
  const marker = (lo: number, hi: number): Series[] => (failureAt === null ? [] : [{ name: 'failure', color: '#000', dash: '3 3', points: [[failureAt, lo], [failureAt, hi]] }]);
  const metric = (key: 'cpu' | 'mem' | 'net' | 'disk', label: string, scale: number, color: string): PanelOptions => {
    const pts = t.rows.flatMap((r) => (typeof r[key] === 'number' ? [[x(r.ts), (r[key] as number) / scale] as const] : []));
    const hi = Math.max(1, ...pts.map((p) => p[1]));
    const yDomain = key === 'cpu' || key === 'mem' ? ([0, 100] as const) : ([0, hi * 1.05] as const);
    return { width: 900, height: 130, yLabel: label, series: [{ name: label, color, points: pts }, ...marker(yDomain[0], yDomain[1])], xDomain, yDomain, bands, legend: false };
  };
  const head = metric('cpu', 'CPU %', 1, '#333');
  head.height = 150;
  head.title = `${t.name} (${t.meta?.variant ?? kindOf(t)})${trainEnd !== null ? `, training before ${Math.round(trainEnd)} s` : ''}`;
  const panels: PanelOptions[] = [head, metric('mem', 'mem %', 1, '#333'), metric('net', 'net kB/s', 1000, '#333'), metric('disk', 'disk kB/s', 1000, '#333')];
  reports.forEach((r, i) => {
    const st = r.scored.find((s) => s.trace === t);
    if (!st) return;
    const best = r.threshold(t);
    panels.push({
      width: 900, height: 110, yLabel: r.detector, xLabel: i === reports.length - 1 ? 'seconds from the fault\'s start' : undefined, xDomain, yDomain: [0, 1], bands,
      series: [{ name: r.detector, color: colors[r.detector] ?? '#555', points: st.scores.map((s, k) => [x(t.rows[k].ts), s] as const) }, ...marker(0, 1)],
      hLines: [{ y: best, label: `${r.thresholdLabel} ${best.toFixed(2)}` }], legend: false, yTick: (y) => y.toFixed(1),
    });
  });
  return panels;
}

/** Markdown lines of the section; writes scenario-<kind>.svg into outDir. */
export function scenarioSection(o: SectionOptions): string[] {
  const kinds = kindsIn(o.traces);
  const md: string[] = [
    '### The trace library',
    '',
    'Each trace: the agent\'s own 1-s samples of one real guest run (QEMU TCG under libvirt), a normal period with the workload, then one injected fault and its failure. The first half of the normal period trains the detectors; the rest is scored. How they are recorded: [docs/scenarios.md](../docs/scenarios.md).',
    '',
    libraryTable(o),
    '',
  ];
  for (const r of o.reports) {
    if (!r.best) continue;
    md.push(`### ${r.detector} per fault kind, at its best threshold ${r.best.threshold.toFixed(2)}`, '', o.table(PER_KIND_HEADER, perKindRows(r.scored, r.best.threshold, o.opts, kinds)), '');
  }
  md.push(
    'Lead time: from the first alarm in the prediction period to the failure. FPR (samples): share of scored rows outside the fault windows at or above the threshold.',
    '`hang` and the sudden `crash` leave about one second between the fault and the failure: a detector "predicts" them only when it was already alarming, and pays for that in false alarms elsewhere. Two traces per fault and in-sample thresholds: read the per-fault rows as indications, not as rates.',
    '',
  );
  for (const k of kinds) {
    const t = o.traces.find((x) => kindOf(x) === k);
    if (!t) continue;
    const file = `scenario-${k.replace(/[^A-Za-z0-9_-]/g, '_')}.svg`;
    writeFileSync(join(o.outDir, file), svgDocument(tracePanels(t, o.plots ?? o.reports, o.colors)));
    md.push(`#### ${k}`, '', `${t.name}: the agent's metrics and ${o.plotCaption ?? "each detector's score"} against seconds from the fault's start; shaded: the prediction period (fault start to failure), dashed: the failure.`, '', `![${t.name}: metrics and detector scores around the fault](${file})`, '');
  }
  return md;
}
