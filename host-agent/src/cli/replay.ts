// `hefery-agent replay`: runs a recorded trace through the agent's pipeline
// offline: rows -> samples -> risk predictor -> policy controller (dry run,
// every apply succeeds) and prints the risk and the checkpoint interval per
// step, with every decision the policy would have made.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Trace } from '../evaluation/types';
import { parseCsvTrace, parseTraceWindows, readJsonlTraceFile } from '../evaluation/traces';
import { rowToSample, windowIncidents } from '../evaluation/hmmDetector';
import { formatNabTimestamp } from '../evaluation/nab';
import type { HmmModel } from '../hmm/model';
import { defaultMaxGap } from '../hmm/sequences';
import { trainModel } from '../hmm/train';
import { HmmPredictor, PREDICTOR_DEFAULTS } from '../predictor/hmmPredictor';
import { readModelFile } from '../predictor/modelFiles';
import { Controller, DEFAULT_POLICY, parsePolicyConfig, type Intent } from '../policy';
import { EXIT, parseCommandLine, UsageError } from './common';
import { parseMethod, positiveInt } from './score';
import { TRAINING_FLAGS, trainingOptionsFrom } from './train';

export const usage = `usage: hefery-agent replay --trace FILE (--model MODEL.json | --train-fraction F) [options]

Replays a labelled trace (.jsonl, .jsonl.gz, or .csv with a windows file;
formats in docs/evaluation.md) through the risk predictor and the policy
controller (a dry run: nothing is replicated) and prints, per step, the risk,
the most likely state and the checkpoint interval, plus each decision.

  --trace FILE         the trace
  --windows FILE       windows of a CSV trace (default: windows.json beside it)
  --model FILE         a trained model; without it, a model is trained on the
                       trace's first part (its trainUntil, or --train-fraction,
                       default 0.5) with the fault windows in that part as incidents
  --train-fraction F   the part to train on (0 < F < 1)
  --method M           forward (default) or viterbi
  --horizon K          k of the k-step risk shown beside the next-step risk (default ${PREDICTOR_DEFAULTS.horizonSteps})
  --window W           Viterbi window (default ${PREDICTOR_DEFAULTS.windowLength})
  --policy FILE        a policy section (JSON, docs/policy.md); default: the agent's default policy
  --every N            print every Nth step (decisions are always printed; default 1)
  training options as for hefery-agent train: --restarts --max-iterations --discretization --levels --quantiles --load-levels --seed`;

const out = (s: string) => void process.stdout.write(s + '\n');

function readTrace(path: string, windowsPath: string | undefined): Trace {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const name = basename(path);
  if (name.endsWith('.jsonl') || name.endsWith('.jsonl.gz')) return readJsonlTraceFile(path, name);
  if (name.endsWith('.csv')) {
    const wp = windowsPath ?? join(dirname(path), 'windows.json');
    const windows = existsSync(wp) ? (parseTraceWindows(readFileSync(wp, 'utf8'), wp).get(name) ?? []) : [];
    return parseCsvTrace(readFileSync(path, 'utf8'), name, windows);
  }
  throw new Error(`${path}: expected a .jsonl, .jsonl.gz or .csv trace`);
}

