// The agent's JSON-RPC server on a Unix socket: one RpcPeer per connection,
// handlers for every method of protocol/api.ts, and the notification fan-out
// to subscribers. Access control is the socket's mode and group (see
// socket.ts) and, when a credentials reader is given, the agent's own check
// of the peer's uid and groups (peer-access.ts). Bounded: connections,
// subscriptions per connection, and bytes queued per connection (a client
// that does not read is dropped).

import { createServer, type Server, type Socket } from 'node:net';
import {
  AgentStatus, Decision, DomainSummary, ErrorCodes, MethodName, Params, PROTOCOL_VERSION, ProtectionStatus, Result, Risk, Sample,
} from '../protocol/api';
import { RpcFailure, RpcPeer } from '../protocol/peer';
import type { LogRing, Logger } from '../log';
import { silentLogger } from '../log';
import type { AgentInfo, DomainDirectory, HistoryStore, ProtectionService, TrainingService } from './services';
import { refusal, socketFd, type PeerCredentialsReader } from './peer-access';
import { lookupGroup, prepareSocketPath, removeSocket, securePermissions } from './socket';

export type DomainEventName = 'appeared' | 'vanished' | 'started' | 'stopped' | 'crashed' | 'watchdog' | 'io-error' | 'reconnected' | 'disconnected';

export interface AgentServerOptions {
  socketPath: string;
  /** Group given access to the socket when it exists; null: leave the process's group. Default 'hefery'. */
  group?: string | null;
  /** Default 0o660. */
  mode?: number;
  maxConnections?: number;
  maxSubscriptionsPerConnection?: number;
  /** A connection with more unsent bytes than this is dropped. Default 8 MiB. */
  maxQueuedBytes?: number;
  info: () => AgentInfo;
  domains: DomainDirectory;
  store: HistoryStore;
  /** Seam: the training module. Absent -> model.* answer NotFound. */
  training?: TrainingService;
  /** Seam: the policy/protection module. Absent -> interval.* answer NotFound. */
  protection?: ProtectionService;
  /** The agent's health for agent.status (the daemon's). Absent -> agent.status answers NotFound. */
  status?: () => AgentStatus;
  /** The agent's recent log for agent.log (serve.ts keeps it). Absent -> agent.log answers NotFound. */
  logRing?: LogRing;
  log?: Logger;
  /** /etc/group-format file for the group lookup (tests). */
  groupFile?: string;
  /** SO_PEERCRED reader (the native addon's): every connection is checked against root, our user and the socket's group. Absent: the file mode alone decides. */
  peerCredentials?: PeerCredentialsReader;
}

interface Subscription {
  id: string;
  /** null: every domain. */
  domains: Set<string> | null;
}

interface Connection {
  id: number;
  peer: RpcPeer;
  socket: Socket;
  subs: Map<string, Subscription>;
  client: string | null;
  /** Called status.subscribe: gets a status.event on each change of the agent's health. */
  watchesStatus: boolean;
}

const DEFAULT_HISTORY_LIMIT = 10_000;
const DEFAULT_LOG_LINES = 500;
/** An agent.log answer stays well under MAX_MESSAGE_BYTES. */
const LOG_ANSWER_BYTES = 768 * 1024;
/** Invalid messages a connection may send before it is closed (a correct client sends none). */
export const MAX_INVALID_MESSAGES = 100;
/** Of those, how many are logged one by one. */
const LOGGED_INVALID_MESSAGES = 10;

export class AgentServer {
  private server: Server | null = null;
  private readonly conns = new Map<number, Connection>();
  /** Connections refused (busy, access denied) that are still closing: close() must not wait for them. */
  private readonly refused = new Set<Socket>();
  private nextConn = 1;
  private nextSub = 1;
  private readonly log: Logger;
  private gid: number | null = null;
  private listening = false;
  private fdUnavailableLogged = false;

  constructor(private readonly opts: AgentServerOptions) {
    this.log = opts.log ?? silentLogger;
  }

