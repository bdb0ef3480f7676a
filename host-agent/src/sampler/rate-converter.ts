// Pure: raw libvirt counters of one domain -> Sample (rates over the interval
// since the previous collection). No I/O, no clock: times come from the raw
// stats (wall `ts` for the Sample, monotonic `mono` for rate maths).
//
// Rules:
//  - The first collection of a domain, the first after it (re)started, after a
//    counter went backwards, or after a gap longer than `maxGapMs` gives null
//    rates: no rate is invented across a discontinuity. The next collection
//    rates against this one (a new baseline) and `reset` tells the caller to
//    forget filter state (predictor).
//  - A field whose input is not a finite, non-negative, plausible number is
//    rejected (null) with a logged reason; a Sample never holds NaN/Infinity.
//  - A counter going backwards alone (e.g. a NIC unplugged) nulls that field
//    only and rebases it; cpu.time going backwards means the domain restarted.

import type { DomainState, Sample } from '../protocol/api';
import { DOMAIN_NAME } from '../protocol/api';
import type { RawDomainStats } from '../libvirt/types';

export interface RateConverterOptions {
  /** A gap between collections longer than this gives null rates and a new baseline. Default 10 000 ms. */
  maxGapMs?: number;
  /** A byte rate above this is rejected as absurd. Default 1e12 (1 TB/s). */
  maxBytesPerSec?: number;
  /** Called with the reason whenever an input field is rejected or a baseline is reset. */
  onReject?: (reason: string) => void;
}

export interface Converted {
  sample: Sample;
  /** true when rates restarted from a new baseline (first sample, restart, gap, counter reset). */
  reset: boolean;
}

/** States in which a domain has no live counters; leaving them is a restart. */
const INACTIVE: ReadonlySet<DomainState> = new Set<DomainState>(['shutoff', 'crashed', 'vanished']);

/** Largest plausible counter / KiB value: beyond 2^62 a double has lost integer precision anyway. */
const MAX_COUNTER = 2 ** 62;
const MAX_VCPUS = 16_384;

interface Baseline {
  uuid: string;
  mono: number;
  active: boolean;
  cpuTimeNs: number | null;
  netRx: number | null;
  netTx: number | null;
  diskRd: number | null;
  diskWr: number | null;
}

export class RateConverter {
  private prev: Baseline | null = null;
  private lastTs = 0;
  private lastState: DomainState = 'nostate';
  private readonly maxGapMs: number;
  private readonly maxBps: number;

  constructor(readonly domain: string, private readonly opts: RateConverterOptions = {}) {
    if (!DOMAIN_NAME.test(domain)) throw new TypeError(`domain name ${JSON.stringify(domain)} does not match ${DOMAIN_NAME}`);
    this.maxGapMs = opts.maxGapMs ?? 10_000;
    this.maxBps = opts.maxBytesPerSec ?? 1e12;
  }

  /** Converts one collection of this domain. */
  convert(raw: RawDomainStats): Converted {
    if (raw.name !== this.domain) throw new Error(`converter of ${this.domain} got stats of ${raw.name}`);
    const ts = this.wallTs(raw.ts);
    const state = raw.state;
    const active = !INACTIVE.has(state);
    if (typeof raw.mono !== 'number' || !Number.isFinite(raw.mono)) {
      this.reject(`${this.domain}: monotonic collection time ${String(raw.mono)} is invalid; rates skipped`);
      this.prev = null;
      this.lastTs = ts;
      this.lastState = state;
      return {
        sample: { domain: this.domain, ts, state, cpuPct: null, memPct: active ? this.memPct(raw) : null, netRxBps: null, netTxBps: null, diskRdBps: null, diskWrBps: null },
        reset: true,
      };
    }

    const cur: Baseline = {
      uuid: raw.uuid,
      mono: raw.mono,
      active,
      cpuTimeNs: this.counter('cpu.time', raw.cpuTimeNs),
      netRx: raw.net ? this.counter('net.rx.bytes', raw.net.rxBytes) : null,
      netTx: raw.net ? this.counter('net.tx.bytes', raw.net.txBytes) : null,
      diskRd: raw.block ? this.counter('block.rd.bytes', raw.block.rdBytes) : null,
      diskWr: raw.block ? this.counter('block.wr.bytes', raw.block.wrBytes) : null,
    };
    const memPct = active ? this.memPct(raw) : null;
    const vcpus = this.vcpus(raw.vcpus);

    const prev = this.prev;
    this.prev = cur;
    this.lastTs = ts;
    this.lastState = state;

    const nulls = { cpuPct: null, netRxBps: null, netTxBps: null, diskRdBps: null, diskWrBps: null };
    if (!active) return { sample: { domain: this.domain, ts, state, memPct: null, ...nulls }, reset: true };

    const why = this.discontinuity(prev, cur);
    if (why !== null) {
      if (why) this.reject(why);
      return { sample: { domain: this.domain, ts, state, memPct, ...nulls }, reset: true };
    }
    const p = prev as Baseline;
    const dtMs = cur.mono - p.mono;

    let cpuPct: number | null = null;
    if (cur.cpuTimeNs !== null && p.cpuTimeNs !== null && vcpus !== null) {
      const pct = ((cur.cpuTimeNs - p.cpuTimeNs) / (dtMs * 1e6 * vcpus)) * 100;
      cpuPct = Math.min(100, Math.max(0, pct));
    }
    return {
      sample: {
        domain: this.domain,
        ts,
        state,
        cpuPct,
        memPct,
        netRxBps: this.rate('net.rx.bytes', p.netRx, cur.netRx, dtMs),
        netTxBps: this.rate('net.tx.bytes', p.netTx, cur.netTx, dtMs),
        diskRdBps: this.rate('block.rd.bytes', p.diskRd, cur.diskRd, dtMs),
        diskWrBps: this.rate('block.wr.bytes', p.diskWr, cur.diskWr, dtMs),
      },
      reset: false,
    };
  }

