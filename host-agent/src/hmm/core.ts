// Discrete hidden Markov model: scaled forward/backward, Baum-Welch over
// several sequences, Viterbi, and an online forward filter. Pure maths, no
// I/O. Matrices are flat row-major Float64Arrays: A[i*N+j] = P(j | i),
// B[i*M+k] = P(symbol k | state i).

export interface Hmm {
  /** Number of hidden states. */
  n: number;
  /** Number of observation symbols. */
  m: number;
  pi: Float64Array;
  a: Float64Array;
  b: Float64Array;
}

export function makeHmm(pi: number[], a: number[][], b: number[][]): Hmm {
  const n = pi.length;
  const m = b[0]?.length ?? 0;
  if (n === 0 || m === 0) throw new Error('an HMM needs at least one state and one symbol');
  if (a.length !== n || a.some((r) => r.length !== n)) throw new Error(`transition matrix must be ${n}x${n}`);
  if (b.length !== n || b.some((r) => r.length !== m)) throw new Error(`emission matrix must be ${n}x${m}`);
  return { n, m, pi: Float64Array.from(pi), a: Float64Array.from(a.flat()), b: Float64Array.from(b.flat()) };
}

function checkSymbols(h: Hmm, obs: ArrayLike<number>): void {
  for (let t = 0; t < obs.length; t++) {
    const o = obs[t];
    if (!Number.isInteger(o) || o < 0 || o >= h.m) throw new Error(`observation ${t}: symbol ${o} outside 0..${h.m - 1}`);
  }
}

export interface ForwardResult {
  /** Scaled forward variables, T x N: alpha_hat[t] sums to 1. */
  alpha: Float64Array;
  /** Scaling factors c[t] = P(o_t | o_<t). */
  scale: Float64Array;
  logLikelihood: number;
}

/** Scaled forward pass; never underflows, however long the sequence. */
export function forward(h: Hmm, obs: ArrayLike<number>): ForwardResult {
  checkSymbols(h, obs);
  const { n, m, pi, a, b } = h;
  const T = obs.length;
  const alpha = new Float64Array(T * n);
  const scale = new Float64Array(T);
  let ll = 0;
  for (let t = 0; t < T; t++) {
    const o = obs[t];
    let sum = 0;
    const row = t * n;
    for (let j = 0; j < n; j++) {
      let p: number;
      if (t === 0) p = pi[j];
      else {
        p = 0;
        const prev = row - n;
        for (let i = 0; i < n; i++) p += alpha[prev + i] * a[i * n + j];
      }
      p *= b[j * m + o];
      alpha[row + j] = p;
      sum += p;
    }
    if (!(sum > 0)) throw new Error(`observation ${t} (symbol ${o}) has probability zero under the model`);
    for (let j = 0; j < n; j++) alpha[row + j] /= sum;
    scale[t] = sum;
    ll += Math.log(sum);
  }
  return { alpha, scale, logLikelihood: ll };
}

/** Scaled backward pass using the forward pass's scaling factors. */
export function backward(h: Hmm, obs: ArrayLike<number>, scale: Float64Array): Float64Array {
  const { n, m, a, b } = h;
  const T = obs.length;
  const beta = new Float64Array(T * n);
  if (T === 0) return beta;
  beta.fill(1, (T - 1) * n, T * n);
  for (let t = T - 2; t >= 0; t--) {
    const o = obs[t + 1];
    const next = (t + 1) * n;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * b[j * m + o] * beta[next + j];
      beta[t * n + i] = s / scale[t + 1];
    }
  }
  return beta;
}

/** Posterior state probabilities gamma[t][i] = P(q_t = i | O), T x N. */
export function posteriors(h: Hmm, obs: ArrayLike<number>): Float64Array {
  const f = forward(h, obs);
  const beta = backward(h, obs, f.scale);
  const g = new Float64Array(f.alpha.length);
  for (let k = 0; k < g.length; k++) g[k] = f.alpha[k] * beta[k];
  return g;
}

