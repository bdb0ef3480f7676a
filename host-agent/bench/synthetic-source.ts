// SYNTHETIC stats source, for the load/soak benchmark and the connection
// fault tests only: N made-up domains whose counters move like busy VMs'.
// The real source (libvirt) cannot give 200 domains on a test machine; this
// one stands in for it at the StatsSource seam, so everything after it (the
// sampler's rate maths, the predictor, the policy, the store, the RPC server)
// is the agent's real code.
//
// Each domain is a seeded random process: a CPU load that wanders around its
// own level, memory use, network and disk byte rates, and now and then an
// "episode" (CPU pegged, memory climbing, disk writes high) so that risk and
// checkpoint decisions really change. Same seed, same numbers.

import { performance } from 'node:perf_hooks';
import type { DomainEvent, RawDomainStats, StatsSource } from '../src/libvirt/types';
import { seededRandom } from '../src/hmm/train';
import type { Sample } from '../src/protocol/api';
import { RateConverter } from '../src/sampler/rate-converter';

export const SYNTHETIC_PREFIX = 'synthetic-';

/** `synthetic-000`, `synthetic-001`, ... (valid libvirt and protocol domain names). */
export function syntheticDomainName(i: number): string {
  return `${SYNTHETIC_PREFIX}${String(i).padStart(3, '0')}`;
}

/** Chance per second that a calm domain starts an episode, and how long one lasts. */
const EPISODE_RATE_PER_S = 1 / 900;
const EPISODE_S = [20, 90] as const;
const KiB_PER_GiB = 1 << 20;

/** One made-up domain's counters, advanced by elapsed time. */
export class SyntheticDomain {
  readonly uuid: string;
  readonly vcpus: number;
  private readonly random: () => number;
  private readonly memKiB: number;
  private readonly baseLoad: number;
  private load: number;
  private memUsed: number;
  private episodeLeftS = 0;
  private cpuTimeNs = 0;
  private rx = 0;
  private tx = 0;
  private rd = 0;
  private wr = 0;

  constructor(readonly name: string, seed: number) {
    this.random = seededRandom(seed);
    const r = this.random;
    this.uuid = [8, 4, 4, 4, 12].map((n) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('')).join('-');
    this.vcpus = 1 + Math.floor(r() * 4);
    this.memKiB = (1 + Math.floor(r() * 4)) * KiB_PER_GiB;
    this.baseLoad = 0.05 + 0.45 * r();
    this.load = this.baseLoad;
    this.memUsed = 0.2 + 0.3 * r();
  }

  get inEpisode(): boolean {
    return this.episodeLeftS > 0;
  }

  /** Advances the counters by `dtMs` of guest time. */
  advance(dtMs: number): void {
    const r = this.random;
    const dtS = Math.max(0, dtMs) / 1000;
    if (this.episodeLeftS > 0) this.episodeLeftS = Math.max(0, this.episodeLeftS - dtS);
    else if (r() < EPISODE_RATE_PER_S * dtS) this.episodeLeftS = EPISODE_S[0] + (EPISODE_S[1] - EPISODE_S[0]) * r();
    const episode = this.episodeLeftS > 0;
    // Mean-reverting wander around the domain's own level (or near 100% during an episode).
    const target = episode ? 0.95 : this.baseLoad;
    this.load = clamp(this.load + (target - this.load) * 0.3 + (r() - 0.5) * 0.08, 0, 1);
    this.memUsed = clamp(episode ? this.memUsed + 0.01 * dtS : this.memUsed + (0.35 - this.memUsed) * 0.05 + (r() - 0.5) * 0.01, 0.05, 0.98);
    const io = (scale: number) => scale * (0.5 + r()) * dtS;
    this.cpuTimeNs += Math.round(this.load * this.vcpus * dtMs * 1e6);
    this.rx += Math.round(io(episode ? 5e4 : 4e5));
    this.tx += Math.round(io(episode ? 2e4 : 2e5));
    this.rd += Math.round(io(episode ? 2e6 : 1e5));
    this.wr += Math.round(io(episode ? 3e7 : 2e5));
  }

  raw(ts: number, mono: number): RawDomainStats {
    const usable = Math.round(this.memKiB * (1 - this.memUsed));
    return {
      name: this.name,
      uuid: this.uuid,
      state: 'running',
      ts,
      mono,
      cpuTimeNs: this.cpuTimeNs,
      vcpus: this.vcpus,
      balloon: { currentKiB: this.memKiB, availableKiB: this.memKiB, usableKiB: usable, unusedKiB: usable, rssKiB: this.memKiB - usable },
      net: { rxBytes: this.rx, txBytes: this.tx },
      block: { rdBytes: this.rd, wrBytes: this.wr },
    };
  }
}

export interface SyntheticSourceOptions {
  domains: number;
  /** Seed of domain i is seed + i. Default 1. */
  seed?: number;
  /** Wall clock (ms) of each collection. Default Date.now. */
  now?: () => number;
}

/** A StatsSource of `domains` made-up running domains. */
export class SyntheticStatsSource implements StatsSource {
  readonly domains: SyntheticDomain[];
  /** Wall time of every collection so far, in order (the load checks compare clients and store with it). */
  readonly collections: number[] = [];
  private lastMono: number | null = null;
  private closed = false;
  private readonly now: () => number;

  constructor(opts: SyntheticSourceOptions) {
    if (!Number.isInteger(opts.domains) || opts.domains < 1 || opts.domains > 1000) throw new RangeError(`domains must be an integer in 1..1000, got ${opts.domains}`);
    const seed = opts.seed ?? 1;
    this.domains = Array.from({ length: opts.domains }, (_, i) => new SyntheticDomain(syntheticDomainName(i), seed + i));
    this.now = opts.now ?? Date.now;
  }

  async collect(): Promise<RawDomainStats[]> {
    if (this.closed) throw new Error('synthetic stats source is closed');
    const mono = performance.now();
    const ts = this.now();
    const dt = this.lastMono === null ? 0 : mono - this.lastMono;
    this.lastMono = mono;
    this.collections.push(ts);
    return this.domains.map((d) => {
      d.advance(dt);
      return d.raw(ts, mono);
    });
  }

  onEvent(_listener: (ev: DomainEvent) => void): void {
    // Made-up domains never start, stop or crash.
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * `count` samples of one synthetic domain at one per `stepMs`, through the
 * agent's own rate converter: the history a model for the synthetic domains
 * is trained on.
 */
export function syntheticSamples(count: number, seed: number, stepMs = 1000, start = Date.UTC(2026, 0, 1)): Sample[] {
  const d = new SyntheticDomain(syntheticDomainName(0), seed);
  const conv = new RateConverter(d.name);
  const out: Sample[] = [];
  for (let i = 0; i < count; i++) {
    d.advance(i === 0 ? 0 : stepMs);
    out.push(conv.convert(d.raw(start + i * stepMs, i * stepMs)).sample);
  }
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
