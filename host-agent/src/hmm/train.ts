// Training a Hefery model from history: samples (of one or several domains,
// pooled) plus known incidents -> a validated HmmModel. Pure: the caller
// reads the store or the CSV files and writes the model file.
//
//   samples --split at gaps--> sequences --discretize--> codes
//   incidents --> per-step masks of allowed states (semi-supervision)
//   structured model --restarts (perturbed)--> Baum-Welch (em.ts) --> best likelihood
//   --> labelStates (structure.ts) --> HmmModel

import type { HealthLabel, Sample } from '../protocol/api';
import { fitPlatt, type PlattCalibration } from './calibration';
import { ForwardFilter, riskAhead, type Hmm } from './core';
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
  /**
   * Before an incident, this long is left to normal or abnormal states: the precursor the model
   * should learn (default 10 min). An incident with a duration (a marked window, whose start
   * says when trouble began) gets at most its own duration.
   */
  leadMs?: number;
  /** Fit the risk's Platt calibration on the training incidents (calibration.ts; default true; needs incidents). */
  calibrate?: boolean;
  /** Discretization thresholds from all samples ('all', default) or from those outside abnormal/failed incidents ('healthy'). */
  thresholdsFrom?: 'healthy' | 'all';
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

/**
 * The semi-supervision: which states the chain may be in at a time, given a
 * series' incidents (sorted by start). docs/hmm.md lists the rules:
 * - inside an incident: its health's block only (failed beats abnormal beats normal);
 * - before an incident, for leadMs (an incident with a duration: at most that
 *   duration): normal or abnormal, the precursor; the VM has not failed yet;
 * - after an incident, for recoveryMs: any state;
 * - elsewhere, when the training data has incidents: the normal block
 *   (outsideIncidents 'normal', which supervises the normal block too), else any;
 * - without any failure incident in the data the failed block is never allowed.
 */
export function incidentMasks(l: Layout, series: readonly TrainingSeries[], o: Pick<TrainOptions, 'leadMs' | 'recoveryMs' | 'outsideIncidents'> = {}): {
  normalOutside: boolean;
  at(ts: number, sorted: readonly KnownIncident[], inside?: (inc: KnownIncident) => void): number;
} {
  const anyIncident = series.some((s) => (s.incidents?.length ?? 0) > 0);
  const hasFailed = series.some((s) => s.incidents?.some((i) => i.health === 'failed'));
  const full = (1 << l.n) - 1;
  const free = hasFailed ? full : full & ~blockMask(l, 'failed');
  const normalOutside = anyIncident && (o.outsideIncidents ?? 'normal') === 'normal';
  const outside = normalOutside ? blockMask(l, 'normal') : free;
  const leading = free & ~blockMask(l, 'failed');
  const lead = o.leadMs ?? DEFAULTS.leadMs;
  const leadOf = (inc: KnownIncident) => (inc.to > inc.from ? Math.min(lead, inc.to - inc.from) : lead);
  const recovery = o.recoveryMs ?? DEFAULTS.recoveryMs;
  return {
    normalOutside,
    at(ts, sorted, inside) {
      let mask = outside;
      let rank = 0; // inside (3..5) > lead/recovery (1) > outside (0)
      for (const inc of sorted) {
        if (inc.from - lead > ts) break;
        if (ts < inc.from - leadOf(inc)) continue;
        if (ts >= inc.from && ts <= inc.to) {
          const r = 3 + (inc.health === 'failed' ? 2 : inc.health === 'abnormal' ? 1 : 0);
          if (r > rank) {
            rank = r;
            mask = blockMask(l, inc.health);
          }
          inside?.(inc);
        } else if (rank < 1 && ts <= inc.to + recovery) {
          rank = 1;
          mask = ts < inc.from ? leading : free;
        }
      }
      return mask;
    },
  };
}

