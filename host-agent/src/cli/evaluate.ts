// `hefery-agent evaluate`: scores detectors (the HMM and the baselines) on
// labelled traces or on a NAB corpus; see docs/evaluation.md.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_REFRACTORY_MS, parseThresholds, type MetricOptions } from '../evaluation/metrics';
import { readNabCorpus, REWARD_LOW_FN, REWARD_LOW_FP, STANDARD_PROFILE, type CostMatrix } from '../evaluation/nab';
import { crossValidationJson, crossValidationText, detectorText, reportJson } from '../evaluation/report';
import { crossValidatedDetectors, detectorFactories, evaluateNab, evaluateTraces, type DetectorFactory, type DetectorReport } from '../evaluation/run';
import { crossValidate, PROTOCOLS, type CrossValidationOptions, type CrossValidationReport, type CrossValidatedDetector, type Protocol } from '../evaluation/crossval';
import { readTraceDir } from '../evaluation/traces';
import { EXIT, parseCommandLine, parseDuration, UsageError } from './common';

export const summary = 'score detectors (hmm, baselines) on labelled traces or NAB data';

export const usage = `usage: hefery-agent evaluate (--traces DIR | --nab DIR) [options]

Fits each detector on the training part of every trace, scores the whole
trace causally, and reports precision, recall, F1, false alarms and lead time
per alarm threshold (definitions: docs/evaluation.md).

  --traces DIR          labelled traces: *.jsonl, or *.csv with a windows file
  --nab DIR             a NAB data directory (timestamp,value CSVs + windows.json);
                        also computes the NAB standard-profile score
  --windows FILE        the windows file (default: DIR/windows.json)
  --protocol P          with --traces: the held-out protocol, loo (leave one
                        trace out) or kind (leave one fault kind out), or both
                        (loo,kind): no detector sees the labels of a trace it
                        scores, thresholds are chosen on the other traces
                        (docs/evaluation.md, "Held-out protocol")
  --detectors LIST      comma-separated, of hmm, threshold, threshold-binary, ewma,
                        and with --protocol hmm-select (the HMM variants, chosen
                        per fold on the training folds)
                        (default: hmm,threshold,ewma; hmm is skipped with a
                        warning when the default is used and no HMM is available)
  --thresholds SPEC     from:to:step or a list (default 0.1:0.9:0.1; 0:1:0.01 with --protocol)
  --refractory DUR      alarms closer than this are one alarm (default 1h)
  --warning DUR         minimal warning time before a failure (default 0s)
  --train-fraction F    training part of traces that do not set one (default 0.15)
  --profile P           NAB profile: standard, reward_low_fp, reward_low_fn (default standard)
  --nab-out DIR         write NAB results files DIR/<detector>/<category>/<detector>_<file>.csv
  --json FILE           write the full report as JSON`;

const PROFILES: Record<string, CostMatrix> = { standard: STANDARD_PROFILE, reward_low_fp: REWARD_LOW_FP, reward_low_fn: REWARD_LOW_FN };

