// Training a Hefery model from history: samples (of one or several domains,
// pooled) plus known incidents -> a validated HmmModel. Pure: the caller
// reads the store or the CSV files and writes the model file.
//
//   samples --split at gaps--> sequences --discretize--> codes
//   incidents --> per-step masks of allowed states (semi-supervision)
//   structured model --restarts (perturbed)--> Baum-Welch (em.ts) --> best likelihood
//   --> labelStates (structure.ts) --> HmmModel

import type { HealthLabel, Sample } from '../protocol/api';
import { fitCoded, type CodedSequence, type FitResult } from './em';
import { Alphabet, learnDiscretization, type DiscretizationOptions } from './discretize';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, newModelVersion, rows, validateModel, type HmmModel } from './model';
import { splitSequences } from './sequences';
import { blockMask, labelStates, layout, perturb, structuredModel, type Layout } from './structure';

/** A known window of a domain's health: an incident (abnormal/failed) or a period the user vouched for (normal). */
export interface KnownIncident {
  from: number;
  to: number;
  health: HealthLabel;
}

export interface TrainingSeries {
  domain: string;
  /** In time order. */
  samples: readonly Sample[];
  incidents?: readonly KnownIncident[];
}

export interface TrainProgressInfo {
  restart: number;
  restarts: number;
  iteration: number;
  logLikelihood: number;
}

export interface TrainOptions {
  discretization?: DiscretizationOptions;
  /** Load levels per health block (1..3, default 3: 9 states). */
  loads?: number;
  /** Random restarts, the first from the structured model itself (default 3). */
  restarts?: number;
  /** Re-estimations per restart (default 100). */
  maxIterations?: number;
  /** Stop when no parameter changes by more than this fraction (default 0.01, the paper's 1%). */
  relativeChange?: number;
  /** Stop when the log-likelihood per observation improves by less than this (default 1e-5). */
  tolerancePerObservation?: number;
  /** Dirichlet strength of the structured prior, in pseudo-observations per row (default 1). */
  pseudocount?: number;
  /** Seed of the restarts' perturbations (default 1): training is reproducible. */
  seed?: number;
  /** Sequence boundary at longer time steps (default: sequences.ts's defaultMaxGap per series). */
  maxGapMs?: number;
  /** Before an incident, this long is left unconstrained: the precursor the model should learn (default 10 min). */
  leadMs?: number;
  /** After an incident, this long is left unconstrained: the recovery (default 5 min). */
  recoveryMs?: number;
  /** Samples away from every incident, when there are incidents: 'normal' states only (default) or 'free'. */
  outsideIncidents?: 'normal' | 'free';
  onProgress?: (p: TrainProgressInfo) => void;
  /** Polled between iterations; true cancels (TrainingCancelled). */
  shouldStop?: () => boolean;
  /** Creation time of the model (default Date.now()). */
  now?: number;
  version?: string;
}

export class TrainingCancelled extends Error {
  constructor() {
    super('training cancelled');
    this.name = 'TrainingCancelled';
  }
}

export class TrainingDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDataError';
  }
}

export interface TrainResult {
  model: HmmModel;
  /** Final log-likelihood of every restart. */
  restartLogLikelihoods: number[];
}

const DEFAULTS = { loads: 3, restarts: 3, maxIterations: 100, relativeChange: 0.01, tolerancePerObservation: 1e-5, pseudocount: 1, seed: 1, leadMs: 600_000, recoveryMs: 300_000 };

/** Seeded PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Prepared {
  alphabet: Alphabet;
  sequences: CodedSequence[];
  symbolCounts: Float64Array;
  observations: number;
  from: number;
  to: number;
  /** Incidents that constrained at least one step. */
  incidentsUsed: number;
  supervised: Set<HealthLabel>;
}