/** Most likely state path (log-space max-product). */
export function viterbi(h: Hmm, obs: ArrayLike<number>): { path: number[]; logProbability: number } {
  checkSymbols(h, obs);
  const { n, m, pi, a, b } = h;
  const T = obs.length;
  if (T === 0) return { path: [], logProbability: 0 };
  const la = a.map(Math.log);
  const delta = new Float64Array(n);
  const next = new Float64Array(n);
  const back = new Int32Array(T * n);
  for (let j = 0; j < n; j++) delta[j] = Math.log(pi[j]) + Math.log(b[j * m + obs[0]]);
  for (let t = 1; t < T; t++) {
    const o = obs[t];
    for (let j = 0; j < n; j++) {
      let best = -Infinity;
      let arg = 0;
      for (let i = 0; i < n; i++) {
        const v = delta[i] + la[i * n + j];
        if (v > best) { best = v; arg = i; }
      }
      next[j] = best + Math.log(b[j * m + o]);
      back[t * n + j] = arg;
    }
    delta.set(next);
  }
  let last = 0;
  for (let j = 1; j < n; j++) if (delta[j] > delta[last]) last = j;
  const path = new Array<number>(T);
  path[T - 1] = last;
  for (let t = T - 1; t > 0; t--) path[t - 1] = back[t * n + path[t]];
  return { path, logProbability: delta[last] };
}

export interface BaumWelchOptions {
  maxIterations?: number;
  /** Stop when the log-likelihood improves by less than this. */
  tolerance?: number;
  /** Stop when every parameter changes by less than this fraction (the paper: 1%). */
  relativeChange?: number;
  /** Dirichlet pseudocount added to every expected count (0 = plain maximum likelihood). */
  pseudocount?: number;
  onIteration?: (iteration: number, logLikelihood: number) => void;
  /** Checked between iterations; true stops training with the parameters so far. */
  shouldStop?: () => boolean;
}

export interface BaumWelchResult {
  hmm: Hmm;
  iterations: number;
  /** Log-likelihood of the data under the returned model. */
  logLikelihood: number;
  /** Log-likelihood before each re-estimation (index 0 = initial model). */
  history: number[];
}

/** Baum-Welch re-estimation over several sequences, starting from `init`. */
export function baumWelch(init: Hmm, sequences: ArrayLike<number>[], opts: BaumWelchOptions = {}): BaumWelchResult {
  const { n, m } = init;
  const maxIt = opts.maxIterations ?? 100;
  const tol = opts.tolerance ?? 1e-6;
  const rel = opts.relativeChange ?? 0;
  const pc = opts.pseudocount ?? 0;
  let h: Hmm = { n, m, pi: init.pi.slice(), a: init.a.slice(), b: init.b.slice() };
  const seqs = sequences.filter((s) => s.length > 0);
  if (seqs.length === 0) throw new Error('Baum-Welch needs at least one non-empty sequence');
  const history: number[] = [];
  let iterations = 0;
  for (;;) {
    const piN = new Float64Array(n).fill(pc);
    const aN = new Float64Array(n * n).fill(pc);
    const bN = new Float64Array(n * m).fill(pc);
    let ll = 0;
    for (const obs of seqs) {
      const f = forward(h, obs);
      ll += f.logLikelihood;
      const beta = backward(h, obs, f.scale);
      const T = obs.length;
      for (let i = 0; i < n; i++) piN[i] += f.alpha[i] * beta[i];
      for (let t = 0; t < T; t++) {
        const o = obs[t];
        for (let i = 0; i < n; i++) bN[i * m + o] += f.alpha[t * n + i] * beta[t * n + i];
        if (t === T - 1) continue;
        const o1 = obs[t + 1];
        const c = f.scale[t + 1];
        for (let i = 0; i < n; i++) {
          const ai = f.alpha[t * n + i] / c;
          for (let j = 0; j < n; j++) aN[i * n + j] += ai * h.a[i * n + j] * h.b[j * m + o1] * beta[(t + 1) * n + j];
        }
      }
    }
    history.push(ll);
    opts.onIteration?.(iterations, ll);
    if (iterations >= maxIt || opts.shouldStop?.()) break;
    const nextH: Hmm = { n, m, pi: normalizeRows(piN, 1, n, h.pi), a: normalizeRows(aN, n, n, h.a), b: normalizeRows(bN, n, m, h.b) };
    iterations++;
    const improved = history.length > 1 ? ll - history[history.length - 2] : Infinity;
    const changed = maxRelativeChange(h, nextH);
    h = nextH;
    if (improved < tol || (rel > 0 && changed < rel)) {
      history.push(totalLogLikelihood(h, seqs));
      break;
    }
  }
  return { hmm: h, iterations, logLikelihood: history[history.length - 1], history };
}

export function totalLogLikelihood(h: Hmm, sequences: ArrayLike<number>[]): number {
  let ll = 0;
  for (const s of sequences) if (s.length > 0) ll += forward(h, s).logLikelihood;
  return ll;
}