const out = (s: string) => void process.stdout.write(s + '\n');
const err = (s: string) => void process.stderr.write(s + '\n');

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    traces: { type: 'string' },
    nab: { type: 'string' },
    windows: { type: 'string' },
    detectors: { type: 'string' },
    thresholds: { type: 'string' },
    refractory: { type: 'string' },
    warning: { type: 'string' },
    'train-fraction': { type: 'string' },
    profile: { type: 'string' },
    'nab-out': { type: 'string' },
    json: { type: 'string' },
    protocol: { type: 'string' },
  });
  if ((values.traces === undefined) === (values.nab === undefined)) throw new UsageError('give exactly one of --traces DIR and --nab DIR');
  if (values['nab-out'] !== undefined && values.nab === undefined) throw new UsageError('--nab-out needs --nab');
  if (values.protocol !== undefined && values.traces === undefined) throw new UsageError('--protocol needs --traces (NAB keeps its own protocol: fit on the probationary period)');
  const protocols = values.protocol === undefined ? [] : values.protocol.split(',').map((p) => p.trim());
  for (const p of protocols) if (!(PROTOCOLS as readonly string[]).includes(p)) throw new UsageError(`--protocol: expected ${PROTOCOLS.join(', ')} or a comma-separated list of them, got "${values.protocol}"`);

  let thresholds: number[];
  try {
    thresholds = parseThresholds(values.thresholds ?? (protocols.length ? '0:1:0.01' : '0.1:0.9:0.1'));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const metricOpts: MetricOptions = {
    refractoryMs: values.refractory === undefined ? DEFAULT_REFRACTORY_MS : parseDuration(values.refractory, '--refractory'),
    minWarningMs: values.warning === undefined ? 0 : parseDuration(values.warning, '--warning'),
  };
  const trainFraction = values['train-fraction'] === undefined ? 0.15 : Number(values['train-fraction']);
  if (!(trainFraction >= 0 && trainFraction < 1)) throw new UsageError(`--train-fraction: expected a number in [0, 1), got "${values['train-fraction']}"`);
  const profileName = values.profile ?? 'standard';
  const cost = PROFILES[profileName];
  if (!cost) throw new UsageError(`--profile: expected one of ${Object.keys(PROFILES).join(', ')}, got "${profileName}"`);

  const defaulted = values.detectors === undefined;
  const names = (values.detectors ?? 'hmm,threshold,ewma').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--detectors: empty list');
  if (protocols.length) return runProtocols(protocols as Protocol[], names, values.traces as string, values.windows, trainFraction, { ...metricOpts, thresholds }, values.json);
  const factories = await loadDetectors(names, defaulted);

  const reports: DetectorReport[] = [];
  if (values.nab !== undefined) {
    const corpus = readNabCorpus(values.nab, values.windows ?? join(values.nab, 'windows.json'));
    for (const [name, f] of factories) {
      const r = evaluateNab(name, f, corpus, { ...metricOpts, thresholds, cost, outDir: values['nab-out'] });
      reports.push(r);
      out(detectorText(r));
      if (r.written.length) out(`wrote ${r.written.length} NAB results files under ${join(values['nab-out'] ?? '', name)}`);
      out('');
    }
  } else {
    const traces = readTraceDir(values.traces as string, values.windows, trainFraction);
    for (const [name, f] of factories) {
      const r = evaluateTraces(name, f, traces, thresholds, metricOpts);
      reports.push(r);
      out(detectorText(r));
      out('');
    }
  }
  if (values.json !== undefined) {
    const doc = {
      source: values.nab !== undefined ? { nab: values.nab } : { traces: values.traces },
      thresholds,
      refractoryMs: metricOpts.refractoryMs,
      minWarningMs: metricOpts.minWarningMs,
      profile: values.nab !== undefined ? profileName : null,
      detectors: reports.map(reportJson),
    };
    writeFileSync(values.json, JSON.stringify(doc, null, 2) + '\n');
    out(`wrote ${values.json}`);
  }
  return EXIT.ok;
}

/** An unknown detector name is the command line's mistake. */
function asUsageError(e: unknown): never {
  if ((e as Error).message.startsWith('unknown detector')) throw new UsageError(`--detectors: ${(e as Error).message}`);
  throw e;
}

/** Loads each named detector; an unknown name is a usage error, an unavailable default hmm a warning. */
async function loadDetectors(names: readonly string[], defaulted: boolean): Promise<Map<string, DetectorFactory>> {
  const out = new Map<string, DetectorFactory>();
  for (const n of names) {
    try {
      for (const [k, v] of await detectorFactories([n])) out.set(k, v);
    } catch (e) {
      if (defaulted && n === 'hmm') err(`hefery-agent evaluate: skipping hmm: ${(e as Error).message}`);
      else asUsageError(e);
    }
  }
  return out;
}

/** The held-out protocol(s) over a trace directory (crossval.ts). */
async function runProtocols(protocols: Protocol[], names: string[], dir: string, windows: string | undefined, trainFraction: number, o: Omit<CrossValidationOptions, 'protocol'>, json: string | undefined): Promise<number> {
  // All names in one call, so that the HMM variants share their trained fold models. (It trains nothing
  // yet and cannot fail for the hmm alone: its module is loaded whatever the names.)
  const detectors = await crossValidatedDetectors(names).catch(asUsageError);
  const traces = readTraceDir(dir, windows, trainFraction);
  const reports: CrossValidationReport[] = [];
  for (const protocol of protocols) {
    for (const [name, candidates] of detectors) {
      const r = crossValidate(candidates, traces, { ...o, protocol, name });
      reports.push(r);
      out(crossValidationText(r));
      out('');
    }
  }
  if (json !== undefined) {
    writeFileSync(json, JSON.stringify({ source: { traces: dir }, thresholds: o.thresholds, refractoryMs: o.refractoryMs, minWarningMs: o.minWarningMs, protocols, detectors: reports.map(crossValidationJson) }, null, 2) + '\n');
    out(`wrote ${json}`);
  }
  return EXIT.ok;
}
