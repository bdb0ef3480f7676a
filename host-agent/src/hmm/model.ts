// A trained model as a versioned JSON document, and its validation. Pure
// (reading and writing files is predictor/modelFiles.ts's job).
//
// Loading never trusts the file: a truncated or corrupt file, another format
// or format version, a discretization that does not match the emission
// matrix, a non-stochastic row: each is a ModelError naming the file and
// what is wrong, never a crash and never a half-usable model.

import { HealthLabel, type ModelSummary } from '../protocol/api';
import { arr, num, obj, oneOf, opt, record, SchemaError, str, union, type Infer } from '../protocol/schema';
import type { Hmm } from './core';
import { MODEL_METRICS } from './discretize';
import { preview } from '../preview';

export const MODEL_FORMAT = 'hefery-hmm';
export const MODEL_FORMAT_VERSION = 1;
/** Constraint masks are 32-bit (em.ts). */
export const MAX_STATES = 31;
/** Tolerance on a row sum. */
const ROW_TOLERANCE = 1e-6;

export const MODEL_VERSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const count = () => num({ min: 0, int: true });
const time = () => num({ min: 0, int: true });

const ModelSchema = obj({
  format: str(),
  formatVersion: num(),
  version: str({ pattern: MODEL_VERSION }),
  createdAt: time(),
  domains: arr(str({ min: 1, max: 64 }), { max: 1000 }),
  discretization: obj({
    method: oneOf(['mean', 'quantile'] as const),
    metrics: arr(obj({ metric: oneOf(MODEL_METRICS), thresholds: arr(num(), { min: 1, max: 2 }) }), { min: 1, max: 4 }),
  }),
  states: arr(obj({ label: str({ min: 1, max: 64 }), health: HealthLabel }), { min: 1, max: MAX_STATES }),
  pi: arr(num()),
  transition: arr(arr(num())),
  emission: arr(arr(num())),
  training: obj({
    from: time(),
    to: time(),
    observations: count(),
    sequences: count(),
    logLikelihood: num(),
    iterations: count(),
    restarts: num({ min: 1, int: true }),
    bestRestart: count(),
    stoppedBy: oneOf(['converged', 'max-iterations', 'stopped'] as const),
    incidents: count(),
    supervised: arr(HealthLabel, { max: 3 }),
    /** The training options in effect (informational). */
    options: opt(record(union<string | number>([num(), str({ max: 200 })], 'number or string'), { maxKeys: 50 })),
  }),
  /** Platt scaling of the risk (hmm/calibration.ts), fitted on the training incidents; absent: the raw posterior. */
  calibration: opt(obj({ method: oneOf(['platt'] as const), a: num({ min: 0 }), b: num(), samples: count(), positives: count() })),
});

export type HmmModel = Infer<typeof ModelSchema> & { format: typeof MODEL_FORMAT; formatVersion: typeof MODEL_FORMAT_VERSION };
export type TrainingInfo = HmmModel['training'];

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/** Parses and validates a model file's text. `source` names it in errors. */
export function parseModel(text: string, source: string): HmmModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelError(`model ${source}: not valid JSON (truncated or corrupt file?): ${(e as Error).message}`);
  }
  return validateModel(json, source);
}

/** Validates a parsed model document. */
export function validateModel(v: unknown, source: string): HmmModel {
  const fail = (msg: string): never => {
    throw new ModelError(`model ${source}: ${msg}`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('not a JSON object');
  const rec = v as Record<string, unknown>;
  if (rec.format !== MODEL_FORMAT) fail(`not a Hefery HMM model (format ${preview(rec.format)}, expected "${MODEL_FORMAT}")`);
  if (rec.formatVersion !== MODEL_FORMAT_VERSION) fail(`format version ${preview(rec.formatVersion)} is not supported (this agent reads version ${MODEL_FORMAT_VERSION})`);
  let m: Infer<typeof ModelSchema>;
  try {
    m = ModelSchema.parse(v, '');
  } catch (e) {
    if (e instanceof SchemaError) return fail(e.message);
    throw e;
  }
  const seen = new Set<string>();
  let symbols = 1;
  for (const { metric, thresholds } of m.discretization.metrics) {
    if (seen.has(metric)) fail(`discretization lists metric "${metric}" twice`);
    seen.add(metric);
    for (let i = 1; i < thresholds.length; i++) if (thresholds[i] < thresholds[i - 1]) fail(`discretization thresholds of "${metric}" are not ascending: ${thresholds.join(', ')}`);
    symbols *= thresholds.length + 1;
  }
  const n = m.states.length;
  if (m.pi.length !== n) fail(`pi has ${m.pi.length} entries for ${n} states`);
  if (m.transition.length !== n || m.transition.some((r) => r.length !== n)) fail(`transition must be ${n}x${n} for ${n} states`);
  if (m.emission.length !== n) fail(`emission has ${m.emission.length} rows for ${n} states`);
  m.emission.forEach((r, i) => {
    if (r.length !== symbols) fail(`emission row ${i} has ${r.length} columns, but the discretization (${m.discretization.metrics.map((x) => `${x.metric}: ${x.thresholds.length + 1} levels`).join(', ')}) gives ${symbols} symbols`);
  });
  checkStochastic(m.pi, 'pi', fail);
  m.transition.forEach((r, i) => checkStochastic(r, `transition row ${i}`, fail));
  m.emission.forEach((r, i) => checkStochastic(r, `emission row ${i}`, fail));
  if (m.training.to < m.training.from) fail(`training range ends (${m.training.to}) before it starts (${m.training.from})`);
  return m as HmmModel;
}

function checkStochastic(row: number[], what: string, fail: (msg: string) => never): void {
  let s = 0;
  row.forEach((x, k) => {
    if (!(x >= 0 && x <= 1)) fail(`${what}[${k}] = ${x} is not a probability`);
    s += x;
  });
  if (Math.abs(s - 1) > ROW_TOLERANCE) fail(`${what} sums to ${s}, not 1 (not stochastic)`);
}

/** The model's parameters as flat arrays for the maths. */
export function toHmm(m: HmmModel): Hmm {
  const n = m.states.length;
  const sym = m.emission[0].length;
  return { n, m: sym, pi: Float64Array.from(m.pi), a: Float64Array.from(m.transition.flat()), b: Float64Array.from(m.emission.flat()) };
}

export function rows(x: Float64Array, r: number, c: number): number[][] {
  return Array.from({ length: r }, (_, i) => Array.from(x.subarray(i * c, (i + 1) * c)));
}

/** Which states count for risk: abnormal and failed. */
export function riskyStates(m: HmmModel): boolean[] {
  return m.states.map((s) => s.health !== 'normal');
}

/** The API's view of a model. */
export function modelSummary(m: HmmModel, domain: string): ModelSummary {
  return {
    domain,
    version: m.version,
    createdAt: m.createdAt,
    trainedFrom: m.training.from,
    trainedTo: m.training.to,
    observations: m.training.observations,
    logLikelihood: m.training.logLikelihood,
    iterations: m.training.iterations,
    states: m.states.map((s) => ({ label: s.label, health: s.health })),
    symbols: m.emission[0].length,
    transition: m.transition,
    emission: m.emission,
  };
}

/** A new model version id: UTC time plus random hex, e.g. 20260102T030405Z-1a2b3c. */
export function newModelVersion(now: number, random: () => number = Math.random): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const hex = Math.floor(random() * 0x1000000).toString(16).padStart(6, '0');
  return `${t}-${hex}`;
}
