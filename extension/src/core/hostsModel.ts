// The hosts the extension knows, their connection state, and the live data of
// their domains, kept current from the agent's stream (samples.event,
// decision.event, domains.event) rather than by polling.
//
// Connection states: disconnected -> connecting -> connected; a connection
// lost while the user wants it -> reconnecting (exponential backoff with a cap
// on the delay, optional cap on attempts) -> connected again, or -> error.
// Reconnects are never interactive (no prompt loops) and stop at the first
// error retrying cannot fix: a refused key (no hammering an account into a
// lockout), a changed host key, an agent of another protocol version.
//
// The agent's own health (agent.status: store not writable, no libvirt
// stats) comes with the connection (status.subscribe) and then by
// status.event when it changes; an older agent without that method is asked
// agent.status once per connection.
//
// Change events are fine-grained: { hostId, domain } for one domain's row,
// { hostId } for a host row and its list of domains, {} for the host list.

import type { Duplex } from 'node:stream';
import { ErrorCodes, type AgentStatus, type DomainState, type DomainSummary, type NotificationParams, type ProtectionStatus, type Risk, type Sample } from '../../../host-agent/src/protocol/api';
import { RpcFailure } from '../../../host-agent/src/protocol/peer';
import { AgentClient, AgentProtocolError, type Hello } from './agentClient';
import type { ConnectionState, Disposable, DomainRef } from './contract';
import type { HostSpec } from './hostConfig';
import { HostKeyError } from './hostKeys';
import { silentLog, type CoreLog } from './log';
import { SshError } from './sshConnection';

/** A stream to one host's agent, as the connector opened it. */
export interface Transport {
  stream: Duplex;
  /** "SOCKET on HOST", for messages. */
  where: string;
}

export interface Connector {
  /** Opens a stream to the host's agent; `interactive` false: no prompt may be shown. */
  open(host: HostSpec, opts: { interactive: boolean }): Promise<Transport>;
  /** Closes whatever the connector keeps for the host (its SSH connection). */
  release(hostId: string): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** ± fraction of each delay, spread so that many windows do not retry in step. */
  jitter: number;
  /** 0: no limit. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.2, maxAttempts: 0 };

/** The delay before reconnect attempt `attempt` (0-based); `random` in [0, 1). */
export function backoffDelay(attempt: number, o: BackoffOptions, random: number): number {
  const base = Math.min(o.maxMs, o.initialMs * o.factor ** attempt);
  return Math.round(base * (1 + o.jitter * (2 * random - 1)));
}

export interface DomainView {
  hostId: string;
  name: string;
  uuid: string;
  state: DomainState;
  latest: Sample | null;
  risk: Risk | null;
  protection: ProtectionStatus | null;
  hasModel: boolean;
}

export interface HostView {
  id: string;
  spec: HostSpec;
  state: ConnectionState;
  /** Why the host is in state error/reconnecting. */
  error?: string;
  /** When the next reconnect attempt is due (state reconnecting). */
  nextRetryAt?: number;
  /** Reconnect attempts made since the connection was lost. */
  attempts: number;
  hello?: Hello;
  /** What the connected agent reports about its own health (absent: not known, e.g. an agent without agent.status). */
  status?: AgentStatus;
}

export interface ModelChange {
  hostId?: string;
  domain?: string;
}

export interface HostsModelOptions {
  connector: Connector;
  /** Sent in agent.hello. */
  clientName: string;
  log?: CoreLog;
  clock?: Clock;
  backoff?: Partial<BackoffOptions>;
  random?: () => number;
}

interface HostRecord {
  spec: HostSpec;
  client: AgentClient;
  state: ConnectionState;
  error?: string;
  attempts: number;
  timer?: unknown;
  relistTimer?: unknown;
  nextRetryAt?: number;
  hello?: Hello;
  status?: AgentStatus;
  /** status.event notifications received: one that overtakes the status.subscribe answer wins. */
  statusEvents: number;
  domains: Map<string, DomainView>;
  /** The user wants this host connected (reconnect when lost). */
  wanted: boolean;
  inflight?: Promise<AgentClient>;
  /** Our own samples subscription (the client keeps it across reconnects). */
  subscription?: string;
  /** Bumped by disconnect(): late results of an older attempt are dropped. */
  generation: number;
  listeners: Disposable[];
}

/** The agent's problems as one line for the log ('' when healthy). */
function agentHealthKey(s: AgentStatus | undefined): string {
  if (!s) return '';
  return [s.store.writable ? '' : `store not writable (${s.store.error ?? 'no reason given'})`, s.stats.available ? '' : `no libvirt stats (${s.stats.error ?? 'no reason given'})`].filter(Boolean).join(', ');
}

/** Retrying cannot fix these; some (auth) could lock an account if retried. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof SshError) return e.retryable;
  if (e instanceof AgentProtocolError || e instanceof HostKeyError) return false;
  return true;
}

export class HostsModel {
  private readonly records = new Map<string, HostRecord>();
  private readonly listeners = new Set<(c: ModelChange) => void>();
  private readonly log: CoreLog;
  private readonly clock: Clock;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private disposed = false;

  constructor(private readonly opts: HostsModelOptions) {
    this.log = opts.log ?? silentLog;
    this.clock = opts.clock ?? systemClock;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.random = opts.random ?? Math.random;
  }

  onDidChange(fn: (c: ModelChange) => void): Disposable {
    this.listeners.add(fn);
    return { dispose: () => void this.listeners.delete(fn) };
  }

  /** Replaces the configured hosts: new ones are added, gone ones disconnected, kept ones get the new spec. */
  setHosts(specs: HostSpec[]): void {
    const ids = new Set(specs.map((s) => s.id));
    for (const [id, rec] of this.records) {
      if (ids.has(id)) continue;
      this.disconnect(id);
      rec.listeners.forEach((d) => d.dispose());
      this.records.delete(id);
    }
    for (const spec of specs) {
      const rec = this.records.get(spec.id);
      if (rec) rec.spec = spec;
      else this.records.set(spec.id, this.createRecord(spec));
    }
    this.emit({});
  }

