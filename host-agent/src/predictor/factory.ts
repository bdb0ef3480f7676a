// predictorFor(domain) for the daemon: the domain's newest model file ->
// an HmmPredictor. No model: null (the daemon reports risk null, the policy
// goes to the safest interval). A corrupt model file: logged with its path
// and reason, null as well: an unreadable model must never give a risk.

import type { Logger } from '../log';
import { HmmPredictor, type PredictorOptions } from './hmmPredictor';
import { readNewestModel } from './modelFiles';
import type { RiskPredictor } from './types';

export function predictorFactory(modelDir: string, opts: PredictorOptions, log: Logger): (domain: string) => RiskPredictor | null {
  return (domain) => {
    let found;
    try {
      found = readNewestModel(modelDir, domain);
    } catch (e) {
      log.error(`${domain}: no risk prediction: ${(e as Error).message}. Risk stays unknown (safest interval) until the model is retrained or the file replaced.`);
      return null;
    }
    if (!found) return null;
    try {
      const p = new HmmPredictor(found.model, opts);
      log.info(`${domain}: model ${found.model.version} (${found.model.states.length} states, ${opts.method ?? 'forward'} predictor) from ${found.path}`);
      return p;
    } catch (e) {
      log.error(`${domain}: model ${found.path} cannot be used: ${(e as Error).message}`);
      return null;
    }
  };
}
