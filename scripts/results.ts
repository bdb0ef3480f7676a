// Generates results/README.md and its SVG plots: every detector evaluated on
// the shared NAB data (../shared/data/nab) and on the labelled traces in
// traces/ when there are any. Run: node --import tsx scripts/results.ts
//   [--nab DIR] [--traces DIR] [--out DIR] [--detectors hmm,threshold,threshold-binary,ewma]
//   [--record-scenarios LIST|all [--scenario-repeat N]] [--xen-lane DIR] [--record-xen]
// Bounded: a few seconds for the baselines on the 9 NAB files. --record-scenarios
// first records the failure scenarios on the real test guest into the traces
// directory (scripts/scenarios/run.ts; minutes per run, see docs/scenarios.md).
// --record-xen first runs the response-time experiments on the nested Xen lane
// (`bash scripts/test-xen.sh --record agent`, then `... response`: the agent
// deciding, and a scripted schedule; over an hour); the page's response-time
// sections read what the lane recorded (results/xen-lane/).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_REFRACTORY_MS, evaluateAt, parseThresholds, type ThresholdMetrics } from '../host-agent/src/evaluation/metrics';
import { formatNabTimestamp, readNabCorpus, type NabCorpusFile } from '../host-agent/src/evaluation/nab';
import { duration, num, pct } from '../host-agent/src/evaluation/report';
import { crossValidatedDetectors, detectorFactories, evaluateNab, evaluateTraces, type DetectorFactory, type DetectorReport } from '../host-agent/src/evaluation/run';
import { svgDocument, type PanelOptions, type Series } from '../host-agent/src/evaluation/svg';
import { crossValidate, PROTOCOLS, type CrossValidatedDetector, type CrossValidationReport, type Protocol } from '../host-agent/src/evaluation/crossval';
import type { MetricOptions } from '../host-agent/src/evaluation/metrics';
import { readTraceDir } from '../host-agent/src/evaluation/traces';
import type { Trace } from '../host-agent/src/evaluation/types';
import { DEFAULT_POLICY } from '../host-agent/src/policy';
import { heldOutPlots, heldOutSection } from './scenarios/held-out-section';
import { kindsIn, scenarioSection } from './scenarios/results-section';
import { AGENT_EXPERIMENT, parseResponseReport, responseSection, SCRIPTED_EXPERIMENT } from './response-section';

const ROOT = resolve(__dirname, '..');
const COLORS: Record<string, string> = { hmm: '#1f77b4', 'hmm-select': '#9467bd', threshold: '#d62728', 'threshold-binary': '#ff7f0e', ewma: '#2ca02c' };
const SWEEP = parseThresholds('0:1:0.01');
const SHOWN = parseThresholds('0.1:0.9:0.1');
/** The recorded scenarios last minutes at 1-s samples: alarms re-arm after a minute, not an hour. */
const SCENARIO_REFRACTORY_MS = 60_000;

function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function bestRow(r: DetectorReport): string[] {
  const b = r.best as ThresholdMetrics;
  return [
    r.detector,
    b.threshold.toFixed(2),
    pct(b.precision),
    pct(b.recall),
    b.f1.toFixed(3),
    `${b.tp}/${b.fp}/${b.fn}`,
    num(b.fpPerHour, 3),
    duration(b.leadTimeMeanMs),
    duration(b.leadTimeMedianMs),
    r.pr.area.toFixed(3),
    r.nab ? r.nab.normalized.toFixed(1) : '-',
  ];
}

const BEST_HEADER = ['detector', 'best threshold', 'precision', 'recall', 'F1', 'TP/FP/FN', 'false alarms / h', 'lead mean', 'lead median', 'PR area', 'NAB score (standard)'];

function sweepTable(r: DetectorReport): string {
  return mdTable(
    ['threshold', 'precision', 'recall', 'F1', 'TP/FP/FN', 'late', 'false alarms / h', 'FPR (samples)', 'lead median'],
    SHOWN.map((t) => r.sweep.find((s) => Math.abs(s.threshold - t) < 1e-9) as ThresholdMetrics).map((s) => [
      s.threshold.toFixed(1), pct(s.precision), pct(s.recall), s.f1.toFixed(3), `${s.tp}/${s.fp}/${s.fn}`, String(s.late), num(s.fpPerHour, 3), pct(s.fpRateSamples, 2), duration(s.leadTimeMedianMs),
    ]),
  );
}