/** What the restarts share: discretized, coded, constrained sequences. */
function prepare(series: readonly TrainingSeries[], l: Layout, o: TrainOptions): Prepared {
  const split = series.map((s) => ({ s, seqs: splitSequences(s.samples, o.maxGapMs) }));
  const all = split.flatMap((x) => x.seqs.flat());
  if (all.length === 0) throw new TrainingDataError(`no usable samples for ${series.map((s) => s.domain).join(', ') || 'training'} (none running with any metric)`);
  let alphabet: Alphabet;
  try {
    alphabet = new Alphabet(learnDiscretization(all, o.discretization));
  } catch (e) {
    throw new TrainingDataError((e as Error).message);
  }
  const symbolCounts = new Float64Array(alphabet.symbols);
  const sequences: CodedSequence[] = [];
  const supervised = new Set<HealthLabel>();
  let incidentsUsed = 0;
  const anyIncident = series.some((s) => (s.incidents?.length ?? 0) > 0);
  const hasFailed = series.some((s) => s.incidents?.some((i) => i.health === 'failed'));
  const full = (1 << l.n) - 1;
  // Without any failure incident, nothing in the data says what failure looks like: the failed
  // states are kept out of the fit (held at their structured prior, entered with ~1/T probability).
  const free = hasFailed ? full : full & ~blockMask(l, 'failed');
  const outside = anyIncident && (o.outsideIncidents ?? 'normal') === 'normal' ? blockMask(l, 'normal') : free;
  const lead = o.leadMs ?? DEFAULTS.leadMs;
  const recovery = o.recoveryMs ?? DEFAULTS.recoveryMs;
  for (const { s, seqs } of split) {
    const incidents = [...(s.incidents ?? [])].sort((x, y) => x.from - y.from);
    const used = new Set<KnownIncident>();
    for (const seq of seqs) {
      const codes = new Int32Array(seq.length);
      const allowed = new Int32Array(seq.length);
      seq.forEach((sample, t) => {
        const c = alphabet.encode(sample);
        codes[t] = c;
        if (alphabet.isComplete(c)) symbolCounts[alphabet.symbolOf(c)]++;
        let mask = outside;
        let rank = 0; // inside (3) > lead/recovery (1) > outside (0); failed beats abnormal beats normal inside
        for (const inc of incidents) {
          if (inc.from - lead > sample.ts) break;
          if (sample.ts >= inc.from && sample.ts <= inc.to) {
            const r = 3 + (inc.health === 'failed' ? 2 : inc.health === 'abnormal' ? 1 : 0);
            if (r > rank) {
              rank = r;
              mask = blockMask(l, inc.health);
            }
            used.add(inc);
            supervised.add(inc.health);
          } else if (rank < 1 && sample.ts <= inc.to + recovery) {
            rank = 1;
            mask = free;
          }
        }
        allowed[t] = mask;
      });
      sequences.push({ codes, allowed });
    }
    incidentsUsed += used.size;
  }
  return {
    alphabet,
    sequences,
    symbolCounts,
    observations: all.length,
    from: all.reduce((m, x) => Math.min(m, x.ts), Infinity),
    to: all.reduce((m, x) => Math.max(m, x.ts), -Infinity),
    incidentsUsed,
    supervised,
  };
}

/** Trains a model on the series (pooled). Throws TrainingDataError for unusable data, TrainingCancelled when stopped. */
export function trainModel(series: readonly TrainingSeries[], o: TrainOptions = {}): TrainResult {
  const l = layout(o.loads ?? DEFAULTS.loads);
  const restarts = o.restarts ?? DEFAULTS.restarts;
  if (!Number.isInteger(restarts) || restarts < 1) throw new Error(`restarts must be an integer >= 1, got ${restarts}`);
  const maxIterations = o.maxIterations ?? DEFAULTS.maxIterations;
  const p = prepare(series, l, o);
  const prior = structuredModel(l, p.alphabet, p.symbolCounts);
  const random = seededRandom(o.seed ?? DEFAULTS.seed);
  const pseudocount = o.pseudocount ?? DEFAULTS.pseudocount;
  let best: FitResult | null = null;
  let bestRestart = 0;
  const lls: number[] = [];
  for (let r = 0; r < restarts; r++) {
    const init = r === 0 ? prior : perturb(prior, 1, random);
    const res = fitCoded(init, p.alphabet, p.sequences, {
      maxIterations,
      relativeChange: o.relativeChange ?? DEFAULTS.relativeChange,
      tolerance: (o.tolerancePerObservation ?? DEFAULTS.tolerancePerObservation) * p.observations,
      pseudocount,
      prior,
      onIteration: (iteration, logLikelihood) => o.onProgress?.({ restart: r, restarts, iteration, logLikelihood }),
      shouldStop: o.shouldStop,
    });
    if (res.stoppedBy === 'stopped') throw new TrainingCancelled();
    lls.push(res.logLikelihood);
    if (!best || res.logLikelihood > best.logLikelihood) {
      best = res;
      bestRestart = r;
    }
  }
  const fit = best as FitResult;
  const h = fit.hmm;
  const model = validateModel({
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    version: o.version ?? newModelVersion(o.now ?? Date.now()),
    createdAt: Math.round(o.now ?? Date.now()),
    domains: [...new Set(series.map((s) => s.domain))],
    discretization: p.alphabet.disc,
    states: labelStates(l, h, p.alphabet, { supervised: p.supervised }),
    pi: Array.from(h.pi),
    transition: rows(h.a, h.n, h.n),
    emission: rows(h.b, h.n, h.m),
    training: {
      from: Math.max(0, Math.round(p.from)),
      to: Math.max(0, Math.round(p.to)),
      observations: p.observations,
      sequences: p.sequences.length,
      logLikelihood: fit.logLikelihood,
      iterations: fit.iterations,
      restarts,
      bestRestart,
      stoppedBy: fit.stoppedBy,
      incidents: p.incidentsUsed,
      supervised: [...p.supervised],
      options: {
        method: p.alphabet.disc.method,
        loads: l.loads,
        maxIterations,
        relativeChange: o.relativeChange ?? DEFAULTS.relativeChange,
        tolerancePerObservation: o.tolerancePerObservation ?? DEFAULTS.tolerancePerObservation,
        pseudocount,
        seed: o.seed ?? DEFAULTS.seed,
        leadMs: o.leadMs ?? DEFAULTS.leadMs,
        recoveryMs: o.recoveryMs ?? DEFAULTS.recoveryMs,
        outsideIncidents: o.outsideIncidents ?? 'normal',
      },
    },
  }, 'being trained');
  return { model, restartLogLikelihoods: lls };
}
