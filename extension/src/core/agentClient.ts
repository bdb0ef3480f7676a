// The AgentApi of one host: a stable object the tree, the commands and the
// panels keep, while the connection under it comes and goes. Each time the
// hosts model brings a new stream (the SSH channel to the agent's socket),
// `attach` says hello (refusing an agent of another protocol version) and
// re-creates every subscription the callers made. Callers see stable
// subscription ids: notifications are relabelled from the agent's current id
// to the caller's, so a reconnect is invisible to them apart from the state.

import type { Duplex } from 'node:stream';
import {
  ErrorCodes, PROTOCOL_VERSION, type MethodName, type NotificationName, type NotificationParams, type Params, type Result,
} from '../../../host-agent/src/protocol/api';
import { RpcFailure, RpcPeer } from '../../../host-agent/src/protocol/peer';
import type { AgentApi, ConnectionState, Disposable } from './contract';
import { silentLog, type CoreLog } from './log';

export type Hello = Result<'agent.hello'>;

/** The program behind the socket is no agent we can talk to; retrying cannot help. */
export class AgentProtocolError extends Error {
  constructor(readonly kind: 'incompatible' | 'not-an-agent' | 'forbidden', message: string) {
    super(message);
    this.name = 'AgentProtocolError';
  }
}

export interface AgentClientOptions {
  /** Sent in agent.hello, e.g. "vscode-hefery/0.1.0". */
  clientName: string;
  log?: CoreLog;
  callTimeoutMs?: number;
  /** The protocol version we speak (tests speak another one to see a refusal). */
  protocolVersion?: number;
}

interface TrackedSubscription {
  params: Params<'samples.subscribe'>;
  /** The agent's id on the current connection; null while disconnected. */
  agentId: string | null;
}

type SubscribedNotification = 'samples.event' | 'domains.event' | 'decision.event';
const SUBSCRIBED: ReadonlySet<NotificationName> = new Set<NotificationName>(['samples.event', 'domains.event', 'decision.event']);

export class AgentClient implements AgentApi {
  private peer: RpcPeer | null = null;
  private _state: ConnectionState = 'disconnected';
  private nextSub = 1;
  private readonly subs = new Map<string, TrackedSubscription>();
  private readonly byAgentId = new Map<string, string>();
  private readonly handlers = new Map<NotificationName, Set<(p: never) => void>>();
  private readonly stateHandlers = new Set<(s: ConnectionState) => void>();
  private readonly lostHandlers = new Set<(err: Error) => void>();
  private readonly log: CoreLog;
  /** A message the agent sent without an id before closing (e.g. "too many connections"). */
  private peerReport: string | undefined;

  constructor(readonly hostId: string, private readonly opts: AgentClientOptions) {
    this.log = opts.log ?? silentLog;
  }

  get state(): ConnectionState {
    return this._state;
  }

  get connected(): boolean {
    return this.peer !== null && !this.peer.isClosed;
  }

  /** Set by the hosts model (connecting, reconnecting, error, ...). */
  setState(s: ConnectionState): void {
    if (s === this._state) return;
    this._state = s;
    for (const h of [...this.stateHandlers]) safe(() => h(s), this.log);
  }

  onDidChangeState(handler: (state: ConnectionState) => void): Disposable {
    this.stateHandlers.add(handler);
    return { dispose: () => void this.stateHandlers.delete(handler) };
  }

  /** The attached stream closed (not by detach()). */
  onLost(handler: (err: Error) => void): Disposable {
    this.lostHandlers.add(handler);
    return { dispose: () => void this.lostHandlers.delete(handler) };
  }

  /**
   * Talks to the agent over `stream`: hello (version check), then every
   * tracked subscription again. `where` names socket and host in errors.
   * On failure the stream is closed and the error thrown.
   */
  async attach(stream: Duplex, where: string): Promise<Hello> {
    this.detach();
    this.peerReport = undefined;
    const peer = new RpcPeer(stream, {
      callTimeoutMs: this.opts.callTimeoutMs ?? 30_000,
      onNotification: (name, params) => this.dispatch(name, params),
      onProtocolError: (e) => {
        if (/^peer reported: /.test(e.message)) this.peerReport = e.message.replace(/^peer reported: /, '');
        this.log.warn(`${this.hostId}: agent protocol error: ${e.message}`);
      },
    });
    const ours = this.opts.protocolVersion ?? PROTOCOL_VERSION;
    let hello: Hello;
    try {
      hello = await peer.call('agent.hello', { protocolVersion: ours, client: this.opts.clientName }, 15_000);
    } catch (e) {
      peer.close();
      throw this.explainHelloFailure(e as Error, where, ours);
    }
    if (hello.protocolVersion !== ours) {
      peer.close();
      throw incompatible(hello.protocolVersion, ours, where);
    }
    this.peer = peer;
    peer.onClose((err) => {
      if (this.peer !== peer) return;
      this.peer = null;
      this.forgetAgentIds();
      const lost = new Error(`the connection to the agent (${where}) closed${err ? `: ${err.message}` : ''}`);
      for (const h of [...this.lostHandlers]) safe(() => h(lost), this.log);
    });
    try {
      for (const [id, sub] of this.subs) {
        const r = await peer.call('samples.subscribe', sub.params);
        sub.agentId = r.subscription;
        this.byAgentId.set(r.subscription, id);
      }
    } catch (e) {
      this.detach();
      throw new Error(`the agent at ${where} did not take our subscriptions back: ${(e as Error).message}`);
    }
    return hello;
  }

