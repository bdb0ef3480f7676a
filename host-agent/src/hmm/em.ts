// Baum-Welch for the agent's models. Pure maths, no I/O.
//
// core.ts's baumWelch is the textbook algorithm (one symbol per step), kept
// as the reference checked against pomegranate. This one generalises it in
// the two ways training from real history needs, and reduces to it exactly
// when neither is used (a test checks iteration by iteration):
//
// 1. Partially observed steps. An observation is a *code* (discretize.ts):
//    a set of symbols consistent with the metrics that were known. Its
//    emission from state i is E[i][c] = sum of b[i][k] over the set; the
//    E-step gives the expected count of each symbol k in the set as
//    gamma_t(i) * b[i][k] / E[i][c]. Missing values are marginalised, never
//    guessed.
// 2. Constrained (semi-supervised) steps. `allowed[t]` is a bit mask of the
//    states the chain may be in at t (known failure windows: only the
//    abnormal or failed states). It multiplies the emission by the mask's
//    indicator, so forward-backward gives the posterior of the chain
//    conditioned on the constraints; the M-step is unchanged. With masks it
//    is still EM (of the constrained model), so the likelihood still never
//    decreases.
//
// Pseudocounts are a Dirichlet prior shaped like a reference model (the
// structured initial model): row r of a parameter gets strength * ref[r][k]
// added to its expected counts. A state the data never visits therefore
// keeps its reference row instead of collapsing to uniform, and nothing
// observed-but-rare is trapped at zero. strength 0 = plain maximum
// likelihood (then rows without mass keep their previous values).
//
// Memory: alpha (T x N) is stored; beta is kept for two steps only, and the
// transition and emission counts are accumulated during the backward pass.

import type { Hmm } from './core';

/** Which observation codes stand for which symbols (discretize.ts's Alphabet satisfies it). */
export interface CodeSets {
  readonly symbols: number;
  readonly codes: number;
  /** The symbols of code c are list[start[c] .. start[c+1]). */
  readonly start: Int32Array;
  readonly list: Int32Array;
  emissionByCode(n: number, b: ArrayLike<number>, out?: Float64Array): Float64Array;
}

export interface CodedSequence {
  codes: Int32Array;
  /** Bit mask of allowed states per step (bit i = state i); absent = every state allowed. */
  allowed?: Int32Array;
}

export interface FitOptions {
  maxIterations?: number;
  /** Stop when the log-likelihood improves by less than this (absolute). */
  tolerance?: number;
  /** Stop when no parameter changes by more than this fraction (the paper: 0.01). See relativeChange(). */
  relativeChange?: number;
  /** Pseudo-observations per row of pi, A and B (Dirichlet strength). 0 = maximum likelihood. */
  pseudocount?: number;
  /** Shape of the prior; default: the initial model. */
  prior?: Hmm;
  onIteration?: (iteration: number, logLikelihood: number) => void;
  /** Checked before each re-estimation; true stops with the parameters so far. */
  shouldStop?: () => boolean;
}

export type StopReason = 'converged' | 'max-iterations' | 'stopped';

export interface FitResult {
  hmm: Hmm;
  iterations: number;
  logLikelihood: number;
  /** Log-likelihood before each re-estimation (index 0 = initial model), then of the result. */
  history: number[];
  stoppedBy: StopReason;
  /** Expected number of steps spent in each state, from the last E-step. */
  occupancy: Float64Array;
}

const ALL = -1;

/** Expected counts of one E-step over all sequences. */
interface Counts {
  pi: Float64Array;
  a: Float64Array;
  /** Posterior mass per (state, code). */
  g: Float64Array;
  ll: number;
}

export class ImpossibleObservation extends Error {}

/**
 * Forward-backward over one coded sequence, adding its expected counts to `acc`.
 * `e` is the N x codes emission table, `alpha`/`scale` scratch of at least T x N / T.
 */
