// The response-time experiment's section of the results page: fixed
// short-interval Remus against the adaptive interval, as recorded by the
// nested Xen lane (`bash scripts/test-xen.sh --record response` writes
// results/xen-lane/response.json; test/xen/response.xen.ts, docs/xen-lane.md).
// Reads the recorded file, checks the parts it shows, and writes the tables
// and one plot (response-time.svg). Pure apart from the plot file.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { svgDocument, type PanelOptions } from '../host-agent/src/evaluation/svg';

/** One mode's sums over one period (a segment of the run, or the whole run). */
interface PeriodSums {
  requests: number;
  perSecond: number;
  meanLatencyMs: number;
}

interface ModeSums {
  periods: Map<string, PeriodSums>;
  total: PeriodSums;
  checkpoints: number;
  runs: number;
}

export interface ResponseReport {
  when: string;
  knobs: Record<string, unknown>;
  /** In the order the file lists them (unreplicated, fixed, adaptive...). */
  modes: Map<string, ModeSums>;
  /** Period names in run order (stable, warning, fault). */
  periods: string[];
  ratios: Map<string, number>;
  /** Per adaptive run: how long before the fault the short interval was in effect, and the restart gap. */
  tightens: Array<{ mode: string; gapMs: number; inEffectBeforeFaultS: number }>;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function periodSums(v: unknown, where: string): PeriodSums {
  if (!isObj(v) || !isNum(v.requests) || !isNum(v.perSecond) || !isNum(v.meanLatencyMs)) {
    throw new Error(`${where}: expected {requests, perSecond, meanLatencyMs} numbers`);
  }
  return { requests: v.requests, perSecond: v.perSecond, meanLatencyMs: v.meanLatencyMs };
}

/** Parses response.json; a file of another shape is an error naming the field. */
export function parseResponseReport(raw: unknown, file: string): ResponseReport {
  if (!isObj(raw)) throw new Error(`${file}: expected a JSON object`);
  if (!isObj(raw.byMode)) throw new Error(`${file}: byMode: expected an object of modes`);
  if (!Array.isArray(raw.runs) || raw.runs.length === 0) throw new Error(`${file}: runs: expected a non-empty array`);
  const first = raw.runs[0] as unknown;
  if (!isObj(first) || !Array.isArray(first.segments)) throw new Error(`${file}: runs[0].segments: expected an array`);
  const periods = first.segments.map((s: unknown, i: number) => {
    if (!isObj(s) || typeof s.name !== 'string') throw new Error(`${file}: runs[0].segments[${i}].name: expected a string`);
    return s.name;
  });
  const modes = new Map<string, ModeSums>();
  for (const [mode, m] of Object.entries(raw.byMode)) {
    const where = `${file}: byMode.${mode}`;
    if (!isObj(m)) throw new Error(`${where}: expected an object`);
    const sums = new Map(periods.map((p) => [p, periodSums(m[p], `${where}.${p}`)]));
    if (!isNum(m.checkpoints) || !isNum(m.runs)) throw new Error(`${where}: checkpoints, runs: expected numbers`);
    modes.set(mode, { periods: sums, total: periodSums(m.total, `${where}.total`), checkpoints: m.checkpoints, runs: m.runs });
  }
  const ratios = new Map<string, number>();
  if (raw.ratios !== undefined) {
    if (!isObj(raw.ratios)) throw new Error(`${file}: ratios: expected an object`);
    for (const [k, v] of Object.entries(raw.ratios)) if (isNum(v)) ratios.set(k, v);
  }
  const tightens: ResponseReport['tightens'] = [];
  for (const r of raw.runs as unknown[]) {
    if (isObj(r) && isObj(r.tighten) && isNum(r.tighten.gapMs) && isNum(r.tighten.inEffectBeforeFaultS)) {
      tightens.push({ mode: String(r.mode), gapMs: r.tighten.gapMs, inEffectBeforeFaultS: r.tighten.inEffectBeforeFaultS });
    }
  }
  return { when: typeof raw.when === 'string' ? raw.when : '?', knobs: isObj(raw.knobs) ? raw.knobs : {}, modes, periods, ratios, tightens };
}

/** Words for the ratio keys test/xen/response.xen.ts writes; others are shown by their key. */
const RATIO_LABELS: Record<string, string> = {
  stableLatencyFixedOverAdaptive: 'mean latency while stable, fixed / adaptive',
  stableThroughputAdaptiveOverFixed: 'throughput while stable, adaptive / fixed',
  totalLatencyFixedOverAdaptive: 'mean latency over the whole run, fixed / adaptive',
  totalThroughputAdaptiveOverFixed: 'throughput over the whole run, adaptive / fixed',
  checkpointsFixedOverAdaptive: 'checkpoints sent, fixed / adaptive',
  fixedLatencyOverUnreplicated: 'mean latency, fixed Remus / unreplicated',
  adaptiveLatencyOverUnreplicated: 'mean latency, adaptive / unreplicated',
};

/** What each mode of test/xen/response.xen.ts is; a mode not listed here is shown by its name. */
const MODE_LABELS: Record<string, string> = {
  unreplicated: 'no replication (the guest alone, for scale)',
  fixed: '`xl remus` at the short interval throughout',
  adaptive: 'a scripted schedule, not the agent: the relaxed interval while stable, tightened to the short one a fixed lead before the fault (the best case for that lead)',
};

const MODE_COLORS = ['#7f7f7f', '#d62728', '#1f77b4', '#2ca02c', '#9467bd'];

function plotPanels(r: ResponseReport): PanelOptions[] {
  const xTick = (x: number) => r.periods[Math.round(x)] ?? '';
  const base = { width: 700, height: 230, xDomain: [-0.2, r.periods.length - 0.8] as const, xTick, xLabel: 'period of the run' };
  const series = (pick: (s: PeriodSums) => number) =>
    [...r.modes].map(([mode, m], i) => ({ name: mode, color: MODE_COLORS[i % MODE_COLORS.length], markers: true, points: r.periods.map((p, x) => [x, pick(m.periods.get(p)!)] as const) }));
  return [
    { ...base, title: 'Mean response time per period (ms)', yLabel: 'ms', series: series((s) => s.meanLatencyMs), yDomain: [0, Math.max(...[...r.modes.values()].flatMap((m) => [...m.periods.values()].map((s) => s.meanLatencyMs))) * 1.1] },
    { ...base, title: 'Throughput per period (requests/s)', yLabel: 'req/s', series: series((s) => s.perSecond), yDomain: [0, Math.max(...[...r.modes.values()].flatMap((m) => [...m.periods.values()].map((s) => s.perSecond))) * 1.1] },
  ];
}

/** The section's markdown lines; writes response-time.svg into outDir. */
export function responseSection(r: ResponseReport, o: { outDir: string; table: (header: string[], rows: string[][]) => string; source: string }): string[] {
  writeFileSync(join(o.outDir, 'response-time.svg'), svgDocument(plotPanels(r)));
  const knobs = Object.entries(r.knobs).map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
  const rows: string[][] = [];
  for (const [mode, m] of r.modes) {
    for (const p of r.periods) {
      const s = m.periods.get(p)!;
      rows.push([mode, p, String(s.requests), s.perSecond.toFixed(2), s.meanLatencyMs.toFixed(0)]);
    }
    rows.push([mode, '**whole run**', String(m.total.requests), m.total.perSecond.toFixed(2), m.total.meanLatencyMs.toFixed(0)]);
  }
  const ratioRows = [...r.ratios].map(([k, v]) => [RATIO_LABELS[k] ?? k, v.toFixed(2)]);
  const checkpointRows = [...r.modes].map(([mode, m]) => [mode, String(m.runs), String(m.checkpoints)]);
  const out = [
    '## Response time: fixed short-interval Remus against the adaptive interval (nested Xen lane)',
    '',
    `Recorded ${r.when} by \`bash scripts/test-xen.sh --record response\` (${o.source}; the lane and what nested emulation distorts: [docs/xen-lane.md](../docs/xen-lane.md)). ` +
      'A web server in a PVH guest replicated by real `xl remus` under Hefery\'s xen-remus backend, loaded by wrk, through a stable period, a warning period and an injected fault; ' +
      'the modes alternate in one lane boot (ABBA), and the ratios are taken between them in that same boot, since nested TCG inflates every absolute figure.' +
      (knobs ? ` Settings: ${knobs}.` : ''),
    '',
    'Modes:',
    '',
    ...[...r.modes.keys()].map((m) => `- **${m}**: ${MODE_LABELS[m] ?? 'see docs/xen-lane.md'}`),
    '',
    '![response time and throughput per period](response-time.svg)',
    '',
    o.table(['mode', 'period', 'requests', 'requests/s', 'mean latency (ms)'], rows),
    '',
    o.table(['ratio (same lane boot)', 'value'], ratioRows),
    '',
    o.table(['mode', 'runs', 'checkpoints sent'], checkpointRows),
    '',
  ];
  if (r.tightens.length) {
    out.push(
      'When the interval tightened, per adaptive run (a tighten restarts Remus: the gap is the time the guest was unprotected; "in effect before the fault": negative means late):',
      '',
      o.table(['run', 'mode', 'restart gap', 'short interval in effect before the fault'], r.tightens.map((t, i) => [String(i + 1), t.mode, `${(t.gapMs / 1000).toFixed(1)} s`, `${t.inEffectBeforeFaultS.toFixed(1)} s`])),
      '',
    );
  }
  return out;
}
