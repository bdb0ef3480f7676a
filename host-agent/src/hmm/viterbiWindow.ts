// The paper's Algorithm 1: the most likely state sequence (max-product,
// Viterbi) over a sliding window of the last W observations, then one
// transition step from its last state; the risk is the probability mass of
// the abnormal and failed states after that step (k steps: A^k). Pure,
// allocation-free per step: O(W N^2), every step recomputed over the
// window (the window's first step starts from pi, as a fresh sequence).
//
// Observations are codes with an emission table N x C (missing metrics
// marginalised, see discretize.ts), so the same class serves plain symbols
// (C = M, E = B).

export class ViterbiWindow {
  private readonly logPi: Float64Array;
  private readonly logA: Float64Array;
  private readonly logE: Float64Array;
  private readonly ring: Int32Array;
  private head = 0;
  private count = 0;
  private readonly delta: Float64Array;
  private readonly next: Float64Array;

  /**
   * `e`: N x `codes` emission table (row-major); `window`: W >= 1.
   */
  constructor(readonly n: number, pi: ArrayLike<number>, a: ArrayLike<number>, e: ArrayLike<number>, private readonly codes: number, readonly window: number) {
    if (!Number.isInteger(window) || window < 1) throw new Error(`Viterbi window must be an integer >= 1, got ${window}`);
    this.logPi = Float64Array.from(pi, Math.log);
    this.logA = Float64Array.from(a, Math.log);
    this.logE = Float64Array.from(e, Math.log);
    this.ring = new Int32Array(window);
    this.delta = new Float64Array(n);
    this.next = new Float64Array(n);
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
  }

  /** Observations currently in the window. */
  get length(): number {
    return this.count;
  }

  push(code: number): void {
    if (!Number.isInteger(code) || code < 0 || code >= this.codes) throw new Error(`code ${code} outside 0..${this.codes - 1}`);
    this.ring[this.head] = code;
    this.head = (this.head + 1) % this.window;
    if (this.count < this.window) this.count++;
  }

  /**
   * The last state of the most likely path over the window (lowest index on
   * ties), or -1 when the window is empty or every path is impossible.
   */
  lastState(): number {
    const { n, logPi, logA, logE, codes, delta, next } = this;
    if (this.count === 0) return -1;
    const first = (this.head - this.count + this.window) % this.window;
    let o = this.ring[first];
    for (let j = 0; j < n; j++) delta[j] = logPi[j] + logE[j * codes + o];
    for (let s = 1; s < this.count; s++) {
      o = this.ring[(first + s) % this.window];
      for (let j = 0; j < n; j++) {
        let best = -Infinity;
        for (let i = 0; i < n; i++) {
          const v = delta[i] + logA[i * n + j];
          if (v > best) best = v;
        }
        next[j] = best + logE[j * codes + o];
      }
      delta.set(next);
    }
    let last = 0;
    for (let j = 1; j < n; j++) if (delta[j] > delta[last]) last = j;
    return delta[last] === -Infinity ? -1 : last;
  }
}