function accumulate(h: Hmm, e: Float64Array, nc: number, seq: CodedSequence, acc: Counts, alpha: Float64Array, scale: Float64Array, bb: Float64Array, beta: Float64Array, betaNext: Float64Array): void {
  const { n, pi, a } = h;
  const { codes, allowed } = seq;
  const accA = acc.a;
  const accG = acc.g;
  const T = codes.length;
  let ll = 0;
  // forward (scaled)
  for (let t = 0; t < T; t++) {
    const c = codes[t];
    const mask = allowed ? allowed[t] : ALL;
    const row = t * n;
    if (t === 0) for (let j = 0; j < n; j++) alpha[j] = pi[j];
    else {
      const prev = row - n;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0, k = j; i < n; i++, k += n) s += alpha[prev + i] * a[k];
        alpha[row + j] = s;
      }
    }
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const p = mask & (1 << j) ? alpha[row + j] * e[j * nc + c] : 0;
      alpha[row + j] = p;
      sum += p;
    }
    if (!(sum > 0)) throw new ImpossibleObservation(`step ${t} (code ${c}) has probability zero under the model${allowed ? ' and its constraints' : ''}`);
    const inv = 1 / sum;
    for (let j = 0; j < n; j++) alpha[row + j] *= inv;
    scale[t] = sum;
    ll += Math.log(sum);
  }
  acc.ll += ll;
  // backward, accumulating gamma and xi on the way
  const last = (T - 1) * n;
  for (let i = 0; i < n; i++) {
    betaNext[i] = 1;
    accG[i * nc + codes[T - 1]] += alpha[last + i];
  }
  for (let t = T - 2; t >= 0; t--) {
    const c1 = codes[t + 1];
    const mask = allowed ? allowed[t + 1] : ALL;
    const inv = 1 / scale[t + 1];
    for (let j = 0; j < n; j++) bb[j] = mask & (1 << j) ? e[j * nc + c1] * betaNext[j] * inv : 0;
    const row = t * n;
    const c = codes[t];
    for (let i = 0; i < n; i++) {
      const ai = alpha[row + i];
      const base = i * n;
      let s = 0;
      if (ai === 0) {
        for (let j = 0; j < n; j++) s += a[base + j] * bb[j];
      } else {
        for (let j = 0; j < n; j++) {
          const v = a[base + j] * bb[j];
          s += v;
          accA[base + j] += ai * v;
        }
      }
      beta[i] = s;
      accG[i * nc + c] += ai * s;
    }
    for (let i = 0; i < n; i++) betaNext[i] = beta[i];
  }
  for (let i = 0; i < n; i++) acc.pi[i] += alpha[i] * betaNext[i];
}

/** Log-likelihood of coded sequences (forward pass only). */
export function codedLogLikelihood(h: Hmm, sets: CodeSets, seqs: readonly CodedSequence[]): number {
  const e = sets.emissionByCode(h.n, h.b);
  const nc = sets.codes;
  const { n, pi, a } = h;
  let ll = 0;
  const cur = new Float64Array(n);
  const next = new Float64Array(n);
  for (const { codes, allowed } of seqs) {
    for (let t = 0; t < codes.length; t++) {
      const mask = allowed ? allowed[t] : ALL;
      if (t === 0) cur.set(pi);
      else {
        next.fill(0);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) next[j] += cur[i] * a[i * n + j];
        cur.set(next);
      }
      let sum = 0;
      for (let j = 0; j < n; j++) {
        cur[j] = mask & (1 << j) ? cur[j] * e[j * nc + codes[t]] : 0;
        sum += cur[j];
      }
      if (!(sum > 0)) throw new ImpossibleObservation(`step ${t} (code ${codes[t]}) has probability zero under the model`);
      for (let j = 0; j < n; j++) cur[j] /= sum;
      ll += Math.log(sum);
    }
  }
  return ll;
}

/**
 * Largest parameter change between two models, relative to the old value for
 * entries of at least 1e-3 and relative to 1e-3 below that: a probability
 * of 1e-6 moving to 2e-6 is not a 100% change of anything that matters.
 */
export function relativeChange(p: Hmm, q: Hmm): number {
  let worst = 0;
  for (const [x, y] of [[p.pi, q.pi], [p.a, q.a], [p.b, q.b]] as const) {
    for (let k = 0; k < x.length; k++) {
      const d = Math.abs(x[k] - y[k]) / Math.max(x[k], 1e-3);
      if (d > worst) worst = d;
    }
  }
  return worst;
}

