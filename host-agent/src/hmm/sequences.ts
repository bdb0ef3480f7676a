// Splitting a domain's history into the sequences Baum-Welch trains on. Pure.
//
// A gap in the samples is a sequence boundary, never interpolated: the chain
// is not assumed to have continued through time we did not see. Boundaries:
//  - a time step longer than maxGapMs (default: max(10 s, 5 x the median
//    step of the data), so 1 s agent samples and 5 min NAB rows both work);
//  - time going backwards;
//  - a sample of a domain that is not running (shutoff, crashed, paused...):
//    it is left out, and the next running sample starts a new sequence;
//  - a sample without any metric (the first one after a restart has no
//    rates): left out, and a new sequence starts.

import type { Sample } from '../protocol/api';
import { MODEL_METRICS, metricValue } from './discretize';

/** Domain states whose samples the model describes. */
export const MODELLED_STATES: ReadonlySet<Sample['state']> = new Set(['running', 'blocked']);

export function hasAnyMetric(s: Sample): boolean {
  for (const m of MODEL_METRICS) if (metricValue(s, m) !== null) return true;
  return false;
}

/** max(10 s, 5 x the median positive time step); 10 s when there are fewer than two samples. */
export function defaultMaxGap(samples: readonly Sample[]): number {
  const steps: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const d = samples[i].ts - samples[i - 1].ts;
    if (d > 0) steps.push(d);
  }
  if (steps.length === 0) return 10_000;
  steps.sort((x, y) => x - y);
  return Math.max(10_000, 5 * steps[Math.floor(steps.length / 2)]);
}

export function splitSequences(samples: readonly Sample[], maxGapMs = defaultMaxGap(samples)): Sample[][] {
  const out: Sample[][] = [];
  let cur: Sample[] = [];
  const close = () => {
    if (cur.length) out.push(cur);
    cur = [];
  };
  for (const s of samples) {
    if (!MODELLED_STATES.has(s.state) || !hasAnyMetric(s)) {
      close();
      continue;
    }
    const prev = cur[cur.length - 1];
    if (prev && (s.ts < prev.ts || s.ts - prev.ts > maxGapMs)) close();
    cur.push(s);
  }
  close();
  return out;
}