  hosts(): HostView[] {
    return [...this.records.values()].map((r) => this.view(r));
  }

  host(id: string): HostView | undefined {
    const r = this.records.get(id);
    return r && this.view(r);
  }

  domains(hostId: string): DomainView[] {
    return [...(this.records.get(hostId)?.domains.values() ?? [])];
  }

  domain(ref: DomainRef): DomainView | undefined {
    return this.records.get(ref.hostId)?.domains.get(ref.domain);
  }

  /** The host's stable AgentApi (connected or not). */
  api(hostId: string): AgentClient {
    const r = this.records.get(hostId);
    if (!r) throw new Error(`no host named "${hostId}" is configured`);
    return r.client;
  }

  /** Connects (or returns the connected client); rejects with the reason it could not. */
  connect(hostId: string, opts: { interactive?: boolean } = {}): Promise<AgentClient> {
    const rec = this.records.get(hostId);
    if (!rec) return Promise.reject(new Error(`no host named "${hostId}" is configured`));
    if (rec.state === 'connected' && rec.client.connected) return Promise.resolve(rec.client);
    if (rec.inflight) return rec.inflight;
    this.cancelRetry(rec);
    rec.wanted = true;
    rec.attempts = 0;
    this.setState(rec, 'connecting', undefined);
    const gen = rec.generation;
    const p = this.establish(rec, opts.interactive ?? true).then(
      (client) => {
        if (rec.generation === gen) rec.inflight = undefined;
        return client;
      },
      (e: Error) => {
        if (rec.generation === gen) {
          rec.inflight = undefined;
          rec.wanted = false;
          this.opts.connector.release(rec.spec.id);
          this.setState(rec, 'error', e.message);
        }
        throw e;
      },
    );
    rec.inflight = p;
    return p;
  }

  disconnect(hostId: string): void {
    const rec = this.records.get(hostId);
    if (!rec) return;
    rec.generation++;
    rec.wanted = false;
    rec.inflight = undefined;
    this.cancelRetry(rec);
    this.clock.clearTimeout(rec.relistTimer);
    rec.client.detach();
    this.opts.connector.release(hostId);
    rec.domains.clear();
    rec.hello = undefined;
    rec.status = undefined;
    this.setState(rec, 'disconnected', undefined);
  }

  /** Lists the domains of a connected host again. */
  async refresh(hostId: string): Promise<void> {
    const rec = this.records.get(hostId);
    if (!rec || !rec.client.connected) return;
    this.replaceDomains(rec, await rec.client.call('domains.list', {}));
  }