function prPanel(title: string, reports: readonly Pick<DetectorReport, 'detector' | 'pr'>[]): PanelOptions {
  const series: Series[] = reports.map((r) => ({
    name: `${r.detector} (area ${r.pr.area.toFixed(2)})`,
    color: COLORS[r.detector] ?? '#555',
    points: r.pr.points.map((p) => [p.recall, p.precision] as const),
    markers: true,
  }));
  return { width: 640, height: 420, title, xLabel: 'recall (fault windows predicted)', yLabel: 'precision', series, xDomain: [0, 1], yDomain: [0, 1], yTick: (y) => y.toFixed(1), xTick: (x) => x.toFixed(1) };
}

/**
 * The held-out protocols over the traces: the agent's HMM, the variant
 * selection, the uncalibrated reading, and the wanted baselines (one shared
 * cache of fold models, so "hmm" costs nothing beyond "hmm-select").
 */
async function heldOutReports(traces: readonly Trace[], wanted: readonly string[], o: MetricOptions): Promise<Map<Protocol, CrossValidationReport[]>> {
  const names = wanted.flatMap((n) => (n === 'hmm' ? ['hmm-select', 'hmm', 'hmm-uncalibrated'] : [n]));
  const detectors = await crossValidatedDetectors(names);
  const out = new Map<Protocol, CrossValidationReport[]>();
  for (const protocol of PROTOCOLS) {
    const reports = names.map((name) => crossValidate(detectors.get(name) as CrossValidatedDetector[], traces, { ...o, protocol, thresholds: SWEEP, name }));
    // table order: the agent's hmm first, then the selection, the baselines, the uncalibrated reading
    const order = (n: string) => (n === 'hmm' ? 0 : n === 'hmm-select' ? 1 : n === 'hmm-uncalibrated' ? 3 : 2);
    out.set(protocol, reports.sort((a, b) => order(a.detector) - order(b.detector)));
    process.stdout.write(`${PROTOCOLS_DONE(protocol, reports)}\n`);
  }
  return out;
}

const PROTOCOLS_DONE = (p: Protocol, rs: readonly CrossValidationReport[]) => `${p}: ${rs.map((r) => `${r.detector} F1 ${r.heldOut.f1.toFixed(3)} (${r.seconds.toFixed(0)} s)`).join(', ')}`;

