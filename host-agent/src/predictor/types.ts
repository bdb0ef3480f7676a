// Contract between the sampler pipeline and the HMM predictor.
import type { Risk, Sample } from '../protocol/api';

export interface RiskPredictor {
  /** Feeds one new sample (never a future one) and returns the risk after it; null when it cannot tell (no model, missing data). */
  observe(sample: Sample): Risk | null;
  /** Forget the filter state (domain restarted, gap in data). */
  reset(): void;
}
