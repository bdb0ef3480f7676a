// The agent daemon: config -> StatsSource -> Sampler -> (RiskPredictor per
// domain) -> ProtectionService -> Store + AgentServer broadcast.
//
// Seams (constructor dependencies) for modules other parts of Hefery own:
//   predictorFor  host-agent/src/predictor/  RiskPredictor per domain (absent: risk null)
//   protection    host-agent/src/policy/ + backends/  (absent: domains unprotected)
//   training      host-agent/src/training/  (absent: model.* answer NotFound)
// cli/serve.ts is where they are wired.
//
// Safety: the daemon never invents risk. A predictor error, a domain without
// model or missing data gives risk null, and a failing stats collection is
// reported to the protection service (statsUnavailable), which must then fall
// back to the shortest configured interval. So is a store that cannot write
// (storeUnavailable, until a write succeeds again); both show in agent.status.

import { closeSync, openSync, readFileSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { AgentConfig } from './config';
import type { DomainEvent, StatsSource } from './libvirt/types';
import type { LogRing, Logger } from './log';
import { processAlive } from './processes';
import type { DecisionSink, NewDecision } from './policy/types';
import type { RiskPredictor } from './predictor/types';
import { Risk, type AgentStatus, type Decision, type DomainState, type DomainSummary, type ProtectionStatus, type Sample } from './protocol/api';
import type { PeerCredentialsReader } from './rpc/peer-access';
import { AgentServer, type DomainEventName } from './rpc/server';
import type { ProtectionService, TrainingService } from './rpc/services';
import type { RatesBatch } from './sampler/domain-rates';
import { Sampler } from './sampler/sampler';
import { Store, type SampleRow } from './store/store';

export const AGENT_VERSION = '0.1.0';

export interface ProtectionContext {
  /** The config's opaque `policy` section (the policy module validates it). */
  policy: unknown;
  /** The config's opaque `backend` section. */
  backend: unknown;
  /** Records a decision in the audit log and broadcasts it as decision.event. */
  sink: DecisionSink;
  log: Logger;
}

export interface TrainingContext {
  store: Store;
  modelDir: string;
  log: Logger;
  /** Call after a domain's model changed: the daemon asks predictorFor(domain) again. */
  modelChanged(domain: string): void;
}

export interface DaemonDeps {
  log: Logger;
  /** Opens the stats source. Production: LibvirtStatsSource.open(config.libvirt.uri). */
  openSource: (config: AgentConfig) => Promise<StatsSource>;
  /** SEAM (predictor module): a predictor for `domain`, null when it has no model. */
  predictorFor?: (domain: string) => RiskPredictor | null;
  /** SEAM (policy + backends). */
  protection?: (ctx: ProtectionContext) => ProtectionService | Promise<ProtectionService>;
  /** SEAM (training module). */
  training?: (ctx: TrainingContext) => TrainingService | Promise<TrainingService>;
  /** Time allowed to protection.shutdown() at stop. Default 10 s. */
  shutdownTimeoutMs?: number;
  /** SO_PEERCRED reader for the server's own access check (production: the native addon's). Absent: file mode only. */
  peerCredentials?: PeerCredentialsReader;
  /** The recent log lines served by agent.log (serve.ts tees the logger into it). */
  logRing?: LogRing;
}

interface DomainEntry {
  name: string;
  uuid: string;
  state: DomainState;
  latest: Sample | null;
  risk: Risk | null;
  predictor: RiskPredictor | null;
}

const PROTOCOL_EVENTS: ReadonlySet<string> = new Set(['started', 'stopped', 'crashed', 'watchdog', 'io-error', 'reconnected', 'disconnected']);
const INCIDENT_OF: Partial<Record<DomainEvent['kind'], 'abnormal' | 'failed'>> = { crashed: 'failed', watchdog: 'failed', 'io-error': 'abnormal' };

export class Daemon {
  private readonly domains = new Map<string, DomainEntry>();
  private stopping: Promise<void> | null = null;
  private statsDown: { error: string; since: number } | null = null;
  private storeDown: { error: string; since: number; failedWrites: number } | null = null;

  private constructor(
    readonly config: AgentConfig,
    private readonly deps: DaemonDeps,
    private readonly log: Logger,
    readonly store: Store,
    private readonly source: StatsSource,
    readonly sampler: Sampler,
    readonly server: AgentServer,
    readonly protection: ProtectionService | null,
    readonly training: TrainingService | null,
    private readonly pidFile: string | null,
  ) {}

  /** Starts everything; on failure stops what was started and rethrows with the reason. */
  static async start(config: AgentConfig, deps: DaemonDeps): Promise<Daemon> {
    const log = deps.log;
    const cleanups: Array<() => void | Promise<void>> = [];
    const undo = async () => {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (e) {
          log.warn(`cleanup after failed start: ${(e as Error).message}`);
        }
      }
    };
    try {
      if (config.pidFile) {
        acquirePidFile(config.pidFile);
        const pf = config.pidFile;
        cleanups.push(() => releasePidFile(pf));
      }
      const r = config.store.retention;
      let daemonRef: Daemon | null = null;
      const store = Store.open({
        path: config.store.path,
        retention: {
          days: r.days ?? undefined,
          maxRowsPerDomain: r.maxRowsPerDomain ?? undefined,
          decisionDays: r.decisionDays ?? undefined,
        },
        log: log.child('store'),
        onWriteError: (err, what) => daemonRef?.onStoreWriteError(err, what),
      });
      cleanups.push(() => store.close());
      log.info(`store ${config.store.path} open (journal ${store.journalMode})`);

      const source = await deps.openSource(config);
      cleanups.push(() => source.close());
      log.info(`stats source ${config.libvirt.uri} open`);

      // The sink needs the server for broadcasting; the server needs the services. Bind late.
      let server: AgentServer | null = null;
      const sink: DecisionSink = {
        record(d: NewDecision): Decision {
          const saved = store.record(d);
          server?.publishDecision(saved);
          return saved;
        },
      };
      const protection = deps.protection
        ? await deps.protection({ policy: config.policy, backend: config.backend, sink, log: log.child('protection') })
        : null;
      if (protection) cleanups.push(() => protection.shutdown());
      else log.warn('no protection service wired: domains are observed only, replication is not controlled');

      const training = deps.training
        ? await deps.training({ store, modelDir: config.modelDir, log: log.child('training'), modelChanged: (d) => daemonRef?.reloadPredictor(d) })
        : null;

      const sampler = new Sampler(source, {
        intervalMs: config.sampling.intervalMs,
        maxGapMs: config.sampling.maxGapMs ?? undefined,
        log: log.child('sampler'),
      });
      const directory = { list: (): DomainSummary[] => daemonRef?.list() ?? [] };
      server = new AgentServer({
        socketPath: config.socket.path,
        group: config.socket.group,
        maxConnections: config.socket.maxConnections,
        maxSubscriptionsPerConnection: config.socket.maxSubscriptionsPerConnection,
        maxQueuedBytes: config.socket.maxQueuedBytes,
        info: () => ({ agentVersion: AGENT_VERSION, hostname: hostname().slice(0, 255), backend: protection?.backend ?? 'none' }),
        domains: directory,
        store,
        training: training ?? undefined,
        protection: protection ?? undefined,
        status: () => daemonRef?.status() ?? { store: { writable: true, failedWrites: 0 }, stats: { available: true } },
        logRing: deps.logRing,
        peerCredentials: deps.peerCredentials,
        log: log.child('rpc'),
      });
      const d = new Daemon(config, deps, log, store, source, sampler, server, protection, training, config.pidFile);
      daemonRef = d;
      sampler.onBatch((b) => d.onBatch(b));
      sampler.onFailure((f) => d.onStatsFailure(f.error));
      sampler.onRecovered(() => {
        d.statsDown = null;
        d.publishStatus();
      });
      sampler.onEvent((ev) => d.onDomainEvent(ev));
      await server.listen();
      const srv = server;
      cleanups.push(() => srv.close());
      store.startPruning(config.store.pruneIntervalMs);
      sampler.start();
      log.info(`hefery-agent ${AGENT_VERSION} running (pid ${process.pid}, sampling every ${config.sampling.intervalMs} ms)`);
      return d;
    } catch (e) {
      await undo();
      throw e;
    }
  }

  /** DomainSummary of every domain currently listed by libvirt. */
  list(): DomainSummary[] {
    const out: DomainSummary[] = [];
    for (const e of this.domains.values()) {
      out.push({
        name: e.name,
        uuid: e.uuid,
        state: e.state,
        latest: e.latest,
        risk: e.risk,
        protection: this.safe(() => this.protection?.status(e.name) ?? null, null, `protection status of ${e.name}`),
        hasModel: e.predictor !== null,
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** What the agent cannot do right now (agent.status). */
  status(): AgentStatus {
    const st = this.storeDown;
    const sd = this.statsDown;
    return {
      store: st ? { writable: false, error: st.error.slice(0, 2000), since: st.since, failedWrites: st.failedWrites } : { writable: true, failedWrites: 0 },
      stats: sd ? { available: false, error: sd.error.slice(0, 2000), since: sd.since } : { available: true },
    };
  }

  /** Tells the clients watching the agent's health (status.subscribe) that it changed. */
  private publishStatus(): void {
    this.safe(() => this.server.publishStatus(this.status()), undefined, 'status.event');
  }

  /** Asks the predictor factory again for `domain` (after its model changed). */
  reloadPredictor(domain: string): void {
    const e = this.domains.get(domain);
    if (!e) return;
    e.predictor = this.makePredictor(domain);
    e.risk = null;
    this.log.info(`${domain}: predictor ${e.predictor ? 'reloaded' : 'removed (no model)'}`);
  }

  /** Graceful stop: sampler, protection (safest state), server, store, source, pid file. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.log.info('stopping');
    await this.step('sampler', () => this.sampler.stop());
    if (this.protection) {
      const p = this.protection;
      const ms = this.deps.shutdownTimeoutMs ?? 10_000;
      await this.step('protection shutdown', () => withTimeout(p.shutdown(), ms, `protection service did not shut down within ${ms} ms`));
    }
    await this.step('server', () => this.server.close());
    await this.step('store', () => this.store.close());
    await this.step('stats source', () => this.source.close());
    if (this.pidFile) releasePidFile(this.pidFile);
    this.log.info('stopped');
  }

  private async step(what: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.log.error(`stopping ${what} failed: ${(e as Error).message}`);
    }
  }

  // ---- pipeline -----------------------------------------------------------------------

  private onBatch(b: RatesBatch): void {
    for (const name of b.appeared) {
      const ds = b.samples.find((s) => s.sample.domain === name);
      this.domains.set(name, { name, uuid: ds?.uuid ?? '', state: ds?.sample.state ?? 'nostate', latest: null, risk: null, predictor: this.makePredictor(name) });
      this.log.info(`domain ${name} appeared`);
      this.emitDomainEvent(name, 'appeared', b.ts, '');
    }
    const rows: SampleRow[] = [];
    const live: Array<{ sample: Sample; risk: Risk | null; status: ProtectionStatus | null }> = [];
    for (const { sample, uuid, reset } of b.samples) {
      const e = this.domains.get(sample.domain);
      if (!e) continue;
      e.uuid = uuid;
      e.state = sample.state;
      e.latest = sample;
      let risk: Risk | null = null;
      if (sample.state !== 'vanished' && e.predictor) {
        const pred = e.predictor;
        if (reset) this.safe(() => pred.reset(), undefined, `predictor reset of ${sample.domain}`);
        risk = this.safe(() => validRisk(pred.observe(sample)), null, `predictor of ${sample.domain}`);
      }
      e.risk = risk;
      if (this.protection) {
        const p = this.protection;
        this.safeAsync(() => p.observe(sample, risk), `protection observe of ${sample.domain}`);
      }
      rows.push({ sample, risk: risk?.next ?? null });
      const status = this.safe(() => this.protection?.status(sample.domain) ?? null, null, `protection status of ${sample.domain}`);
      live.push({ sample, risk, status });
    }
    // Stored before it is published: a sample a client has seen is in the
    // history, also when the agent is killed right after (history backfill
    // and live stream never disagree after a crash).
    const stored = this.store.insertSamples(rows);
    if (stored && rows.length > 0 && this.storeDown) this.onStoreRecovered();
    for (const l of live) this.server.publishSample(l.sample, l.risk, l.status);
    for (const name of b.vanished) {
      this.domains.delete(name);
      this.log.info(`domain ${name} vanished`);
      this.emitDomainEvent(name, 'vanished', b.ts, '');
    }
  }

  /** A write failed (disk full, I/O error): the first one of a run puts protection in fail-safe. */
  private onStoreWriteError(err: Error, what: string): void {
    if (this.storeDown) {
      this.storeDown.failedWrites++;
      return;
    }
    this.storeDown = { error: err.message, since: Date.now(), failedWrites: 1 };
    this.publishStatus();
    this.log.error(`store cannot write (${what}): ${err.message}; history is not being kept and every protected domain is held at its safe interval until writes succeed again`);
    if (this.protection?.storeUnavailable) {
      const p = this.protection;
      this.safeAsync(() => p.storeUnavailable!(err.message), 'protection storeUnavailable');
    }
  }

  private onStoreRecovered(): void {
    const down = this.storeDown!;
    this.storeDown = null;
    this.publishStatus();
    this.log.info(`store writable again after ${down.failedWrites} failed write(s) in ${((Date.now() - down.since) / 1000).toFixed(1)} s (the samples of that time are not in the history)`);
    if (this.protection?.storeUnavailable) {
      const p = this.protection;
      this.safeAsync(() => p.storeUnavailable!(null), 'protection storeUnavailable');
    }
  }

  private onStatsFailure(err: Error): void {
    if (!this.statsDown) {
      this.log.warn(`stats unavailable: ${err.message}`);
      this.statsDown = { error: err.message, since: Date.now() };
      this.publishStatus();
    }
    for (const e of this.domains.values()) e.risk = null;
    if (this.protection) {
      const p = this.protection;
      this.safeAsync(() => p.statsUnavailable(err.message), 'protection statsUnavailable');
    }
  }

  private onDomainEvent(ev: DomainEvent): void {
    this.log.info(`libvirt event: ${ev.kind} ${ev.domain || '(connection)'} ${ev.detail}`);
    if (this.protection?.onDomainEvent) {
      const p = this.protection;
      this.safeAsync(() => p.onDomainEvent!(ev), `protection onDomainEvent ${ev.kind}`);
    }
    if (ev.domain === '') {
      // Connection-level: tell the subscribers of every known domain.
      this.store.insertEvent({ domain: '', ts: ev.ts, kind: ev.kind, detail: ev.detail });
      if (PROTOCOL_EVENTS.has(ev.kind)) for (const name of this.domains.keys()) this.server.publishDomainEvent(name, ev.kind as DomainEventName, ev.ts);
      return;
    }
    const health = INCIDENT_OF[ev.kind];
    if (health) {
      try {
        this.store.markIncident({ domain: ev.domain, from: Math.round(ev.ts), to: Math.round(ev.ts), health, note: `${ev.kind}: ${ev.detail}`.slice(0, 500), source: 'event' });
      } catch {
        // reported by the store
      }
    }
    this.emitDomainEvent(ev.domain, PROTOCOL_EVENTS.has(ev.kind) ? (ev.kind as DomainEventName) : null, ev.ts, ev.detail, ev.kind);
  }

  private emitDomainEvent(domain: string, event: DomainEventName | null, ts: number, detail: string, kind: string = event ?? ''): void {
    this.store.insertEvent({ domain, ts, kind, detail });
    if (event) this.server.publishDomainEvent(domain, event, ts);
  }

  private makePredictor(domain: string): RiskPredictor | null {
    const f = this.deps.predictorFor;
    if (!f) return null;
    return this.safe(() => f(domain), null, `predictor factory for ${domain}`);
  }

  private safe<T>(fn: () => T, fallback: T, what: string): T {
    try {
      return fn();
    } catch (e) {
      this.log.error(`${what} failed: ${(e as Error).message}`);
      return fallback;
    }
  }

  private safeAsync(fn: () => void | Promise<void>, what: string): void {
    try {
      const r = fn();
      if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch((e: unknown) => this.log.error(`${what} failed: ${(e as Error)?.message ?? String(e)}`));
    } catch (e) {
      this.log.error(`${what} failed: ${(e as Error).message}`);
    }
  }
}

/**
 * A predictor's answer as the wire and the policy must see it: a Risk that
 * fails the protocol's schema (NaN, outside 0..1, a bad label) throws, so the
 * caller logs why and uses null (unsure: safe interval) instead of passing
 * NaN on (the policy would treat it as "between the thresholds", a client
 * would drop the whole sample).
 */
function validRisk(r: Risk | null): Risk | null {
  return r === null ? null : Risk.parse(r, 'risk');
}

// ---- pid file -------------------------------------------------------------------------

export class PidFileError extends Error {}

/** Writes our pid to `path`; refuses when a live process owns it, replaces a stale one. */
export function acquirePidFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new PidFileError(`cannot write pid file ${path}: ${(e as Error).message}`);
    }
    const other = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(other) && other > 0 && other !== process.pid && processAlive(other)) {
      throw new PidFileError(`another hefery-agent (pid ${other}) is running: pid file ${path}`);
    }
    unlinkSync(path); // stale
  }
  throw new PidFileError(`cannot take pid file ${path}`);
}

export function releasePidFile(path: string): void {
  try {
    if (Number(readFileSync(path, 'utf8').trim()) === process.pid) unlinkSync(path);
  } catch {
    // gone already
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then((v) => {
      clearTimeout(t);
      resolve(v);
    }, (e: unknown) => {
      clearTimeout(t);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}

/** SIGTERM/SIGINT -> graceful stop, then `onStopped(code)`. A second signal exits the process at once (code 1). */
export function stopOnSignals(daemon: Daemon, log: Logger, onStopped: (code: number) => void): void {
  let signalled = false;
  const handler = (sig: NodeJS.Signals) => {
    if (signalled) {
      log.warn(`${sig} again: exiting without finishing the shutdown`);
      process.exit(1);
    }
    signalled = true;
    log.info(`${sig} received`);
    daemon.stop().then(() => onStopped(0), (e: unknown) => {
      log.error(`shutdown failed: ${(e as Error)?.message ?? String(e)}`);
      onStopped(1);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