function examplePanels(file: NabCorpusFile, reports: readonly DetectorReport[], index: number): PanelOptions[] {
  const ts = file.series.timestamps;
  const day = (t: number) => (t - ts[0]) / 86_400_000;
  const bands = file.windows.map(([a, b]) => [day(a), day(b)] as const);
  const xDomain = [0, day(ts[ts.length - 1])] as const;
  const probation = day(ts[reports[0].scored[index].trace.trainUntil ?? 0]);
  const value: PanelOptions = {
    width: 900, height: 220, title: `${file.series.file} (${formatNabTimestamp(ts[0]).slice(0, 10)} +days; shaded: labelled windows; before day ${probation.toFixed(1)}: training/probation)`,
    yLabel: 'value', series: [{ name: 'value', color: '#333', points: ts.map((t, i) => [day(t), file.series.values[i]] as const) }], xDomain, bands, legend: false,
  };
  const scores: PanelOptions[] = reports.map((r) => {
    const best = r.best?.threshold ?? 0.5;
    return {
      width: 900, height: 150, yLabel: r.detector, xLabel: r === reports[reports.length - 1] ? 'days' : undefined, xDomain, yDomain: [0, 1], bands,
      series: [{ name: `${r.detector} score`, color: COLORS[r.detector] ?? '#555', points: r.scored[index].scores.map((s, i) => [day(ts[i]), s] as const) }],
      hLines: [{ y: best, label: `best-F1 threshold ${best.toFixed(2)}` }], legend: false, yTick: (y) => y.toFixed(1),
    };
  });
  return [value, ...scores];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nab: { type: 'string' }, traces: { type: 'string' }, out: { type: 'string' }, detectors: { type: 'string' },
      'record-scenarios': { type: 'string' }, 'scenario-repeat': { type: 'string' },
      'xen-lane': { type: 'string' }, 'record-xen': { type: 'boolean' },
    },
    strict: true,
  });
  const t0 = performance.now();
  const nabDir = resolve(values.nab ?? join(ROOT, '..', 'shared', 'data', 'nab'));
  const tracesDir = resolve(values.traces ?? join(ROOT, 'traces'));
  const outDir = resolve(values.out ?? join(ROOT, 'results'));
  mkdirSync(outDir, { recursive: true });
  if (values['record-scenarios'] !== undefined) {
    const args = ['--import', 'tsx', join(ROOT, 'scripts', 'scenarios', 'run.ts'), '--scenarios', values['record-scenarios'], '--out', tracesDir, '--repeat', values['scenario-repeat'] ?? '2'];
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`recording the scenarios failed (exit ${r.status ?? r.signal}): scripts/scenarios/run.ts ${args.slice(3).join(' ')}`);
  }
  const xenDir = resolve(values['xen-lane'] ?? join(ROOT, 'results', 'xen-lane'));
  if (values['record-xen']) {
    for (const lane of ['agent', 'response']) {
      const r = spawnSync('bash', [join(ROOT, 'scripts', 'test-xen.sh'), '--record', lane], { cwd: ROOT, stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`the ${lane} experiment on the nested Xen lane failed (exit ${r.status ?? r.signal}): scripts/test-xen.sh --record ${lane}`);
    }
  }

  const wanted = (values.detectors ?? 'hmm,threshold,threshold-binary,ewma').split(',').map((s) => s.trim()).filter(Boolean);
  const factories = new Map<string, DetectorFactory>();
  const skipped: string[] = [];
  for (const n of wanted) {
    try {
      for (const [k, f] of await detectorFactories([n])) factories.set(k, f);
    } catch (e) {
      skipped.push(`${n}: ${(e as Error).message}`);
    }
  }
  const opts = { refractoryMs: DEFAULT_REFRACTORY_MS, minWarningMs: 0 };

  const md: string[] = [
    '# Hefery evaluation results',
    '',
    `Generated by \`node --import tsx scripts/results.ts\` on ${new Date().toISOString().slice(0, 10)}. Definitions of every figure: [docs/evaluation.md](../docs/evaluation.md).`,
    `Minimal warning time 0. Thresholds swept from 0 to 1 in steps of 0.01. On the recorded failure scenarios the first tables are **held out** (docs/evaluation.md, "Held-out protocol"): no detector is scored on a trace whose labels it saw, and the alarm threshold is chosen on the other traces. Elsewhere "best" is the threshold with the highest F1 on the same data (an optimistic, in-sample choice, as NAB's own threshold optimization is).`,
    '',
  ];
  if (skipped.length) md.push(`Detectors not evaluated: ${skipped.map((s) => `\`${s}\``).join('; ')}`, '');
  const nabMd: string[] = [];

  // NAB
  if (existsSync(nabDir)) {
    const corpus = readNabCorpus(nabDir);
    const reports = [...factories].map(([name, f]) => evaluateNab(name, f, corpus, { ...opts, thresholds: SWEEP }));
    const nWindows = corpus.reduce((a, f) => a + f.windows.length, 0);
    nabMd.push(
      '## NAB realAWSCloudwatch (shared/data/nab)',
      '',
      `${corpus.length} series (${corpus.map((f) => f.series.file.replace('.csv', '')).join(', ')}), ${nWindows} labelled anomaly windows, 5-minute samples.`,
      "Each detector is fitted on the first 15% of each file (NAB's probationary period) and scores the whole file causally; only the rest is counted.",
      "For the prediction metrics, a window's failure time is its centre (NAB centres windows on the labelled anomaly): an alarm in the first half of the window is a prediction, one in the second half is late.",
      '',
      mdTable(BEST_HEADER, reports.map(bestRow)),
      '',
      `NAB score: our re-implementation of NAB's standard profile (A_TP=1, A_FP=0.11, A_FN=1), threshold optimized over the corpus, normalized so that the null detector scores 0 and the perfect detector 100. It is a sanity check, not an official NAB result (see docs/evaluation.md).`,
      '',
      mdTable(['detector', 'NAB threshold', 'raw score', 'null', 'perfect', ...corpus.map((f) => f.series.file.replace('ec2_', '').replace('.csv', ''))], reports.map((r) => [
        r.detector, r.nab.threshold.toFixed(4), r.nab.raw.toFixed(2), r.nab.nullRaw.toFixed(0), r.nab.perfect.toFixed(0), ...r.nab.files.map((f) => `${f.score.toFixed(2)} (${f.tp}/${f.fp}/${f.fn})`),
      ])),
      '',
      'Per-file cells: raw NAB score at the corpus threshold (windows detected / detected points outside windows / windows missed).',
      '',
    );
    for (const r of reports) nabMd.push(`### ${r.detector}: sweep`, '', sweepTable(r), '');
    if (reports.length) {
      writeFileSync(join(outDir, 'pr-nab.svg'), svgDocument([prPanel('Precision-recall on NAB realAWSCloudwatch (fault-window level)', reports)]));
      nabMd.push('![precision-recall on NAB](pr-nab.svg)', '');
      const idx = Math.max(0, corpus.findIndex((f) => f.series.file === 'ec2_cpu_utilization_825cc2.csv'));
      writeFileSync(join(outDir, 'example-nab.svg'), svgDocument(examplePanels(corpus[idx], reports, idx)));
      nabMd.push(`![${corpus[idx].series.file} with each detector's score](example-nab.svg)`, '');
      // Lead time at a common threshold, for comparison.
      nabMd.push('### At a fixed threshold of 0.5', '', mdTable(BEST_HEADER.slice(0, 10), reports.map((r) => {
        const m = evaluateAt(r.scored, 0.5, opts);
        return [r.detector, '0.50', pct(m.precision), pct(m.recall), m.f1.toFixed(3), `${m.tp}/${m.fp}/${m.fn}`, num(m.fpPerHour, 3), duration(m.leadTimeMeanMs), duration(m.leadTimeMedianMs), r.pr.area.toFixed(3)];
      })), '');
    }
  } else nabMd.push(`## NAB`, '', `No NAB data at ${nabDir}.`, '');

  // Recorded failure scenarios (scripts/scenarios/, docs/scenarios.md)
  if (existsSync(tracesDir)) {
    const traces = readTraceDir(tracesDir);
    const tOpts = { ...opts, refractoryMs: SCENARIO_REFRACTORY_MS };
    const reports = [...factories].map(([name, f]) => evaluateTraces(name, f, traces, SWEEP, tOpts));
    md.push(
      '## Recorded failure scenarios (traces/)',
      '',
      `${traces.length} traces, ${traces.reduce((a, t) => a + t.windows.length, 0)} fault windows, ${kindsIn(traces).length} fault kinds (the library: below). Alarm refractory period here: ${duration(SCENARIO_REFRACTORY_MS)} (the traces last minutes, at one sample per second).`,
      '',
    );
    const heldOut = await heldOutReports(traces, wanted, tOpts);
    if (heldOut.size) {
      md.push('## Held out: no detector sees the labels of the traces it is scored on', '');
      md.push(...heldOutSection({ traces, reports: heldOut, kinds: kindsIn(traces), opts: tOpts, raise: DEFAULT_POLICY.defaults.raise, table: mdTable }));
      writeFileSync(join(outDir, 'pr-traces-held-out.svg'), svgDocument([prPanel('Precision-recall on recorded traces, leave-one-trace-out scores', (heldOut.get('loo') ?? []).filter((r) => r.detector !== 'hmm-uncalibrated'))]));
      md.push('![precision-recall of the held-out scores](pr-traces-held-out.svg)', '');
    }
    md.push(
      '## In-sample: the earlier evaluation, for comparison',
      '',
      "Each detector fitted on each trace's own training part only (the HMM unsupervised: no incidents), the best threshold chosen on the same traces it is scored on.",
      '',
      mdTable(BEST_HEADER.slice(0, 10), reports.map((r) => bestRow(r).slice(0, 10))),
      '',
    );
    if (reports.length) {
      writeFileSync(join(outDir, 'pr-traces.svg'), svgDocument([prPanel('Precision-recall on recorded traces (in-sample)', reports)]));
      md.push('![precision-recall on recorded traces](pr-traces.svg)', '');
    }
    const loo = heldOut.get('loo');
    md.push(...scenarioSection({
      traces, reports, opts: tOpts, outDir, colors: COLORS, table: mdTable,
      ...(loo ? { plots: heldOutPlots(loo), plotCaption: "each detector's held-out (leave-one-trace-out) score with its fold's threshold" } : {}),
    }));
    for (const r of reports) md.push(`### ${r.detector}: sweep (in-sample)`, '', sweepTable(r), '');
  } else md.push('## Recorded fault-injection traces', '', 'None yet: `traces/` does not exist (the scenario recorder writes it).', '');
  md.push(...nabMd);
  for (const [file, experiment] of [['agent.json', AGENT_EXPERIMENT], ['response.json', SCRIPTED_EXPERIMENT]] as const) {
    const path = join(xenDir, file);
    if (existsSync(path)) {
      const report = parseResponseReport(JSON.parse(readFileSync(path, 'utf8')), path);
      md.push(...responseSection(report, experiment, { outDir, table: mdTable, source: `[${relative(outDir, path)}](${relative(outDir, path)})` }));
    } else md.push(`## ${experiment.heading}`, '', `Not recorded yet: no ${relative(ROOT, path)} (\`node --import tsx scripts/results.ts --record-xen\` runs the nested Xen lane's experiments first).`, '');
  }

  md.push(`_Run time ${((performance.now() - t0) / 1000).toFixed(1)} s._`, '');
  writeFileSync(join(outDir, 'README.md'), md.join('\n'));
  process.stdout.write(`wrote ${join(outDir, 'README.md')} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`results: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
