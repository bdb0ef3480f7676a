// `hefery-agent train`: trains a model offline, from the agent's store or
// from CSV files, with progress lines, and writes it as a model file.

import { readFileSync } from 'node:fs';
import { trainModel, type TrainingSeries, type TrainOptions } from '../hmm/train';
import { parseTime } from '../evaluation/traces';
import { serializeModel, writeFileAtomic } from '../predictor/modelFiles';
import { parseSamplesCsv } from '../training/csv';
import { openReadOnly, readIncidents, readSamples } from '../training/history';
import { throttleProgress } from '../training/protocol';
import { EXIT, parseCommandLine, UsageError } from './common';

export const usage = `usage: hefery-agent train (--db FILE --domain D... [--from T] [--to T] | --csv FILE...) --out MODEL.json [options]

Trains a Hefery HMM (docs/hmm.md) and writes it to MODEL.json. Several
--domain or --csv give one pooled model. To install it for a running agent,
copy it to <modelDir>/<domain>/ (or train through the agent: model.train).

  --db FILE            the agent's SQLite store (read-only; incidents in it supervise training)
  --domain D           a domain in the store (repeatable)
  --from T, --to T     time range (ms since the epoch, ISO 8601 or "YYYY-MM-DD HH:MM:SS" UTC; default: everything)
  --csv FILE           a CSV: timestamp plus any of cpu,mem,net,disk (repeatable)
  --out FILE           the model file to write
  --restarts N         random restarts (default 3)
  --max-iterations N   Baum-Welch iterations per restart (default 100)
  --discretization M   quantile (default) or mean (the paper's above/below the mean)
  --levels N           levels per metric: 2 or 3 (default 3)
  --quantiles A,B      quantile cut points (default 0.5,0.95 for 3 levels, 0.5 for 2)
  --load-levels N      load states per health: 1, 2 or 3 (default 3: 9 states)
  --seed N             seed of the restarts (default 1)`;

const out = (s: string) => void process.stdout.write(s + '\n');

function int(v: string | undefined, what: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${what}: expected an integer in ${min}..${max}, got "${v}"`);
  return n;
}

function time(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseTime(v, what);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The training options shared by train and replay's training part. */
export function trainingOptionsFrom(values: Record<string, string | boolean | string[] | undefined>): TrainOptions {
  const method = values.discretization as string | undefined;
  if (method !== undefined && method !== 'quantile' && method !== 'mean') throw new UsageError(`--discretization: expected quantile or mean, got "${method}"`);
  const q = values.quantiles as string | undefined;
  const quantiles = q === undefined ? undefined : q.split(',').map((x) => Number(x.trim()));
  if (quantiles?.some((x) => !Number.isFinite(x))) throw new UsageError(`--quantiles: expected numbers like 0.5,0.95, got "${q}"`);
  return {
    discretization: { method, levels: int(values.levels as string | undefined, '--levels', 2, 3), quantiles },
    loads: int(values['load-levels'] as string | undefined, '--load-levels', 1, 3),
    restarts: int(values.restarts as string | undefined, '--restarts', 1, 100),
    maxIterations: int(values['max-iterations'] as string | undefined, '--max-iterations', 1, 100_000),
    seed: int(values.seed as string | undefined, '--seed', 0, 2 ** 31),
  };
}

export const TRAINING_FLAGS = {
  restarts: { type: 'string' },
  'max-iterations': { type: 'string' },
  discretization: { type: 'string' },
  levels: { type: 'string' },
  quantiles: { type: 'string' },
  'load-levels': { type: 'string' },
  seed: { type: 'string' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    db: { type: 'string' },
    domain: { type: 'string', multiple: true },
    from: { type: 'string' },
    to: { type: 'string' },
    csv: { type: 'string', multiple: true },
    out: { type: 'string' },
    ...TRAINING_FLAGS,
  });
  if ((values.db === undefined) === (values.csv === undefined)) throw new UsageError('give either --db FILE with --domain, or --csv FILE');
  if (values.out === undefined) throw new UsageError('--out MODEL.json is required');
  const opts = trainingOptionsFrom(values);
  let series: TrainingSeries[];
  if (values.db !== undefined) {
    if (!values.domain?.length) throw new UsageError('--db needs at least one --domain');
    const from = time(values.from, '--from') ?? 0;
    const to = time(values.to, '--to') ?? Date.now();
    if (to < from) throw new UsageError(`--to is before --from`);
    const db = openReadOnly(values.db);
    try {
      series = values.domain.map((domain) => ({ domain, samples: readSamples(db, domain, from, to), incidents: readIncidents(db, domain, from, to) }));
    } finally {
      db.close();
    }
    for (const s of series) out(`${s.domain}: ${s.samples.length} samples, ${s.incidents?.length ?? 0} incidents`);
  } else {
    if (values.domain || values.from || values.to) throw new UsageError('--domain, --from and --to go with --db');
    series = (values.csv ?? []).map((file, i) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new Error(`cannot read ${file}: ${(e as Error).message}`);
      }
      const csv = parseSamplesCsv(text, file, 'csv');
      out(`${file}: ${csv.samples.length} rows (${csv.metrics.join(', ')})`);
      return { domain: `csv${i}`, samples: csv.samples };
    });
  }
  const t0 = Date.now();
  const progress = throttleProgress<{ restart: number; restarts: number; iteration: number; logLikelihood: number }>(
    (p) => out(`restart ${p.restart + 1}/${p.restarts}  iteration ${String(p.iteration).padStart(4)}  log-likelihood ${p.logLikelihood.toFixed(3)}`),
    250,
  );
  const { model, restartLogLikelihoods } = trainModel(series, { ...opts, onProgress: (p) => progress.report(p) });
  progress.flush();
  writeFileAtomic(values.out, serializeModel(model));
  const t = model.training;
  out(`restarts' final log-likelihoods: ${restartLogLikelihoods.map((x) => x.toFixed(3)).join(', ')} (best: restart ${t.bestRestart + 1})`);
  out(`states: ${model.states.map((s) => s.label).join(', ')}`);
  out(`discretization (${model.discretization.method}): ${model.discretization.metrics.map((m) => `${m.metric} ${m.thresholds.map((x) => +x.toPrecision(4)).join('/')}`).join(', ')}`);
  out(`wrote ${values.out}: model ${model.version}, ${t.observations} observations in ${t.sequences} sequence(s), log-likelihood ${t.logLikelihood.toFixed(3)}, ${t.iterations} iterations (${t.stoppedBy}), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return EXIT.ok;
}