  get socketPath(): string {
    return this.opts.socketPath;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const c of this.conns.values()) n += c.subs.size;
    return n;
  }

  /** Creates the socket (directory, stale socket, mode, group) and starts accepting. */
  async listen(): Promise<void> {
    if (this.server) throw new Error('server already started');
    const path = this.opts.socketPath;
    const group = this.opts.group === undefined ? 'hefery' : this.opts.group;
    this.gid = group === null ? null : lookupGroup(group, this.opts.groupFile);
    if (group !== null && this.gid === null) this.log.warn(`group ${group} does not exist; the socket keeps the agent's own group (only the agent's user and group can connect)`);
    await prepareSocketPath(path, this.gid);
    const server = createServer((s) => this.accept(s));
    this.server = server;
    const mode = this.opts.mode ?? 0o660;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(new Error(`cannot listen at ${path}: ${e.message}`));
      server.once('error', onError);
      // The socket is created by listen(): a restrictive umask closes the window before chmod.
      const oldMask = process.umask(0o177);
      try {
        server.listen(path, () => {
          server.off('error', onError);
          resolve();
        });
      } finally {
        process.umask(oldMask);
      }
    });
    server.on('error', (e) => this.log.error(`socket server error: ${e.message}`));
    securePermissions(path, mode, this.gid);
    this.listening = true;
    const checked = this.opts.peerCredentials ? '; peer credentials checked: root, this user and the group only' : '';
    this.log.info(`listening at ${path} (mode ${mode.toString(8)}${this.gid !== null ? `, group ${group}` : ''}${checked})`);
  }

  /** Stops accepting, closes every connection, removes the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const c of this.conns.values()) {
      c.peer.close();
      c.socket.destroy();
    }
    this.conns.clear();
    for (const s of this.refused) s.destroy();
    this.refused.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.listening) removeSocket(this.opts.socketPath);
    this.listening = false;
  }

  // ---- fan-out ------------------------------------------------------------------------

  publishSample(sample: Sample, risk: Risk | null, protection: ProtectionStatus | null): void {
    this.fanOut(sample.domain, (c, sub) => c.peer.notify('samples.event', { subscription: sub.id, sample, risk, protection }));
  }

  publishDomainEvent(domain: string, event: DomainEventName, ts: number): void {
    this.fanOut(domain, (c, sub) => c.peer.notify('domains.event', { subscription: sub.id, domain, event, ts: Math.max(0, Math.round(ts)) }));
  }

  publishDecision(decision: Decision): void {
    this.fanOut(decision.domain, (c, sub) => c.peer.notify('decision.event', { subscription: sub.id, decision }));
  }

  /** The agent's health changed: tell the connections that asked (status.subscribe). */
  publishStatus(status: AgentStatus): void {
    for (const c of [...this.conns.values()]) if (c.watchesStatus && !c.peer.isClosed) c.peer.notify('status.event', { status });
  }

  private fanOut(domain: string, send: (c: Connection, sub: Subscription) => void): void {
    for (const c of [...this.conns.values()]) {
      for (const sub of c.subs.values()) {
        if (sub.domains && !sub.domains.has(domain)) continue;
        if (c.peer.isClosed) break;
        send(c, sub);
      }
    }
  }

  // ---- connections --------------------------------------------------------------------

  private accept(socket: Socket): void {
    const denied = this.checkPeer(socket);
    if (denied) {
      this.log.warn(`refusing a connection: ${denied}`);
      this.refuse(socket, ErrorCodes.Forbidden, `access denied: ${denied}`);
      return;
    }
    const max = this.opts.maxConnections ?? 32;
    if (this.conns.size >= max) {
      this.log.warn(`refusing a connection: ${max} clients already connected`);
      this.refuse(socket, ErrorCodes.Busy, `too many connections (limit ${max}); try again later`);
      return;
    }
    const id = this.nextConn++;
    const log = this.log.child(`client ${id}`);
    let invalid = 0;
    const onInvalid = (e: Error) => {
      invalid++;
      if (invalid <= LOGGED_INVALID_MESSAGES) log.warn(`protocol error: ${e.message}`);
      else if (invalid === LOGGED_INVALID_MESSAGES + 1) log.warn('more protocol errors from this client; not logging each');
      if (invalid === MAX_INVALID_MESSAGES) {
        log.warn(`closing the connection: ${MAX_INVALID_MESSAGES} invalid messages`);
        socket.write(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: ErrorCodes.InvalidRequest, message: `too many invalid messages (${MAX_INVALID_MESSAGES}); closing the connection` } }) + '\n');
        conn.peer.close();
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    };
    const conn: Connection = {
      id,
      socket,
      subs: new Map(),
      client: null,
      watchesStatus: false,
      peer: new RpcPeer(socket, {
        maxQueuedBytes: this.opts.maxQueuedBytes ?? 8 << 20,
        onRequest: (method, params) => this.handle(conn, method, params),
        onProtocolError: onInvalid,
      }),
    };
    this.conns.set(id, conn);
    log.debug('connected');
    conn.peer.onClose((err) => {
      this.conns.delete(id);
      log.debug(`disconnected${err ? `: ${err.message}` : ''}`);
    });
  }

  /** One error line to a client we do not serve, then the connection is closed. */
  private refuse(socket: Socket, code: number, message: string): void {
    this.refused.add(socket);
    socket.once('close', () => this.refused.delete(socket));
    socket.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }) + '\n');
    socket.on('error', () => undefined);
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** null: the peer may connect; otherwise why not. */
  private checkPeer(socket: Socket): string | null {
    const read = this.opts.peerCredentials;
    if (!read) return null;
    const fd = socketFd(socket);
    if (fd === null) {
      if (!this.fdUnavailableLogged) this.log.warn('cannot read peer credentials (no socket fd from Node); access rests on the socket file mode and group');
      this.fdUnavailableLogged = true;
      return null;
    }
    try {
      const group = this.opts.group === undefined ? 'hefery' : this.opts.group;
      const label = this.gid !== null ? `group ${group}` : "the agent's group";
      return refusal(read(fd), this.gid ?? process.getgid?.() ?? 0, process.getuid?.() ?? 0, label);
    } catch (e) {
      return `cannot read the peer's credentials: ${(e as Error).message}`;
    }
  }

  // ---- methods ------------------------------------------------------------------------

  private async handle(conn: Connection, method: MethodName, params: unknown): Promise<unknown> {
    switch (method) {
      case 'agent.hello':
        return this.hello(conn, params as Params<'agent.hello'>);
      case 'agent.status':
        return this.status();
      case 'agent.log':
        return this.logTail(params as Params<'agent.log'>);
      case 'status.subscribe': {
        const now = this.status();
        conn.watchesStatus = true;
        return now satisfies Result<'status.subscribe'>;
      }
      case 'domains.list':
        return this.opts.domains.list() satisfies DomainSummary[];
      case 'samples.history':
        return this.history(params as Params<'samples.history'>);
      case 'samples.subscribe':
        return this.subscribe(conn, params as Params<'samples.subscribe'>);
      case 'samples.unsubscribe': {
        const p = params as Params<'samples.unsubscribe'>;
        return { ok: conn.subs.delete(p.subscription) } satisfies Result<'samples.unsubscribe'>;
      }
      case 'decisions.list': {
        const p = params as Params<'decisions.list'>;
        checkRange(p.from, p.to);
        return this.opts.store.decisions(p.domain, p.from, p.to, p.limit ?? DEFAULT_HISTORY_LIMIT) satisfies Result<'decisions.list'>;
      }
      case 'incidents.mark': {
        const p = params as Params<'incidents.mark'>;
        checkRange(p.from, p.to);
        const id = this.opts.store.markIncident({ ...p, source: 'user' });
        return { id } satisfies Result<'incidents.mark'>;
      }
      case 'model.train': {
        const svc = this.training();
        const peer = conn.peer;
        return svc.train(params as Params<'model.train'>, {
          progress: (p) => void peer.notify('train.progress', p),
          done: (d) => void peer.notify('train.done', d),
        }) satisfies Promise<Result<'model.train'>>;
      }
      case 'model.cancel':
        return { ok: await this.training().cancel((params as Params<'model.cancel'>).jobId) } satisfies Result<'model.cancel'>;
      case 'model.get':
        return this.training().getModel((params as Params<'model.get'>).domain) satisfies Promise<Result<'model.get'>>;
      case 'interval.pin':
        return this.protection().pin(params as Params<'interval.pin'>) satisfies Promise<Result<'interval.pin'>>;
      case 'interval.resume':
        return this.protection().resume(params as Params<'interval.resume'>) satisfies Promise<Result<'interval.resume'>>;
      default: {
        const never: never = method;
        throw new RpcFailure(ErrorCodes.MethodNotFound, `no handler for ${String(never)}`);
      }
    }
  }

  private hello(conn: Connection, p: Params<'agent.hello'>): Result<'agent.hello'> {
    if (p.protocolVersion !== PROTOCOL_VERSION) {
      throw new RpcFailure(
        ErrorCodes.IncompatibleProtocol,
        `incompatible protocol: client "${p.client}" speaks version ${p.protocolVersion}, this agent speaks version ${PROTOCOL_VERSION}; update the ${p.protocolVersion < PROTOCOL_VERSION ? 'client (extension)' : 'agent'}`,
        { agentProtocolVersion: PROTOCOL_VERSION },
      );
    }
    conn.client = p.client;
    const info = this.opts.info();
    return { protocolVersion: PROTOCOL_VERSION, agentVersion: info.agentVersion, hostname: info.hostname, backend: info.backend };
  }

  private status(): Result<'agent.status'> {
    if (!this.opts.status) throw new RpcFailure(ErrorCodes.NotFound, 'agent status is not available from this server');
    return this.opts.status();
  }

  private logTail(p: Params<'agent.log'>): Result<'agent.log'> {
    if (!this.opts.logRing) throw new RpcFailure(ErrorCodes.NotFound, "this agent keeps no log in memory (its log is on its stderr only)");
    const r = this.opts.logRing.tail({ after: p.after, limit: p.limit ?? DEFAULT_LOG_LINES, minLevel: p.minLevel });
    // Newest first until the answer would come near the message limit (escaped text can be longer than it was).
    let bytes = 0;
    let from = r.entries.length;
    while (from > 0 && (bytes += JSON.stringify(r.entries[from - 1]).length + 1) <= LOG_ANSWER_BYTES) from--;
    return { ...r, entries: r.entries.slice(from) };
  }

  private history(p: Params<'samples.history'>): Result<'samples.history'> {
    checkRange(p.from, p.to);
    return this.opts.store.history(p.domain, p.from, p.to, p.limit ?? DEFAULT_HISTORY_LIMIT);
  }

  private subscribe(conn: Connection, p: Params<'samples.subscribe'>): Result<'samples.subscribe'> {
    const max = this.opts.maxSubscriptionsPerConnection ?? 16;
    if (conn.subs.size >= max) throw new RpcFailure(ErrorCodes.Busy, `too many subscriptions on this connection (limit ${max}); unsubscribe first`);
    const id = `sub-${this.nextSub++}`;
    conn.subs.set(id, { id, domains: p.domains ? new Set(p.domains) : null });
    return { subscription: id };
  }

  private training(): TrainingService {
    if (!this.opts.training) throw new RpcFailure(ErrorCodes.NotFound, 'model training is not available: this agent runs without a training service');
    return this.opts.training;
  }

  private protection(): ProtectionService {
    if (!this.opts.protection) throw new RpcFailure(ErrorCodes.NotFound, 'interval control is not available: this agent runs without a protection service (no policy/backend configured)');
    return this.opts.protection;
  }
}

function checkRange(from: number, to: number): void {
  if (to < from) throw new RpcFailure(ErrorCodes.InvalidParams, `params.to (${to}) is before params.from (${from})`);
}