  /** Drops the current stream without reporting it as lost. */
  detach(): void {
    const p = this.peer;
    this.peer = null;
    this.forgetAgentIds();
    p?.close();
  }

  call<M extends MethodName>(method: M, params: Params<M>, opts: { timeoutMs?: number } = {}): Promise<Result<M>> {
    if (method === 'samples.subscribe') return this.subscribe(params as Params<'samples.subscribe'>) as Promise<Result<M>>;
    if (method === 'samples.unsubscribe') return this.unsubscribe(params as Params<'samples.unsubscribe'>) as Promise<Result<M>>;
    try {
      return this.requirePeer(method).call(method, params, opts.timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  on<N extends NotificationName>(name: N, handler: (params: NotificationParams<N>) => void): Disposable {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as (p: never) => void);
    return { dispose: () => void set!.delete(handler as (p: never) => void) };
  }

  /** Subscriptions kept across reconnects (for tests and diagnostics). */
  get subscriptionCount(): number {
    return this.subs.size;
  }

  private async subscribe(params: Params<'samples.subscribe'>): Promise<Result<'samples.subscribe'>> {
    const peer = this.requirePeer('samples.subscribe');
    const r = await peer.call('samples.subscribe', params);
    const id = `${this.hostId}#${this.nextSub++}`;
    this.subs.set(id, { params, agentId: r.subscription });
    this.byAgentId.set(r.subscription, id);
    return { subscription: id };
  }

  private async unsubscribe(params: Params<'samples.unsubscribe'>): Promise<Result<'samples.unsubscribe'>> {
    const sub = this.subs.get(params.subscription);
    if (!sub) return { ok: false };
    this.subs.delete(params.subscription);
    if (sub.agentId !== null) {
      this.byAgentId.delete(sub.agentId);
      if (this.connected) await this.peer!.call('samples.unsubscribe', { subscription: sub.agentId }).catch(() => undefined);
    }
    return { ok: true };
  }

  private requirePeer(method: string): RpcPeer {
    if (!this.peer || this.peer.isClosed) {
      throw new RpcFailure(ErrorCodes.InternalError, `${method}: host ${this.hostId} is not connected (${this._state})`);
    }
    return this.peer;
  }

  private forgetAgentIds(): void {
    this.byAgentId.clear();
    for (const s of this.subs.values()) s.agentId = null;
  }

  private dispatch<N extends NotificationName>(name: N, params: NotificationParams<N>): void {
    let out: NotificationParams<N> = params;
    if (SUBSCRIBED.has(name)) {
      const p = params as NotificationParams<SubscribedNotification>;
      const mine = this.byAgentId.get(p.subscription);
      if (mine === undefined) return; // a subscription we no longer hold
      out = { ...p, subscription: mine } as NotificationParams<N>;
    }
    const set = this.handlers.get(name);
    if (!set) return;
    for (const h of [...set]) safe(() => (h as (p: NotificationParams<N>) => void)(out), this.log);
  }

  private explainHelloFailure(e: Error, where: string, ours: number): Error {
    if (e instanceof RpcFailure && e.code === ErrorCodes.IncompatibleProtocol) {
      const theirs = typeof e.data?.agentProtocolVersion === 'number' ? e.data.agentProtocolVersion : undefined;
      if (theirs !== undefined) return incompatible(theirs, ours, where);
      return new AgentProtocolError('incompatible', `the agent at ${where} refused this extension: ${e.message}`);
    }
    if (e instanceof RpcFailure && e.code === ErrorCodes.Busy) return new Error(`the agent at ${where} is busy: ${e.message}`);
    // The agent's own peer check (SO_PEERCRED): retrying as the same user cannot help.
    if (this.peerReport && /^access denied: /.test(this.peerReport)) return new AgentProtocolError('forbidden', `the agent at ${where} refused this user: ${this.peerReport}`);
    if (this.peerReport) return new Error(`the agent at ${where} refused the connection: ${this.peerReport}`);
    if (e instanceof RpcFailure && /timed out/.test(e.message)) {
      return new AgentProtocolError('not-an-agent', `no agent.hello answer from ${where} within 15 s: is it a hefery-agent socket?`);
    }
    if (e instanceof RpcFailure && e.code === ErrorCodes.MethodNotFound) {
      return new AgentProtocolError('not-an-agent', `${where} does not answer like a hefery agent: ${e.message}`);
    }
    if (e instanceof RpcFailure && e.code === ErrorCodes.InternalError && /connection closed/.test(e.message)) {
      return new Error(`the agent at ${where} closed the connection during hello`);
    }
    return new AgentProtocolError('not-an-agent', `${where} does not answer like a hefery agent: ${e.message}`);
  }
}

function incompatible(theirs: number, ours: number, where: string): AgentProtocolError {
  const update = theirs < ours ? 'update hefery-agent on the host' : 'update the Hefery extension';
  return new AgentProtocolError('incompatible', `the agent at ${where} speaks protocol ${theirs}, this extension speaks protocol ${ours}: ${update}`);
}

function safe(fn: () => void, log: CoreLog): void {
  try {
    fn();
  } catch (e) {
    log.error(`a listener failed: ${(e as Error).stack ?? String(e)}`);
  }
}