/** What the restarts share: discretized, coded, constrained sequences. */
function prepare(series: readonly TrainingSeries[], l: Layout, o: TrainOptions): Prepared {
  const split = series.map((s) => ({ s, seqs: splitSequences(s.samples, o.maxGapMs) }));
  const all = split.flatMap((x) => x.seqs.flat());
  if (all.length === 0) throw new TrainingDataError(`no usable samples for ${series.map((s) => s.domain).join(', ') || 'training'} (none running with any metric)`);
  // Levels are relative to the domain's own history, all of it by default (incidents included:
  // the held-out evaluation's training folds chose that over the healthy samples only, see
  // docs/hmm.md); 'healthy' learns them outside the abnormal and failed incidents.
  const healthy = (o.thresholdsFrom ?? 'all') === 'all' ? [] : split.flatMap(({ s, seqs }) => {
    const bad = (s.incidents ?? []).filter((i) => i.health !== 'normal');
    return seqs.flat().filter((x) => !bad.some((i) => x.ts >= i.from && x.ts <= i.to));
  });
  let alphabet: Alphabet;
  try {
    alphabet = new Alphabet(learnDiscretization(healthy.length > 0 ? healthy : all, o.discretization));
  } catch (e) {
    throw new TrainingDataError((e as Error).message);
  }
  const symbolCounts = new Float64Array(alphabet.symbols);
  const sequences: CodedSequence[] = [];
  const supervised = new Set<HealthLabel>();
  let incidentsUsed = 0;
  const masks = incidentMasks(l, series, o);
  if (masks.normalOutside) supervised.add('normal');
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
        allowed[t] = masks.at(sample.ts, incidents, (inc) => {
          used.add(inc);
          supervised.add(inc.health);
        });
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

/**
 * Makes the states of `mask` unreachable from the others (start and entry
 * probability 0, rows renormalised). Without any failure incident nothing
 * says what failure looks like: the failed block's structured prior is a
 * guess, and a guess the filter could enter on any unfamiliar pattern and,
 * failed being near-absorbing, hardly leave would hold the risk up for
 * nothing. EM keeps zeros at zero and the prior adds no pseudocounts there,
 * so they stay unreachable; the first failure incident brings them in.
 */
function unreachable(h: Hmm, mask: number): void {
  const { n, pi, a } = h;
  const inside = (i: number) => (mask & (1 << i)) !== 0;
  const renormalise = (x: Float64Array) => {
    let s = 0;
    for (const v of x) s += v;
    for (let k = 0; k < x.length; k++) x[k] /= s;
  };
  for (let j = 0; j < n; j++) if (inside(j)) pi[j] = 0;
  renormalise(pi);
  for (let i = 0; i < n; i++) {
    if (inside(i)) continue;
    const row = a.subarray(i * n, (i + 1) * n);
    for (let j = 0; j < n; j++) if (inside(j)) row[j] = 0;
    renormalise(row);
  }
}

/**
 * Platt calibration of the next-step risk on the training sequences
 * (calibration.ts): the live filter's risk at t against whether step t + 1
 * is known to be in trouble (its mask allows only abnormal/failed states) or
 * known to be fine (normal states only); unconstrained steps (lead and
 * recovery periods) are left out. Null without both kinds of steps.
 */
function calibrationOn(h: Hmm, p: Prepared, l: Layout, risky: boolean[]): PlattCalibration | null {
  const normal = blockMask(l, 'normal');
  let trouble = 0;
  risky.forEach((r, i) => {
    if (r) trouble |= 1 << i;
  });
  const coded: Hmm = { n: h.n, m: p.alphabet.codes, pi: h.pi, a: h.a, b: p.alphabet.emissionByCode(h.n, h.b) };
  const w1 = riskAhead(h, risky, 1);
  const filter = new ForwardFilter(coded, risky);
  const risks: number[] = [];
  const labels: number[] = [];
  for (const { codes, allowed } of p.sequences) {
    if (!allowed) continue;
    filter.reset();
    for (let t = 0; t + 1 < codes.length; t++) {
      filter.step(codes[t]);
      const next = allowed[t + 1];
      const label = next === normal ? 0 : (next & ~trouble) === 0 ? 1 : -1;
      if (label < 0 || codes[t] === p.alphabet.allMissing) continue;
      risks.push(filter.expectation(w1));
      labels.push(label);
    }
  }
  return fitPlatt(risks, labels);
}

/** Trains a model on the series (pooled). Throws TrainingDataError for unusable data, TrainingCancelled when stopped. */
export function trainModel(series: readonly TrainingSeries[], o: TrainOptions = {}): TrainResult {
  const l = layout(o.loads ?? DEFAULTS.loads);
  const restarts = o.restarts ?? DEFAULTS.restarts;
  if (!Number.isInteger(restarts) || restarts < 1) throw new Error(`restarts must be an integer >= 1, got ${restarts}`);
  const maxIterations = o.maxIterations ?? DEFAULTS.maxIterations;
  const p = prepare(series, l, o);
  const prior = structuredModel(l, p.alphabet, p.symbolCounts);
  if (!p.supervised.has('failed')) unreachable(prior, blockMask(l, 'failed'));
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
  const states = labelStates(l, h, p.alphabet, { supervised: p.supervised });
  const calibration = (o.calibrate ?? true) ? calibrationOn(h, p, l, states.map((x) => x.health !== 'normal')) : null;
  const model = validateModel({
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    version: o.version ?? newModelVersion(o.now ?? Date.now()),
    createdAt: Math.round(o.now ?? Date.now()),
    domains: [...new Set(series.map((s) => s.domain))],
    discretization: p.alphabet.disc,
    states,
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
        thresholdsFrom: o.thresholdsFrom ?? 'all',
      },
    },
    ...(calibration ? { calibration } : {}),
  }, 'being trained');
  return { model, restartLogLikelihoods: lls };
}
