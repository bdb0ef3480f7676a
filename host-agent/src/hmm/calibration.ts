// Calibrating the risk: from "the model's posterior" to "how often the VM
// really was in trouble when the model said r". Pure.
//
// The forward filter's P(abnormal or failed next) is a probability only if
// the model were true. It is not: a sample is not independent of the one
// before given the state (a 5-s CPU burst is five correlated samples), so
// the filter counts evidence too often and is overconfident; a workload
// burst drives it to 0.5..0.9 although the VM is fine. Where training had
// incidents, every training step has a known answer (inside an incident:
// yes; in the normal-only part: no), so after Baum-Welch the filter is run
// over the training sequences and Platt scaling is fitted:
//
//   calibrated(r) = sigmoid(a * logit(r) + b)
//
// a monotone map (a > 0: the order of risks, hence every ROC/PR figure of
// one model, is unchanged) that makes r mean a frequency, so that a fixed
// policy line (raise at 0.5) means the same for every model and domain.
// Platt's own smoothed targets ((N+ + 1) / (N+ + 2) and 1 / (N- + 2)) keep
// the fit finite when the training data separates perfectly. The fit is
// in-sample (the model saw those sequences), so it errs on the confident
// side; the held-out evaluation measures how well it holds (Brier score).

/** Risks are clamped to [EPS, 1 - EPS] before the logit. */
const EPS = 1e-9;

export interface PlattCalibration {
  method: 'platt';
  a: number;
  b: number;
  /** Training steps it was fitted on, and how many of them were inside incidents. */
  samples: number;
  positives: number;
}

export function logit(p: number): number {
  const q = p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p;
  return Math.log(q / (1 - q));
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** The calibrated risk (allocation-free). */
export function calibrate(c: { a: number; b: number }, risk: number): number {
  return sigmoid(c.a * logit(risk) + c.b);
}

/**
 * Platt scaling by Newton's method on (risk, label) pairs; null when the
 * labels are all of one class (nothing to calibrate against). The slope is
 * kept >= 0 so the map never reverses the order of risks.
 */
export function fitPlatt(risks: ArrayLike<number>, labels: ArrayLike<number>, maxIterations = 100): PlattCalibration | null {
  const n = risks.length;
  if (labels.length !== n) throw new Error(`calibration: ${n} risks but ${labels.length} labels`);
  let pos = 0;
  for (let i = 0; i < n; i++) if (labels[i]) pos++;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (neg + 2);
  const x = Float64Array.from(risks, logit);
  let a = 1;
  let b = 0;
  let prevLoss = Infinity;
  for (let it = 0; it < maxIterations; it++) {
    // gradient and Hessian of the cross-entropy in (a, b), with a tiny ridge so the step always exists
    let ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9, loss = 0;
    for (let i = 0; i < n; i++) {
      const t = labels[i] ? hi : lo;
      const z = a * x[i] + b;
      const p = sigmoid(z);
      const d = p - t;
      ga += d * x[i];
      gb += d;
      const w = p * (1 - p);
      haa += w * x[i] * x[i];
      hab += w * x[i];
      hbb += w;
      loss += z >= 0 ? (1 - t) * z + Math.log1p(Math.exp(-z)) : -t * z + Math.log1p(Math.exp(z));
    }
    if (prevLoss - loss < 1e-12 * Math.max(1, loss) && it > 0) break;
    prevLoss = loss;
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    // damped step: halve until the loss does not increase (Newton can overshoot on flat sigmoids)
    let step = 1;
    for (let k = 0; k < 30; k++, step /= 2) {
      const na = Math.max(0, a - step * da);
      const nb = b - step * db;
      let l = 0;
      for (let i = 0; i < n; i++) {
        const t = labels[i] ? hi : lo;
        const z = na * x[i] + nb;
        l += z >= 0 ? (1 - t) * z + Math.log1p(Math.exp(-z)) : -t * z + Math.log1p(Math.exp(z));
      }
      if (l <= loss) {
        a = na;
        b = nb;
        break;
      }
    }
  }
  return { method: 'platt', a, b, samples: n, positives: pos };
}