const fmtTime = (ts: number) => formatNabTimestamp(ts);

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    trace: { type: 'string' },
    windows: { type: 'string' },
    model: { type: 'string' },
    'train-fraction': { type: 'string' },
    method: { type: 'string' },
    horizon: { type: 'string' },
    window: { type: 'string' },
    policy: { type: 'string' },
    every: { type: 'string' },
    ...TRAINING_FLAGS,
  });
  if (values.trace === undefined) throw new UsageError('--trace FILE is required');
  if (values.model !== undefined && values['train-fraction'] !== undefined) throw new UsageError('give --model or --train-fraction, not both');
  const method = parseMethod(values.method);
  const horizon = positiveInt(values.horizon, '--horizon', PREDICTOR_DEFAULTS.horizonSteps);
  const windowLength = positiveInt(values.window, '--window', PREDICTOR_DEFAULTS.windowLength);
  const every = positiveInt(values.every, '--every', 1);
  const trace = readTrace(values.trace, values.windows);
  const domain = trace.meta?.domain && /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/.test(trace.meta.domain) ? trace.meta.domain : 'trace';
  const samples = trace.rows.map((r) => rowToSample(r, domain));

  let model: HmmModel;
  if (values.model !== undefined) {
    model = readModelFile(values.model);
    out(`model ${model.version} from ${values.model}`);
  } else {
    let cut = trace.trainUntil;
    if (values['train-fraction'] !== undefined || cut === undefined) {
      const f = Number(values['train-fraction'] ?? '0.5');
      if (!(f > 0 && f < 1)) throw new UsageError(`--train-fraction: expected a number in (0, 1), got "${values['train-fraction']}"`);
      cut = Math.floor(f * samples.length);
    }
    if (cut < 2) throw new Error(`${trace.name}: the training part has ${cut} rows; give --model or a larger --train-fraction`);
    const cutTs = samples[cut - 1].ts;
    const incidents = windowIncidents(trace.windows.filter((w) => w.end <= cutTs));
    model = trainModel([{ domain, samples: samples.slice(0, cut), incidents }], trainingOptionsFrom(values)).model;
    out(`trained on the first ${cut} of ${samples.length} rows (${incidents.length} incident(s) from the fault windows): ${model.states.map((s) => s.label).join(', ')}`);
  }

  const predictor = new HmmPredictor(model, { method, horizonSteps: horizon, windowLength });
  let policy = DEFAULT_POLICY;
  if (values.policy !== undefined) {
    try {
      policy = parsePolicyConfig(JSON.parse(readFileSync(values.policy, 'utf8')));
    } catch (e) {
      throw new Error(`policy ${values.policy}: ${(e as Error).message}`);
    }
  }
  let now = samples[0].ts;
  const ctl = new Controller(policy, { now: () => now });
  const maxGap = defaultMaxGap(samples);
  const intervals = new Map<number, number>();
  let interval: number | null = null;
  let decisions = 0;
  let unsure = 0;
  const settle = (intents: Intent[]) => {
    // a dry run: every apply succeeds; the controller may answer with more intents
    for (let queue = intents; queue.length; ) {
      const next: Intent[] = [];
      for (const i of queue) {
        decisions++;
        out(`  decision ${fmtTime(now)} ${i.kind}: ${i.previousMs ?? '-'} -> ${i.intervalMs} ms (risk ${i.risk === null ? '-' : i.risk.toFixed(3)}): ${i.reason}`);
        interval = i.intervalMs;
        if (i.apply) next.push(...ctl.applied(i.domain, true));
      }
      queue = next;
    }
  };
  out(`${'time'.padEnd(19)}  ${'risk'.padStart(6)}  ${`risk+${horizon}`.padStart(7)}  ${'state'.padEnd(16)}  interval  fault`);
  samples.forEach((s, i) => {
    if (i > 0 && s.ts - samples[i - 1].ts > maxGap) predictor.reset();
    if (i > 0) intervals.set(interval ?? -1, (intervals.get(interval ?? -1) ?? 0) + (s.ts - now));
    now = s.ts;
    const risk = predictor.observe(s);
    if (risk === null) unsure++;
    settle(ctl.observe({ domain, ts: s.ts, state: s.state }, risk?.next ?? null));
    settle(ctl.tick());
    if (i % every === 0 || i === samples.length - 1) {
      const inWindow = trace.windows.find((w) => s.ts >= w.start && s.ts <= w.end);
      const fault = inWindow ? (inWindow.failure !== undefined && s.ts >= inWindow.failure ? 'FAILURE' : 'window') : '';
      out(`${fmtTime(s.ts)}  ${risk ? risk.next.toFixed(4) : '     -'}  ${risk?.horizon !== undefined ? risk.horizon.toFixed(4).padStart(7) : '      -'}  ${(risk?.state ?? '-').padEnd(16)}  ${String(interval ?? '-').padStart(8)}  ${fault}`);
    }
  });
  const total = [...intervals.values()].reduce((a, b) => a + b, 0) || 1;
  out('');
  out(`${samples.length} steps, ${unsure} without a risk, ${decisions} decision(s); time at each interval: ${[...intervals].sort((a, b) => a[0] - b[0]).map(([ms, t]) => `${ms < 0 ? 'none' : `${ms} ms`} ${((100 * t) / total).toFixed(1)}%`).join(', ')}`);
  return EXIT.ok;
}
