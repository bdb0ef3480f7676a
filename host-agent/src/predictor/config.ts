// The agent config's `prediction` section: how risk is computed live and how
// models are trained. Validated field by field (config.ts embeds the schema);
// every field is optional.
//
//   "prediction": {
//     "method": "forward" | "viterbi-window",   live predictor (default forward)
//     "horizonSteps": 10,                        k of the k-step-ahead risk
//     "windowLength": 30,                        W of the Viterbi window
//     "discretization": "quantile" | "mean",     thresholds learnt from history
//     "levels": 3,                               levels per metric (2 or 3)
//     "quantiles": [0.5, 0.95],                  cut points for "quantile"
//     "loadLevels": 3,                           load states per health (states = 3 x this)
//     "restarts": 3, "maxIterations": 100,       Baum-Welch
//     "leadMs": 600000, "recoveryMs": 300000     precursor / recovery time around known incidents
//     "thresholdsFrom": "all" | "healthy",       samples the discretization thresholds are learnt on
//     "calibrate": true                          Platt-calibrate the risk on the training incidents
//   }

import { arr, bool, num, obj, oneOf, opt, type Infer } from '../protocol/schema';
import type { WorkerTrainOptions } from '../training/protocol';
import { PREDICTION_METHODS, PREDICTOR_DEFAULTS, type PredictorOptions } from './hmmPredictor';

export const PredictionSchema = obj({
  method: opt(oneOf(PREDICTION_METHODS)),
  horizonSteps: opt(num({ min: 1, max: 86_400, int: true })),
  windowLength: opt(num({ min: 1, max: 3600, int: true })),
  discretization: opt(oneOf(['quantile', 'mean'] as const)),
  levels: opt(num({ min: 2, max: 3, int: true })),
  quantiles: opt(arr(num({ min: 0, max: 1 }), { min: 1, max: 2 })),
  loadLevels: opt(num({ min: 1, max: 3, int: true })),
  restarts: opt(num({ min: 1, max: 100, int: true })),
  maxIterations: opt(num({ min: 1, max: 10_000, int: true })),
  leadMs: opt(num({ min: 0 })),
  recoveryMs: opt(num({ min: 0 })),
  thresholdsFrom: opt(oneOf(['all', 'healthy'] as const)),
  calibrate: opt(bool()),
});

export interface PredictionConfig {
  predictor: Required<PredictorOptions>;
  training: WorkerTrainOptions;
}

/** Fills defaults and checks what the schema cannot (quantiles vs levels); `fail` reports a field error. */
export function resolvePrediction(p: Infer<typeof PredictionSchema> | undefined, fail: (message: string) => never): PredictionConfig {
  const f = p ?? {};
  const levels = f.levels ?? (f.quantiles ? f.quantiles.length + 1 : 3);
  if (f.quantiles) {
    if (f.quantiles.length !== levels - 1) fail(`prediction.quantiles: ${levels} levels need ${levels - 1} cut point(s), got ${f.quantiles.length}`);
    if (f.quantiles.some((q, i) => q <= 0 || q >= 1 || (i > 0 && q <= f.quantiles![i - 1]))) fail(`prediction.quantiles: expected ascending cut points in (0, 1), got ${f.quantiles.join(', ')}`);
    if (f.discretization === 'mean') fail('prediction.quantiles: only used with "discretization": "quantile"');
  }
  return {
    predictor: {
      method: f.method ?? PREDICTOR_DEFAULTS.method,
      horizonSteps: f.horizonSteps ?? PREDICTOR_DEFAULTS.horizonSteps,
      windowLength: f.windowLength ?? PREDICTOR_DEFAULTS.windowLength,
    },
    training: {
      discretization: { method: f.discretization ?? 'quantile', levels, ...(f.quantiles ? { quantiles: f.quantiles } : {}) },
      loads: f.loadLevels,
      restarts: f.restarts,
      maxIterations: f.maxIterations,
      leadMs: f.leadMs,
      recoveryMs: f.recoveryMs,
      thresholdsFrom: f.thresholdsFrom,
      calibrate: f.calibrate,
    },
  };
}