  /** The domain with the highest current risk over connected hosts. */
  highestRisk(): DomainView | undefined {
    let best: DomainView | undefined;
    for (const r of this.records.values()) {
      if (r.state !== 'connected' && r.state !== 'reconnecting') continue;
      for (const d of r.domains.values()) if (d.risk && (!best || d.risk.next > (best.risk?.next ?? -1))) best = d;
    }
    return best;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const id of [...this.records.keys()]) this.disconnect(id);
    for (const r of this.records.values()) r.listeners.forEach((d) => d.dispose());
    this.records.clear();
    this.listeners.clear();
  }

  // ---- connection ---------------------------------------------------------------------

  private createRecord(spec: HostSpec): HostRecord {
    const client = new AgentClient(spec.id, { clientName: this.opts.clientName, log: this.log });
    const rec: HostRecord = { spec, client, state: 'disconnected', attempts: 0, statusEvents: 0, domains: new Map(), wanted: false, generation: 0, listeners: [] };
    rec.listeners.push(
      client.on('samples.event', (p) => this.onSample(rec, p)),
      client.on('decision.event', (p) => this.onDecision(rec, p)),
      client.on('domains.event', (p) => this.onDomainEvent(rec, p)),
      client.on('status.event', (p) => this.onStatus(rec, p.status)),
      client.onLost((err) => this.onLost(rec, err)),
    );
    return rec;
  }

  /** Connector -> hello -> our subscription -> domain list. */
  private async establish(rec: HostRecord, interactive: boolean): Promise<AgentClient> {
    const gen = rec.generation;
    const stale = () => gen !== rec.generation;
    const t = await this.opts.connector.open(rec.spec, { interactive });
    if (stale()) {
      t.stream.destroy();
      throw new Error(`${rec.spec.id}: disconnected while connecting`);
    }
    const hello = await rec.client.attach(t.stream, t.where);
    if (!rec.subscription) rec.subscription = (await rec.client.call('samples.subscribe', {})).subscription;
    const list = await rec.client.call('domains.list', {});
    const status = await this.watchStatus(rec);
    if (stale()) {
      rec.client.detach();
      throw new Error(`${rec.spec.id}: disconnected while connecting`);
    }
    rec.hello = hello;
    rec.status = status;
    rec.attempts = 0;
    rec.nextRetryAt = undefined;
    this.replaceDomains(rec, list, false);
    this.log.info(`${rec.spec.id}: agent ${hello.agentVersion} on ${hello.hostname} (backend ${hello.backend}), ${list.length} domain(s)`);
    this.setState(rec, 'connected', undefined);
    return rec.client;
  }

  /** The agent's health now, and status.event from now on; undefined when the agent cannot say. */
  private async watchStatus(rec: HostRecord): Promise<AgentStatus | undefined> {
    const notFound = (e: unknown) => e instanceof RpcFailure && (e.code === ErrorCodes.MethodNotFound || e.code === ErrorCodes.NotFound);
    const events = rec.statusEvents;
    try {
      const now = await rec.client.call('status.subscribe', {});
      return rec.statusEvents === events ? now : rec.status;
    } catch (e) {
      if (!notFound(e)) throw e;
    }
    try {
      return await rec.client.call('agent.status', {}); // an agent from before status.subscribe: once, no updates
    } catch (e) {
      if (!notFound(e)) throw e;
      this.log.info(`${rec.spec.id}: the agent does not report its health (agent.status)`);
      return undefined;
    }
  }

  private onStatus(rec: HostRecord, status: AgentStatus): void {
    const was = agentHealthKey(rec.status);
    rec.status = status;
    rec.statusEvents++;
    const now = agentHealthKey(status);
    if (now !== was) this.log[now ? 'warn' : 'info'](`${rec.spec.id}: agent ${now ? `degraded: ${now}` : 'healthy again'}`);
    this.emit({ hostId: rec.spec.id });
  }

  private onLost(rec: HostRecord, err: Error): void {
    if (!rec.wanted || this.disposed) return;
    this.log.warn(`${rec.spec.id}: ${err.message}; reconnecting`);
    rec.attempts = 0;
    this.scheduleRetry(rec, err.message);
  }

  private scheduleRetry(rec: HostRecord, why: string): void {
    const max = this.backoff.maxAttempts;
    if (max > 0 && rec.attempts >= max) {
      this.giveUp(rec, `gave up reconnecting after ${rec.attempts} attempt(s): ${why}`);
      return;
    }
    const delay = backoffDelay(rec.attempts, this.backoff, this.random());
    rec.nextRetryAt = this.clock.now() + delay;
    const gen = rec.generation;
    rec.timer = this.clock.setTimeout(() => void this.retry(rec, gen), delay);
    this.setState(rec, 'reconnecting', why);
  }

  private async retry(rec: HostRecord, gen: number): Promise<void> {
    rec.timer = undefined;
    if (gen !== rec.generation || !rec.wanted) return;
    const attempt = ++rec.attempts;
    const p = this.establish(rec, false);
    rec.inflight = p;
    try {
      await p;
      this.log.info(`${rec.spec.id}: reconnected (attempt ${attempt})`);
    } catch (e) {
      if (gen !== rec.generation) return;
      rec.inflight = undefined;
      const msg = (e as Error).message;
      if (!isRetryable(e)) {
        this.giveUp(rec, msg);
        return;
      }
      this.log.warn(`${rec.spec.id}: reconnect attempt ${attempt} failed: ${msg}`);
      this.scheduleRetry(rec, msg);
    } finally {
      if (gen === rec.generation && rec.inflight === p) rec.inflight = undefined;
    }
  }

  private giveUp(rec: HostRecord, why: string): void {
    this.log.error(`${rec.spec.id}: ${why}`);
    rec.wanted = false;
    rec.nextRetryAt = undefined;
    this.opts.connector.release(rec.spec.id);
    this.setState(rec, 'error', why);
  }

  private cancelRetry(rec: HostRecord): void {
    if (rec.timer !== undefined) this.clock.clearTimeout(rec.timer);
    rec.timer = undefined;
    rec.nextRetryAt = undefined;
  }

  private setState(rec: HostRecord, state: ConnectionState, error: string | undefined): void {
    rec.state = state;
    rec.error = error;
    rec.client.setState(state);
    this.emit({ hostId: rec.spec.id });
  }

  // ---- live data ----------------------------------------------------------------------

  private replaceDomains(rec: HostRecord, list: DomainSummary[], announce = true): void {
    rec.domains.clear();
    for (const d of list) {
      rec.domains.set(d.name, {
        hostId: rec.spec.id, name: d.name, uuid: d.uuid, state: d.state, latest: d.latest, risk: d.risk, protection: d.protection, hasModel: d.hasModel,
      });
    }
    if (announce) this.emit({ hostId: rec.spec.id });
  }

  private onSample(rec: HostRecord, p: NotificationParams<'samples.event'>): void {
    if (p.subscription !== rec.subscription) return;
    const name = p.sample.domain;
    let d = rec.domains.get(name);
    const isNew = !d;
    if (!d) {
      d = { hostId: rec.spec.id, name, uuid: '', state: p.sample.state, latest: null, risk: null, protection: null, hasModel: false };
      rec.domains.set(name, d);
      this.scheduleRelist(rec); // fetch its uuid and model flag
    }
    d.latest = p.sample;
    d.state = p.sample.state;
    d.risk = p.risk;
    d.protection = p.protection;
    if (p.risk?.modelVersion) d.hasModel = true;
    this.emit(isNew ? { hostId: rec.spec.id } : { hostId: rec.spec.id, domain: name });
  }

  private onDecision(rec: HostRecord, p: NotificationParams<'decision.event'>): void {
    if (p.subscription !== rec.subscription) return;
    const dec = p.decision;
    const d = rec.domains.get(dec.domain);
    if (!d || !dec.applied) return;
    const prev = d.protection;
    const mode = dec.kind === 'override' ? 'pinned' : dec.kind === 'resume' || dec.kind === 'auto' ? 'auto' : dec.kind === 'failsafe' ? 'failsafe' : prev?.mode ?? 'auto';
    d.protection = {
      mode,
      intervalMs: dec.newIntervalMs,
      pinnedUntil: mode === 'pinned' ? prev?.pinnedUntil ?? null : null,
      backend: prev?.backend ?? rec.hello?.backend ?? '',
      reason: dec.reason,
    };
    this.emit({ hostId: rec.spec.id, domain: d.name });
  }

  private onDomainEvent(rec: HostRecord, p: NotificationParams<'domains.event'>): void {
    if (p.subscription !== rec.subscription) return;
    const d = rec.domains.get(p.domain);
    switch (p.event) {
      case 'vanished':
        if (rec.domains.delete(p.domain)) this.emit({ hostId: rec.spec.id });
        return;
      case 'appeared':
        this.scheduleRelist(rec);
        return;
      case 'started':
      case 'stopped':
      case 'crashed': {
        if (!d) return this.scheduleRelist(rec);
        d.state = p.event === 'started' ? 'running' : p.event === 'stopped' ? 'shutoff' : 'crashed';
        this.emit({ hostId: rec.spec.id, domain: d.name });
        return;
      }
      default:
        return;
    }
  }

  /** Several appearances in a row cost one domains.list. */
  private scheduleRelist(rec: HostRecord): void {
    if (rec.relistTimer !== undefined) return;
    rec.relistTimer = this.clock.setTimeout(() => {
      rec.relistTimer = undefined;
      this.refresh(rec.spec.id).catch((e: Error) => this.log.warn(`${rec.spec.id}: cannot list domains: ${e.message}`));
    }, 250);
  }

  private view(r: HostRecord): HostView {
    return {
      id: r.spec.id, spec: r.spec, state: r.state, attempts: r.attempts,
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.nextRetryAt !== undefined ? { nextRetryAt: r.nextRetryAt } : {}),
      ...(r.hello ? { hello: r.hello } : {}),
      ...(r.status ? { status: r.status } : {}),
    };
  }

  private emit(c: ModelChange): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(c);
      } catch (e) {
        this.log.error(`a model listener failed: ${(e as Error).message}`);
      }
    }
  }
}