/** Normalizes each row; a row with no mass keeps its previous values. */
function normalizeRows(x: Float64Array, rows: number, cols: number, prev: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    for (let c = 0; c < cols; c++) out[r * cols + c] = s > 0 ? x[r * cols + c] / s : prev[r * cols + c];
  }
  return out;
}

function maxRelativeChange(p: Hmm, q: Hmm): number {
  let worst = 0;
  for (const [x, y] of [[p.pi, q.pi], [p.a, q.a], [p.b, q.b]] as const) {
    for (let k = 0; k < x.length; k++) {
      const d = Math.abs(x[k] - y[k]) / Math.max(x[k], 1e-12);
      if (x[k] > 1e-9 && d > worst) worst = d;
    }
  }
  return worst;
}

/**
 * Online forward filter: one O(N^2) update per observation, never looking
 * ahead. `risk(k)` is the probability of being in one of `riskyStates` k
 * steps after the last observation.
 */
export class ForwardFilter {
  private readonly belief: Float64Array;
  private started = false;
  private readonly tmp: Float64Array;

  constructor(private readonly h: Hmm, private readonly risky: boolean[]) {
    if (risky.length !== h.n) throw new Error(`riskyStates must have ${h.n} entries`);
    this.belief = h.pi.slice();
    this.tmp = new Float64Array(h.n);
  }

  /** P(q_t | o_1..o_t) after the last step (a copy). */
  get state(): Float64Array {
    return this.belief.slice();
  }

  reset(): void {
    this.belief.set(this.h.pi);
    this.started = false;
  }

  /** Folds in one observation; returns its log predictive probability. Allocation-free. */
  step(symbol: number): number {
    const { n, m, a, b } = this.h;
    if (!Number.isInteger(symbol) || symbol < 0 || symbol >= m) throw new Error(`symbol ${symbol} outside 0..${m - 1}`);
    const prior = this.tmp;
    if (this.started) this.propagateInto(this.belief, prior);
    else prior.set(this.belief);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += prior[j] * b[j * m + symbol];
    this.started = true;
    if (!(sum > 0)) {
      // Impossible under the model: keep the prior rather than invent certainty.
      this.belief.set(prior);
      return -Infinity;
    }
    const inv = 1 / sum;
    for (let j = 0; j < n; j++) this.belief[j] = prior[j] * b[j * m + symbol] * inv;
    return Math.log(sum);
  }

  /** Sum of belief[i] * w[i] over the states (allocation-free): with w = riskAhead(h, risky, k), the k-step risk. */
  expectation(w: ArrayLike<number>): number {
    let s = 0;
    for (let i = 0; i < this.h.n; i++) s += this.belief[i] * w[i];
    return s;
  }

  /** The most probable state after the last step (lowest index on ties). */
  mostLikely(): number {
    let best = 0;
    for (let i = 1; i < this.h.n; i++) if (this.belief[i] > this.belief[best]) best = i;
    return best;
  }

  /** Probability mass on risky states k >= 1 steps ahead. */
  risk(k = 1): number {
    let d = this.belief;
    for (let s = 0; s < k; s++) d = this.propagate(d);
    let r = 0;
    for (let i = 0; i < this.h.n; i++) if (this.risky[i]) r += d[i];
    return Math.min(1, Math.max(0, r));
  }

  private propagate(d: Float64Array): Float64Array {
    const out = new Float64Array(this.h.n);
    this.propagateInto(d, out);
    return out;
  }

  private propagateInto(d: Float64Array, out: Float64Array): void {
    const { n, a } = this.h;
    out.fill(0);
    for (let i = 0; i < n; i++) {
      const di = d[i];
      if (di === 0) continue;
      const base = i * n;
      for (let j = 0; j < n; j++) out[j] += di * a[base + j];
    }
  }
}

/**
 * w[i] = P(in a risky state k steps after being in state i) = (A^k r)[i],
 * r the indicator of the risky states. The k-step risk of a belief d is d . w.
 */
export function riskAhead(h: Hmm, risky: readonly boolean[], k: number): Float64Array {
  if (!Number.isInteger(k) || k < 0) throw new Error(`horizon must be an integer >= 0, got ${k}`);
  const { n, a } = h;
  let w = Float64Array.from(risky, (r) => (r ? 1 : 0));
  for (let s = 0; s < k; s++) {
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let j = 0; j < n; j++) v += a[i * n + j] * w[j];
      next[i] = v;
    }
    w = next;
  }
  return w;
}