/** Baum-Welch over coded, optionally constrained sequences. */
export function fitCoded(init: Hmm, sets: CodeSets, sequences: readonly CodedSequence[], opts: FitOptions = {}): FitResult {
  const { n, m } = init;
  if (m !== sets.symbols) throw new Error(`the model has ${m} symbols but the code table ${sets.symbols}`);
  if (n > 31) throw new Error(`at most 31 states (constraint masks are 32-bit), got ${n}`);
  const seqs = sequences.filter((s) => s.codes.length > 0);
  if (seqs.length === 0) throw new Error('training needs at least one non-empty sequence');
  for (const s of seqs) {
    if (s.allowed && s.allowed.length !== s.codes.length) throw new Error('constraint mask length differs from its sequence');
    for (let t = 0; t < s.codes.length; t++) {
      const c = s.codes[t];
      if (!Number.isInteger(c) || c < 0 || c >= sets.codes) throw new Error(`observation code ${c} outside 0..${sets.codes - 1}`);
    }
  }
  const maxIt = opts.maxIterations ?? 100;
  const tol = opts.tolerance ?? 1e-6;
  const rel = opts.relativeChange ?? 0;
  const strength = opts.pseudocount ?? 0;
  const prior = opts.prior ?? init;
  const nc = sets.codes;
  const Tmax = Math.max(...seqs.map((s) => s.codes.length));
  const alpha = new Float64Array(Tmax * n);
  const scale = new Float64Array(Tmax);
  const bb = new Float64Array(n);
  const beta = new Float64Array(n);
  const betaNext = new Float64Array(n);
  const counts: Counts = { pi: new Float64Array(n), a: new Float64Array(n * n), g: new Float64Array(n * nc), ll: 0 };
  let e: Float64Array = new Float64Array(n * nc);
  let h: Hmm = { n, m, pi: init.pi.slice(), a: init.a.slice(), b: init.b.slice() };
  const history: number[] = [];
  let iterations = 0;
  let stoppedBy: StopReason = 'max-iterations';
  const occupancy = new Float64Array(n);
  for (;;) {
    counts.pi.fill(0);
    counts.a.fill(0);
    counts.g.fill(0);
    counts.ll = 0;
    e = sets.emissionByCode(n, h.b, e);
    for (const s of seqs) accumulate(h, e, nc, s, counts, alpha, scale, bb, beta, betaNext);
    history.push(counts.ll);
    opts.onIteration?.(iterations, counts.ll);
    occupancy.fill(0);
    for (let i = 0; i < n; i++) for (let c = 0; c < nc; c++) occupancy[i] += counts.g[i * nc + c];
    if (iterations >= maxIt) break;
    if (opts.shouldStop?.()) {
      stoppedBy = 'stopped';
      break;
    }
    const next = mStep(h, sets, e, counts, prior, strength);
    iterations++;
    const improved = history.length > 1 ? counts.ll - history[history.length - 2] : Infinity;
    const changed = relativeChange(h, next);
    h = next;
    if (improved < tol || (rel > 0 && changed < rel)) {
      stoppedBy = 'converged';
      history.push(codedLogLikelihood(h, sets, seqs));
      break;
    }
  }
  return { hmm: h, iterations, logLikelihood: history[history.length - 1], history, stoppedBy, occupancy };
}

function mStep(h: Hmm, sets: CodeSets, e: Float64Array, c: Counts, prior: Hmm, strength: number): Hmm {
  const { n, m } = h;
  const nc = sets.codes;
  const { start, list } = sets;
  const bN = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let code = 0; code < nc; code++) {
      const g = c.g[i * nc + code];
      if (g === 0) continue;
      const s0 = start[code];
      const s1 = start[code + 1];
      if (s1 - s0 === 1) {
        bN[i * m + list[s0]] += g;
        continue;
      }
      const em = e[i * nc + code];
      if (!(em > 0)) continue;
      const f = g / em;
      for (let p = s0; p < s1; p++) bN[i * m + list[p]] += f * h.b[i * m + list[p]];
    }
  }
  return {
    n,
    m,
    pi: withPrior(c.pi, prior.pi, 1, n, strength, h.pi),
    a: withPrior(c.a, prior.a, n, n, strength, h.a),
    b: withPrior(bN, prior.b, n, m, strength, h.b),
  };
}

/** Rows of (counts + strength * prior row), normalised; a row with no mass keeps `prev`. */
function withPrior(counts: Float64Array, prior: Float64Array, rows: number, cols: number, strength: number, prev: Float64Array): Float64Array {
  const out = new Float64Array(counts.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < cols; k++) {
      const v = counts[r * cols + k] + strength * prior[r * cols + k];
      out[r * cols + k] = v;
      s += v;
    }
    if (s > 0) for (let k = 0; k < cols; k++) out[r * cols + k] /= s;
    else for (let k = 0; k < cols; k++) out[r * cols + k] = prev[r * cols + k];
  }
  return out;
}