  /** The one final Sample of a domain that is no longer listed; the converter is done after it. */
  vanish(ts: number): Sample {
    this.prev = null;
    this.lastState = 'vanished';
    return {
      domain: this.domain,
      ts: Math.max(this.wallTs(ts), this.lastTs),
      state: 'vanished',
      cpuPct: null, memPct: null, netRxBps: null, netTxBps: null, diskRdBps: null, diskWrBps: null,
    };
  }

  get state(): DomainState {
    return this.lastState;
  }

  /** null: rates can be computed; '' or a reason: they cannot (reason logged when non-empty). */
  private discontinuity(prev: Baseline | null, cur: Baseline): string | null {
    if (prev === null) return '';
    if (!prev.active) return '';
    if (prev.uuid !== cur.uuid) return `${this.domain}: uuid changed (${prev.uuid} -> ${cur.uuid}), domain was redefined; new baseline`;
    const dt = cur.mono - prev.mono;
    if (!Number.isFinite(dt) || dt <= 0) return `${this.domain}: monotonic time did not advance (${prev.mono} -> ${cur.mono}); new baseline`;
    if (dt > this.maxGapMs) return `${this.domain}: ${Math.round(dt)} ms since the previous collection (limit ${this.maxGapMs} ms); new baseline`;
    if (cur.cpuTimeNs !== null && prev.cpuTimeNs !== null && cur.cpuTimeNs < prev.cpuTimeNs) {
      return `${this.domain}: cpu.time went backwards (${prev.cpuTimeNs} -> ${cur.cpuTimeNs} ns), domain restarted; new baseline`;
    }
    return null;
  }

  private rate(field: string, a: number | null, b: number | null, dtMs: number): number | null {
    if (a === null || b === null) return null;
    if (b < a) {
      this.reject(`${this.domain}: ${field} went backwards (${a} -> ${b}); rate skipped, new baseline for it`);
      return null;
    }
    const bps = ((b - a) / dtMs) * 1000;
    if (!Number.isFinite(bps) || bps > this.maxBps) {
      this.reject(`${this.domain}: ${field} rate ${bps} B/s is implausible (limit ${this.maxBps}); rejected`);
      return null;
    }
    return bps;
  }

  private memPct(raw: RawDomainStats): number | null {
    const b = raw.balloon;
    const available = this.counter('balloon.available', b.availableKiB);
    const usable = this.counter('balloon.usable', b.usableKiB);
    if (available !== null && usable !== null && available > 0) {
      return clampPct(((available - usable) / available) * 100);
    }
    const rss = this.counter('balloon.rss', b.rssKiB);
    const current = this.counter('balloon.current', b.currentKiB);
    if (rss !== null && current !== null && current > 0) return clampPct((rss / current) * 100);
    return null;
  }

  private vcpus(v: number | null): number | null {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_VCPUS) {
      this.reject(`${this.domain}: vcpu.current ${String(v)} is not an integer in 1..${MAX_VCPUS}; cpuPct rejected`);
      return null;
    }
    return v;
  }

  /** A raw counter: finite, >= 0, below MAX_COUNTER, else null with a reason. */
  private counter(field: string, v: number | null): number | null {
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_COUNTER) {
      this.reject(`${this.domain}: ${field} = ${String(v)} is not a finite non-negative counter; rejected`);
      return null;
    }
    return v;
  }

  private wallTs(ts: number): number {
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) {
      this.reject(`${this.domain}: collection time ${String(ts)} is invalid; using the previous one`);
      return this.lastTs;
    }
    return Math.round(ts);
  }

  private reject(reason: string): void {
    this.opts.onReject?.(reason);
  }
}

function clampPct(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  return Math.min(100, Math.max(0, v));
}
