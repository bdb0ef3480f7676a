// The live risk predictor: one per domain, fed every sample in order.
//
//   sample --Alphabet.encode--> observation code (missing metrics marked)
//          --forward filter (default) or Viterbi window (the paper's Algorithm 1)-->
//   Risk { next: P(abnormal or failed at t+1), horizon: ... at t+k, state label }
//
// Unsure means null, never a guess: a sample of a domain that is not running
// (the filter is reset, the next running sample starts afresh), or one
// without any of the model's metrics (time still moves on in the filter: the
// belief is propagated one step, nothing is learnt from the step).
// The filter step is O(N^2) and allocation-free apart from the returned Risk.

import type { Risk, Sample } from '../protocol/api';
import { calibrate } from '../hmm/calibration';
import { ForwardFilter, riskAhead, type Hmm } from '../hmm/core';
import { Alphabet } from '../hmm/discretize';
import { riskyStates, toHmm, type HmmModel } from '../hmm/model';
import { MODELLED_STATES } from '../hmm/sequences';
import { ViterbiWindow } from '../hmm/viterbiWindow';
import type { RiskPredictor } from './types';

export const PREDICTION_METHODS = ['forward', 'viterbi-window'] as const;
export type PredictionMethod = (typeof PREDICTION_METHODS)[number];

export interface PredictorOptions {
  /** 'forward' (default): the online forward filter. 'viterbi-window': the paper's Algorithm 1. */
  method?: PredictionMethod;
  /** k of the k-step-ahead risk (Risk.horizon). Default 10. */
  horizonSteps?: number;
  /** W of the Viterbi window. Default 30. */
  windowLength?: number;
}

export const PREDICTOR_DEFAULTS = { method: 'forward' as PredictionMethod, horizonSteps: 10, windowLength: 30 };

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

export class HmmPredictor implements RiskPredictor {
  readonly method: PredictionMethod;
  readonly horizonSteps: number;
  private readonly alphabet: Alphabet;
  private readonly filter: ForwardFilter | null;
  private readonly window: ViterbiWindow | null;
  private readonly w1: Float64Array;
  private readonly wk: Float64Array;
  private readonly labels: string[];

  constructor(readonly model: HmmModel, opts: PredictorOptions = {}) {
    this.method = opts.method ?? PREDICTOR_DEFAULTS.method;
    if (!PREDICTION_METHODS.includes(this.method)) throw new Error(`prediction method must be one of ${PREDICTION_METHODS.join(', ')}, got ${JSON.stringify(this.method)}`);
    this.horizonSteps = opts.horizonSteps ?? PREDICTOR_DEFAULTS.horizonSteps;
    if (!Number.isInteger(this.horizonSteps) || this.horizonSteps < 1) throw new Error(`horizon must be an integer >= 1, got ${this.horizonSteps}`);
    const h = toHmm(model);
    this.alphabet = new Alphabet(model.discretization);
    // The model over observation codes: emission of a code = sum of B over its symbols.
    const coded: Hmm = { n: h.n, m: this.alphabet.codes, pi: h.pi, a: h.a, b: this.alphabet.emissionByCode(h.n, h.b) };
    const risky = riskyStates(model);
    this.w1 = riskAhead(h, risky, 1);
    this.wk = riskAhead(h, risky, this.horizonSteps);
    this.labels = model.states.map((s) => s.label);
    if (this.method === 'forward') {
      this.filter = new ForwardFilter(coded, risky);
      this.window = null;
    } else {
      this.filter = null;
      this.window = new ViterbiWindow(h.n, h.pi, h.a, coded.b, coded.m, opts.windowLength ?? PREDICTOR_DEFAULTS.windowLength);
    }
  }

  observe(s: Sample): Risk | null {
    if (!MODELLED_STATES.has(s.state)) {
      this.reset();
      return null;
    }
    const code = this.alphabet.encode(s);
    let state: number;
    if (this.filter) {
      this.filter.step(code);
      if (code === this.alphabet.allMissing) return null;
      state = this.filter.mostLikely();
      return this.risk(s.ts, this.filter.expectation(this.w1), this.filter.expectation(this.wk), state);
    }
    const w = this.window as ViterbiWindow;
    w.push(code);
    if (code === this.alphabet.allMissing) return null;
    state = w.lastState();
    if (state < 0) return null;
    return this.risk(s.ts, this.w1[state], this.wk[state], state);
  }

  reset(): void {
    this.filter?.reset();
    this.window?.reset();
  }

  private risk(ts: number, next: number, ahead: number, state: number): Risk {
    // Calibrated models: the same monotone map for both (it is fitted on the next step; see hmm/calibration.ts).
    const c = this.model.calibration;
    const n = c ? calibrate(c, clamp01(next)) : clamp01(next);
    const k = c ? calibrate(c, clamp01(ahead)) : clamp01(ahead);
    return { ts, next: n, horizon: k, horizonSteps: this.horizonSteps, state: this.labels[state], modelVersion: this.model.version };
  }
}
