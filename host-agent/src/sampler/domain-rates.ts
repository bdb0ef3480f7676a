// Pure: one RateConverter per domain, created when a domain appears in a
// collection and dropped after the one final 'vanished' Sample once it is no
// longer listed. Domains whose names Hefery cannot carry on the wire are
// skipped with a logged reason (once).

import { DOMAIN_NAME, DomainState } from '../protocol/api';
import type { Sample } from '../protocol/api';
import type { RawDomainStats } from '../libvirt/types';
import { RateConverter, type RateConverterOptions } from './rate-converter';

export interface DomainSample {
  sample: Sample;
  uuid: string;
  /** Rates restarted from a new baseline: predictors should forget their filter state. */
  reset: boolean;
}

export interface RatesBatch {
  /** Wall time of the collection, ms. */
  ts: number;
  samples: DomainSample[];
  /** Domains seen for the first time in this collection. */
  appeared: string[];
  /** Domains listed before and missing now (their final Sample is in `samples`). */
  vanished: string[];
}

export class DomainRates {
  private readonly converters = new Map<string, { conv: RateConverter; uuid: string }>();
  private readonly skipped = new Set<string>();

  constructor(private readonly opts: RateConverterOptions = {}) {}

  /** Converts a whole collection (every domain libvirt listed at `ts`). */
  convert(raws: readonly RawDomainStats[], ts: number): RatesBatch {
    const out: RatesBatch = { ts: Math.max(0, Math.round(ts)), samples: [], appeared: [], vanished: [] };
    const seen = new Set<string>();
    for (const raw of raws) {
      if (typeof raw.name !== 'string' || !DOMAIN_NAME.test(raw.name)) {
        const key = String(raw.name);
        if (!this.skipped.has(key)) {
          this.skipped.add(key);
          this.opts.onReject?.(`domain ${JSON.stringify(raw.name)} skipped: its name does not match ${DOMAIN_NAME}`);
        }
        continue;
      }
      if (seen.has(raw.name)) {
        this.opts.onReject?.(`domain ${raw.name} listed twice in one collection; the second entry is ignored`);
        continue;
      }
      seen.add(raw.name);
      const state = this.checkState(raw);
      let entry = this.converters.get(raw.name);
      if (!entry) {
        entry = { conv: new RateConverter(raw.name, this.opts), uuid: raw.uuid };
        this.converters.set(raw.name, entry);
        out.appeared.push(raw.name);
      }
      entry.uuid = raw.uuid;
      const { sample, reset } = entry.conv.convert(state === raw.state ? raw : { ...raw, state });
      out.samples.push({ sample, uuid: raw.uuid, reset });
    }
    for (const [name, entry] of this.converters) {
      if (seen.has(name)) continue;
      out.samples.push({ sample: entry.conv.vanish(out.ts), uuid: entry.uuid, reset: true });
      out.vanished.push(name);
      this.converters.delete(name);
    }
    return out;
  }

  /** Names of the domains currently tracked. */
  get domains(): string[] {
    return [...this.converters.keys()];
  }

  private checkState(raw: RawDomainStats): DomainState {
    try {
      return DomainState.parse(raw.state, `${raw.name}.state`);
    } catch (e) {
      this.opts.onReject?.(`${(e as Error).message}; using "nostate"`);
      return 'nostate';
    }
  }
}
