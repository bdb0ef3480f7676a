// `hefery-agent score`: runs a model over a CSV file, one risk per row.

import { readFileSync } from 'node:fs';
import { HmmPredictor, PREDICTOR_DEFAULTS, type PredictionMethod } from '../predictor/hmmPredictor';
import { readModelFile, writeFileAtomic } from '../predictor/modelFiles';
import { parseSamplesCsv } from '../training/csv';
import { EXIT, parseCommandLine, UsageError } from './common';

export const usage = `usage: hefery-agent score --model MODEL.json --input FILE.csv [--method forward|viterbi] [--horizon K] [--window W] [--out FILE]

Feeds the rows of FILE.csv (timestamp plus any of cpu,mem,net,disk), in
order, to the model's predictor and writes one row per input row:
  timestamp,risk,state
risk = P(abnormal or failed K steps after the row | rows up to it), K = 1
unless --horizon; state = the most likely hidden state. Both are empty when
the predictor cannot tell (no metric of the model in the row).

  --method M     forward (the online filter, default) or viterbi (the paper's
                 Algorithm 1 over a window of the last W rows)
  --horizon K    risk K steps ahead (default 1)
  --window W     Viterbi window (default ${PREDICTOR_DEFAULTS.windowLength})
  --out FILE     write there instead of stdout`;

export function parseMethod(v: string | undefined): PredictionMethod {
  if (v === undefined || v === 'forward') return 'forward';
  if (v === 'viterbi' || v === 'viterbi-window') return 'viterbi-window';
  throw new UsageError(`--method: expected forward or viterbi, got "${v}"`);
}

export function positiveInt(v: string | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what}: expected an integer >= 1, got "${v}"`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    model: { type: 'string' },
    input: { type: 'string' },
    method: { type: 'string' },
    horizon: { type: 'string' },
    window: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.model === undefined || values.input === undefined) throw new UsageError('--model and --input are required');
  const method = parseMethod(values.method);
  const horizon = positiveInt(values.horizon, '--horizon', 1);
  const windowLength = positiveInt(values.window, '--window', PREDICTOR_DEFAULTS.windowLength);
  const model = readModelFile(values.model);
  let text: string;
  try {
    text = readFileSync(values.input, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${values.input}: ${(e as Error).message}`);
  }
  const csv = parseSamplesCsv(text, values.input);
  const p = new HmmPredictor(model, { method, horizonSteps: horizon, windowLength });
  const lines = ['timestamp,risk,state'];
  csv.samples.forEach((s, i) => {
    const r = p.observe(s);
    const risk = r === null ? '' : String(horizon === 1 ? r.next : (r.horizon as number));
    lines.push(`${csv.timestamps[i]},${risk},${r?.state ?? ''}`);
  });
  const body = lines.join('\n') + '\n';
  if (values.out !== undefined) {
    writeFileAtomic(values.out, body);
    process.stderr.write(`wrote ${csv.samples.length} risk values to ${values.out}\n`);
  } else process.stdout.write(body);
  return EXIT.ok;
}
