// The response-time experiments' sections of the results page: fixed
// short-interval Remus against an adaptive interval, as recorded by the
// nested Xen lane (docs/xen-lane.md): `agent.json` (test/xen/agent.xen.ts:
// Hefery's agent in dom0 decides the interval from the HMM's risk) and
// `response.json` (test/xen/response.xen.ts: a scripted schedule, the best
// case for a given lead). Reads a recorded file, checks the parts it shows,
// and writes the tables and one plot. Pure apart from the plot file.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { svgDocument, type PanelOptions } from '../host-agent/src/evaluation/svg';
import { combineWrk } from '../test/xen/wrk';

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
  /** true: the file had no per-mode sums (its run stopped at an assertion), they were added up here from its runs. */
  derived: boolean;
  /** Per scripted adaptive run: how long before the fault the short interval was in effect, and the restart gap. */
  tightens: Array<{ mode: string; gapMs: number; inEffectBeforeFaultS: number }>;
  /** Per run where the agent decided: what it did around the fault (seconds from the fault's start). */
  agentRuns: AgentRun[];
}

export interface AgentRun {
  mode: string;
  relaxedAfterS: number | null;
  firstRiskAboveRaiseS: number | null;
  tightenRequestedS: number | null;
  tightenedInEffectS: number | null;
  tightenedBeforeFailureS: number | null;
  tightenRestartGapS: number | null;
  maxRisk: number | null;
  stableSamplesAboveRaise: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function periodSums(v: unknown, where: string): PeriodSums {
  if (!isObj(v) || !isNum(v.requests) || !isNum(v.perSecond) || !isNum(v.meanLatencyMs)) {
    throw new Error(`${where}: expected {requests, perSecond, meanLatencyMs} numbers`);
  }
  return { requests: v.requests, perSecond: v.perSecond, meanLatencyMs: v.meanLatencyMs };
}

interface RecordedSegment {
  name: string;
  wrk: { seconds: number; requests: number; latencyMs: { mean: number } };
  checkpoints: number;
}

function recordedSegment(s: unknown, where: string): RecordedSegment {
  if (!isObj(s) || typeof s.name !== 'string' || !isObj(s.wrk) || !isNum(s.wrk.seconds) || !isNum(s.wrk.requests) || !isObj(s.wrk.latencyMs) || !isNum(s.wrk.latencyMs.mean) || !isNum(s.checkpoints)) {
    throw new Error(`${where}: expected {name, wrk: {seconds, requests, latencyMs: {mean}}, checkpoints}`);
  }
  return s as unknown as RecordedSegment;
}

/**
 * The per-mode sums and same-boot ratios of a file without them (a lane run
 * that stopped at an assertion after its runs were recorded), added up from
 * its runs as the lane test does (test/xen/wrk.ts combineWrk).
 */
function deriveSums(runs: unknown[], file: string): { byMode: Record<string, unknown>; ratios: Record<string, number> } {
  const byRun = runs.map((r, i) => {
    if (!isObj(r) || typeof r.mode !== 'string' || !Array.isArray(r.segments)) throw new Error(`${file}: runs[${i}]: expected {mode, segments}`);
    return { mode: r.mode, segments: r.segments.map((s, j) => recordedSegment(s, `${file}: runs[${i}].segments[${j}]`)) };
  });
  const byMode: Record<string, Record<string, unknown>> = {};
  for (const mode of new Set(byRun.map((r) => r.mode))) {
    const rs = byRun.filter((r) => r.mode === mode);
    const m: Record<string, unknown> = { runs: rs.length, checkpoints: rs.reduce((a, r) => a + r.segments.reduce((b, s) => b + s.checkpoints, 0), 0) };
    for (const name of new Set(rs.flatMap((r) => r.segments.map((s) => s.name)))) m[name] = combineWrk(rs.flatMap((r) => r.segments.filter((s) => s.name === name).map((s) => s.wrk as Parameters<typeof combineWrk>[0][number])));
    m.total = combineWrk(rs.flatMap((r) => r.segments.map((s) => s.wrk as Parameters<typeof combineWrk>[0][number])));
    byMode[mode] = m;
  }
  const ratios: Record<string, number> = {};
  const f = byMode.fixed as Record<string, PeriodSums | number> | undefined;
  const a = byMode.adaptive as Record<string, PeriodSums | number> | undefined;
  if (f && a) {
    const ratio = (x: number, y: number) => Math.round((x / Math.max(y, 1e-9)) * 100) / 100;
    for (const period of ['stable', 'fault', 'total']) {
      const fp = f[period] as PeriodSums | undefined;
      const ap = a[period] as PeriodSums | undefined;
      if (!fp || !ap) continue;
      ratios[`${period}LatencyFixedOverAdaptive`] = ratio(fp.meanLatencyMs, ap.meanLatencyMs);
      ratios[`${period}ThroughputAdaptiveOverFixed`] = ratio(ap.perSecond, fp.perSecond);
    }
    ratios.checkpointsFixedOverAdaptive = ratio(f.checkpoints as number, a.checkpoints as number);
  }
  return { byMode, ratios };
}

/** Parses response.json / agent.json; a file of another shape is an error naming the field. */
export function parseResponseReport(input: unknown, file: string): ResponseReport {
  if (!isObj(input)) throw new Error(`${file}: expected a JSON object`);
  if (!Array.isArray(input.runs) || input.runs.length === 0) throw new Error(`${file}: runs: expected a non-empty array`);
  const derived = input.byMode === undefined;
  const raw = derived ? { ...input, ...deriveSums(input.runs, file) } : input;
  if (!isObj(raw.byMode)) throw new Error(`${file}: byMode: expected an object of modes`);
  const first = (raw.runs as unknown[])[0];
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
  const agentRuns: AgentRun[] = [];
  const numOrNull = (v: unknown) => (isNum(v) ? v : null);
  for (const r of raw.runs as unknown[]) {
    if (isObj(r) && isObj(r.tighten) && isNum(r.tighten.gapMs) && isNum(r.tighten.inEffectBeforeFaultS)) {
      tightens.push({ mode: String(r.mode), gapMs: r.tighten.gapMs, inEffectBeforeFaultS: r.tighten.inEffectBeforeFaultS });
    }
    if (isObj(r) && isObj(r.fault)) {
      const f = r.fault;
      agentRuns.push({
        mode: String(r.mode), relaxedAfterS: numOrNull(r.relaxedAfterS), firstRiskAboveRaiseS: numOrNull(f.firstRiskAboveRaiseS), tightenRequestedS: numOrNull(f.tightenRequestedS),
        tightenedInEffectS: numOrNull(f.tightenedInEffectS), tightenedBeforeFailureS: numOrNull(f.tightenedBeforeFailureS), tightenRestartGapS: numOrNull(f.tightenRestartGapS),
        maxRisk: numOrNull(f.maxRisk), stableSamplesAboveRaise: typeof f.stableSamplesAboveRaise === 'string' ? f.stableSamplesAboveRaise : '?',
      });
    }
  }
  return { when: typeof raw.when === 'string' ? raw.when : '?', knobs: isObj(raw.knobs) ? raw.knobs : {}, modes, periods, ratios, derived, tightens, agentRuns };
}

/** Words for the ratio keys test/xen/response.xen.ts writes; others are shown by their key. */
const RATIO_LABELS: Record<string, string> = {
  stableLatencyFixedOverAdaptive: 'mean latency while stable, fixed / adaptive',
  stableThroughputAdaptiveOverFixed: 'throughput while stable, adaptive / fixed',
  faultLatencyFixedOverAdaptive: 'mean latency during the fault, fixed / adaptive',
  faultThroughputAdaptiveOverFixed: 'throughput during the fault, adaptive / fixed',
  totalLatencyFixedOverAdaptive: 'mean latency over the whole run, fixed / adaptive',
  totalThroughputAdaptiveOverFixed: 'throughput over the whole run, adaptive / fixed',
  checkpointsFixedOverAdaptive: 'checkpoints sent, fixed / adaptive',
  fixedLatencyOverUnreplicated: 'mean latency, fixed Remus / unreplicated',
  adaptiveLatencyOverUnreplicated: 'mean latency, adaptive / unreplicated',
};

/** One experiment on the page: which recorded file, and what its modes mean. */
export interface Experiment {
  heading: string;
  /** What was run (markdown), before the settings. */
  intro: string;
  command: string;
  modeLabels: Record<string, string>;
  /** The plot's file name in the results directory. */
  plot: string;
}

/** test/xen/agent.xen.ts: the closed loop. */
export const AGENT_EXPERIMENT: Experiment = {
  heading: 'Response time: fixed Remus against the interval Hefery\'s agent decides (nested Xen lane, closed loop)',
  intro: 'Hefery\'s agent runs in the nested dom0: it samples the PVH guest through libvirt\'s Xen driver, scores it with the HMM trained in the lane on the guest\'s own history, and its policy drives real `xl remus` through the xen-remus backend. A web server in the guest under wrk; per run a stable period, then a fault (a CPU runaway in the guest) whose end is where the failure would be. The modes alternate in one lane boot (ABBA) and the ratios are taken between them in that same boot, since nested TCG inflates every absolute figure. This is one recorded run, and runs of this lane vary widely: an unrecorded validation run of the same test had far more false alarms and much smaller ratios (docs/xen-lane.md).',
  command: 'bash scripts/test-xen.sh --record agent',
  modeLabels: {
    fixed: 'the agent\'s safe interval pinned by an operator (`interval.pin`): `xl remus` at the short interval throughout',
    adaptive: 'the agent deciding (`interval.resume`): HMM risk → policy → xen-remus backend',
  },
  plot: 'response-time-agent.svg',
};

/** test/xen/response.xen.ts: a scripted schedule. */
export const SCRIPTED_EXPERIMENT: Experiment = {
  heading: 'Response time: fixed Remus against a scripted adaptive schedule (nested Xen lane)',
  intro: 'A web server in a PVH guest replicated by real `xl remus` under Hefery\'s xen-remus backend, loaded by wrk, through a stable period, a warning period and an injected fault; the modes alternate in one lane boot (ABBA), and the ratios are taken between them in that same boot, since nested TCG inflates every absolute figure.',
  command: 'bash scripts/test-xen.sh --record response',
  modeLabels: {
    unreplicated: 'no replication (the guest alone, for scale)',
    fixed: '`xl remus` at the short interval throughout',
    adaptive: 'a scripted schedule, not the agent: the relaxed interval while stable, tightened to the short one a fixed lead before the fault (the best case for that lead)',
  },
  plot: 'response-time.svg',
};

const MODE_COLORS: Record<string, string> = { unreplicated: '#7f7f7f', fixed: '#d62728', adaptive: '#1f77b4' };
const OTHER_COLORS = ['#2ca02c', '#9467bd', '#8c564b'];

function plotPanels(r: ResponseReport): PanelOptions[] {
  // Ticks fall at round values, halves included: only the periods' own positions are labelled.
  const xTick = (x: number) => (Number.isInteger(x) ? r.periods[x] ?? '' : '');
  const base = { width: 700, height: 230, xDomain: [-0.2, r.periods.length - 0.8] as const, xTick, xLabel: 'period of the run' };
  const series = (pick: (s: PeriodSums) => number) =>
    [...r.modes].map(([mode, m], i) => ({ name: mode, color: MODE_COLORS[mode] ?? OTHER_COLORS[i % OTHER_COLORS.length], markers: true, points: r.periods.map((p, x) => [x, pick(m.periods.get(p)!)] as const) }));
  return [
    { ...base, title: 'Mean response time per period (ms)', yLabel: 'ms', series: series((s) => s.meanLatencyMs), yDomain: [0, Math.max(...[...r.modes.values()].flatMap((m) => [...m.periods.values()].map((s) => s.meanLatencyMs))) * 1.1] },
    { ...base, title: 'Throughput per period (requests/s)', yLabel: 'req/s', series: series((s) => s.perSecond), yDomain: [0, Math.max(...[...r.modes.values()].flatMap((m) => [...m.periods.values()].map((s) => s.perSecond))) * 1.1] },
  ];
}

/** The section's markdown lines; writes the experiment's plot into outDir. */
export function responseSection(r: ResponseReport, x: Experiment, o: { outDir: string; table: (header: string[], rows: string[][]) => string; source: string }): string[] {
  writeFileSync(join(o.outDir, x.plot), svgDocument(plotPanels(r)));
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
    `## ${x.heading}`,
    '',
    `Recorded ${r.when} by \`${x.command}\` (${o.source}; the lane and what nested emulation distorts: [docs/xen-lane.md](../docs/xen-lane.md)). ${x.intro}` +
      (knobs ? ` Settings: ${knobs}.` : ''),
    '',
    'Modes:',
    '',
    ...[...r.modes.keys()].map((m) => `- **${m}**: ${x.modeLabels[m] ?? 'see docs/xen-lane.md'}`),
    '',
    `![response time and throughput per period](${x.plot})`,
    '',
    o.table(['mode', 'period', 'requests', 'requests/s', 'mean latency (ms)'], rows),
    '',
    ...(r.derived ? ['The recorded file has no sums (the lane run stopped at an assertion after its runs were recorded): the sums and ratios below are added up here from its runs, as the lane test does.', ''] : []),
    o.table(['ratio (same lane boot)', 'value'], ratioRows),
    '',
    o.table(['mode', 'runs', 'checkpoints sent'], checkpointRows),
    '',
  ];
  if (r.agentRuns.length) {
    const s = (v: number | null) => (v === null ? 'never' : `${v.toFixed(1)} s`);
    const range = (vs: Array<number | null>) => {
      const xs = vs.filter((v): v is number => v !== null);
      return xs.length ? `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} s` : 'never';
    };
    out.push(
      `**Read it with its shortfalls** ([docs/xen-lane.md](../docs/xen-lane.md#figures-of-the-closed-loop-agent-in-dom0)): every interval change restarts Remus, with the guest unprotected meanwhile (the tightens' restart gaps here: ${range(r.agentRuns.map((a) => a.tightenRestartGapS))}), and each relax is a restart too, so part of the adaptive mode's advantage is time without replication; ` +
        `the risk first reached the raise line ${range(r.agentRuns.map((a) => a.firstRiskAboveRaiseS))} after the fault began, not before it.`,
      '',
    );
    out.push(
      'What the agent did in each of its runs, in seconds from the fault\'s start (negative: before it). A tighten restarts Remus, so the short interval is in effect only after the restart gap; "before the failure" is how long the short interval was in effect before the end of the fault window:',
      '',
      o.table(
        ['run', 'relaxed after (s from resume)', 'stable samples at or above the raise line', 'risk first at the raise line', 'tighten asked', 'restart gap', 'short interval in effect', 'in effect before the failure', 'highest risk'],
        r.agentRuns.map((a, i) => [String(i + 1), a.relaxedAfterS === null ? 'did not relax' : `${a.relaxedAfterS.toFixed(1)} s`, a.stableSamplesAboveRaise, s(a.firstRiskAboveRaiseS), s(a.tightenRequestedS), s(a.tightenRestartGapS), s(a.tightenedInEffectS), s(a.tightenedBeforeFailureS), a.maxRisk === null ? '-' : a.maxRisk.toFixed(2)]),
      ),
      '',
    );
  }
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
