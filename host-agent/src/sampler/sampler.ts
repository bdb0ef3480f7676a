// Collects from a StatsSource every `intervalMs` and hands rate batches to
// listeners. Collections never overlap: the next one is scheduled when the
// previous finished (aligned to the interval grid; an overrun skips the missed
// slots instead of bursting). A failed collection is reported and retried with
// exponential backoff; after `reconnectAfter` consecutive failures the
// optional `reconnect` hook replaces the source.

import type { DomainEvent, RawDomainStats, StatsSource } from '../libvirt/types';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import { DomainRates, type RatesBatch } from './domain-rates';

export interface SamplerOptions {
  intervalMs: number;
  /** See RateConverterOptions.maxGapMs. Default: max(10 s, 5 x intervalMs). */
  maxGapMs?: number;
  /** First retry delay after a failure; doubles per consecutive failure. Default intervalMs. */
  backoffInitialMs?: number;
  /** Longest retry delay. Default 30 s. */
  backoffMaxMs?: number;
  /** Consecutive failures before `reconnect` is called. Default 3. */
  reconnectAfter?: number;
  /** Replaces a source that keeps failing (optional: LibvirtStatsSource reconnects by itself). */
  reconnect?: (old: StatsSource) => Promise<StatsSource>;
  log?: Logger;
  /** Clock injection for tests. */
  now?: () => number;
}

export interface SamplerFailure {
  error: Error;
  consecutive: number;
  /** ms until the next attempt. */
  retryInMs: number;
}

export class Sampler {
  private readonly rates: DomainRates;
  private readonly batchListeners: Array<(b: RatesBatch) => void> = [];
  private readonly failureListeners: Array<(f: SamplerFailure) => void> = [];
  private readonly recoveryListeners: Array<() => void> = [];
  private readonly eventListeners: Array<(ev: DomainEvent) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private failures = 0;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private source: StatsSource, private readonly opts: SamplerOptions) {
    if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0) throw new RangeError(`intervalMs must be > 0, got ${opts.intervalMs}`);
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? Date.now;
    const rejectLog = this.log.child('rates');
    this.rates = new DomainRates({
      maxGapMs: opts.maxGapMs ?? Math.max(10_000, 5 * opts.intervalMs),
      onReject: (reason) => rejectLog.warn(reason),
    });
    this.attach(source);
  }

  /** Domain events of the source (and of any source that replaces it). */
  onEvent(fn: (ev: DomainEvent) => void): void {
    this.eventListeners.push(fn);
  }

  private attach(source: StatsSource): void {
    source.onEvent((ev) => {
      if (source !== this.source) return; // late event of a replaced source
      for (const fn of this.eventListeners) this.safe(() => fn(ev));
    });
  }

  onBatch(fn: (b: RatesBatch) => void): void {
    this.batchListeners.push(fn);
  }

  /** A collection failed (stats are unavailable until a later onRecovered). */
  onFailure(fn: (f: SamplerFailure) => void): void {
    this.failureListeners.push(fn);
  }

  /** The first successful collection after failures. */
  onRecovered(fn: () => void): void {
    this.recoveryListeners.push(fn);
  }

  get currentSource(): StatsSource {
    return this.source;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops scheduling and waits for a collection in flight. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /**
   * One collection now (used by the loop; callable directly when stopped, e.g. tests).
   * Resolves with the batch, or null when the collection failed (reported to onFailure).
   */
  async tick(): Promise<RatesBatch | null> {
    if (this.inFlight) throw new Error('a collection is already in flight');
    let result: RatesBatch | null = null;
    const run = (async () => {
      let raws: RawDomainStats[];
      try {
        raws = await this.source.collect();
        if (!Array.isArray(raws)) throw new Error('stats source returned a non-array');
      } catch (e) {
        await this.failed(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (this.failures > 0) {
        this.log.info(`stats collection recovered after ${this.failures} failure(s)`);
        this.failures = 0;
        for (const fn of this.recoveryListeners) this.safe(() => fn());
      }
      result = this.rates.convert(raws, this.now());
      for (const fn of this.batchListeners) this.safe(() => fn(result as RatesBatch));
    })();
    this.inFlight = run;
    try {
      await run;
    } finally {
      this.inFlight = null;
    }
    return result;
  }

  /** Delay before the next attempt after `consecutive` failures. */
  backoffMs(consecutive: number): number {
    const initial = this.opts.backoffInitialMs ?? this.opts.intervalMs;
    const max = this.opts.backoffMaxMs ?? 30_000;
    return Math.min(max, initial * 2 ** Math.max(0, consecutive - 1));
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => void this.loop(), Math.max(0, delayMs));
  }

  private async loop(): Promise<void> {
    this.timer = undefined;
    if (!this.running) return;
    const started = performance.now();
    await this.tick();
    if (!this.running) return;
    if (this.failures > 0) {
      this.schedule(this.backoffMs(this.failures));
      return;
    }
    const interval = this.opts.intervalMs;
    const elapsed = performance.now() - started;
    if (elapsed > interval) this.log.debug(`collection took ${Math.round(elapsed)} ms, longer than the ${interval} ms interval`);
    // Next slot on the grid that is still ahead: an overrun skips slots rather than bursting.
    this.schedule(interval - (elapsed % interval));
  }

  private async failed(error: Error): Promise<void> {
    this.failures++;
    const retryInMs = this.backoffMs(this.failures);
    this.log.warn(`stats collection failed (${this.failures} in a row, retry in ${retryInMs} ms): ${error.message}`);
    for (const fn of this.failureListeners) this.safe(() => fn({ error, consecutive: this.failures, retryInMs }));
    const after = this.opts.reconnectAfter ?? 3;
    if (this.opts.reconnect && this.failures % after === 0) {
      try {
        const old = this.source;
        const fresh = await this.opts.reconnect(old);
        if (fresh !== old) this.attach(fresh);
        this.source = fresh;
        this.log.info('stats source reconnected');
        if (old !== this.source) await old.close().catch(() => undefined);
      } catch (e) {
        this.log.warn(`stats source reconnect failed: ${(e as Error).message}`);
      }
    }
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error(`sampler listener failed: ${(e as Error).stack ?? String(e)}`);
    }
  }
}
