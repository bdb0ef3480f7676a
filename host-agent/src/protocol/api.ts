// The agent's API: JSON-RPC 2.0 over a Unix socket, one JSON message per line.
// This module is the single source of truth for what crosses the wire. The
// host agent serves it, the extension and the webviews import it. Every
// request's params and every result are validated on receipt with these
// schemas; no `any` reaches application code.

import {
  arr, bool, Infer, nullable, num, obj, oneOf, opt, Schema, str,
} from './schema';

/** Bumped on any incompatible change; a client refuses an agent of another major. */
export const PROTOCOL_VERSION = 1;

/** Largest message either side accepts (bytes of one line). */
export const MAX_MESSAGE_BYTES = 1 << 20;

/** Libvirt domain names: what virsh accepts minus anything that could surprise a shell or a path. */
export const DOMAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
export const domainName = () => str({ pattern: DOMAIN_NAME });

const ts = () => num({ min: 0, int: true }); // milliseconds since the epoch

export const DomainState = oneOf(['running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'nostate', 'vanished'] as const);
export type DomainState = Infer<typeof DomainState>;

/** One sample of one domain, as rates over the interval since the previous sample. */
export const Sample = obj({
  domain: domainName(),
  ts: ts(),
  state: DomainState,
  /** Guest CPU time over wall time, per vCPU average, 0..100. null on the first sample after a (re)start. */
  cpuPct: nullable(num({ min: 0, max: 100 })),
  /** (available - usable) / available from the balloon driver, 0..100; null when the guest gives no balloon stats. */
  memPct: nullable(num({ min: 0, max: 100 })),
  netRxBps: nullable(num({ min: 0 })),
  netTxBps: nullable(num({ min: 0 })),
  diskRdBps: nullable(num({ min: 0 })),
  diskWrBps: nullable(num({ min: 0 })),
});
export type Sample = Infer<typeof Sample>;

export const CheckpointMode = oneOf(['auto', 'pinned', 'failsafe', 'unprotected'] as const);
export type CheckpointMode = Infer<typeof CheckpointMode>;

/** What the agent currently does for a domain's replication. */
export const ProtectionStatus = obj({
  mode: CheckpointMode,
  intervalMs: nullable(num({ min: 0 })),
  pinnedUntil: opt(nullable(ts())),
  backend: str({ max: 64 }),
  reason: str({ max: 500 }),
  /** The policy's risk levels for this domain, when it has them: risk >= raise goes to the safest interval at once, risk < lower may relax. */
  thresholds: opt(obj({ raise: num({ min: 0, max: 1 }), lower: num({ min: 0, max: 1 }) })),
  /** The policy's intervals for this domain, ascending: the safe one, the steps, the relaxed one (a pin may not be longer than the last). */
  ladder: opt(arr(num({ min: 1 }), { min: 1, max: 64 })),
});
export type ProtectionStatus = Infer<typeof ProtectionStatus>;

/** Live risk: probability the domain is in (or enters next) an abnormal/failed state. */
export const Risk = obj({
  ts: ts(),
  /** P(abnormal or failed at t+1 | observations up to t). */
  next: num({ min: 0, max: 1 }),
  /** P(abnormal or failed at t+k), k = horizon. */
  horizon: opt(num({ min: 0, max: 1 })),
  horizonSteps: opt(num({ min: 1, int: true })),
  /** Most likely hidden state label now, e.g. "normal/low". */
  state: opt(str({ max: 64 })),
  modelVersion: opt(str({ max: 64 })),
});
export type Risk = Infer<typeof Risk>;

export const DomainSummary = obj({
  name: domainName(),
  uuid: str({ max: 64 }),
  state: DomainState,
  latest: nullable(Sample),
  risk: nullable(Risk),
  protection: nullable(ProtectionStatus),
  hasModel: bool(),
});
export type DomainSummary = Infer<typeof DomainSummary>;

export const Decision = obj({
  id: num({ min: 0, int: true }),
  domain: domainName(),
  ts: ts(),
  kind: oneOf(['auto', 'override', 'resume', 'failsafe', 'startup', 'shutdown'] as const),
  oldIntervalMs: nullable(num({ min: 0 })),
  newIntervalMs: nullable(num({ min: 0 })),
  risk: nullable(num({ min: 0, max: 1 })),
  reason: str({ max: 500 }),
  who: str({ max: 128 }),
  applied: bool(),
  error: opt(str({ max: 2000 })),
});
export type Decision = Infer<typeof Decision>;

export const HealthLabel = oneOf(['normal', 'abnormal', 'failed'] as const);
export type HealthLabel = Infer<typeof HealthLabel>;

export const ModelSummary = obj({
  domain: domainName(),
  version: str({ max: 64 }),
  createdAt: ts(),
  trainedFrom: ts(),
  trainedTo: ts(),
  observations: num({ min: 0, int: true }),
  logLikelihood: num(),
  iterations: num({ min: 0, int: true }),
  states: arr(obj({ label: str({ max: 64 }), health: HealthLabel }), { max: 64 }),
  symbols: num({ min: 1, int: true }),
  /** Row-stochastic transition matrix, states x states. */
  transition: arr(arr(num({ min: 0, max: 1 }), { max: 64 }), { max: 64 }),
  /** Row-stochastic emission matrix, states x symbols. */
  emission: arr(arr(num({ min: 0, max: 1 }), { max: 512 }), { max: 64 }),
});
export type ModelSummary = Infer<typeof ModelSummary>;

export const TrainProgress = obj({
  jobId: str({ max: 64 }),
  restart: num({ min: 0, int: true }),
  restarts: num({ min: 1, int: true }),
  iteration: num({ min: 0, int: true }),
  logLikelihood: num(),
});
export type TrainProgress = Infer<typeof TrainProgress>;

export const TrainDone = obj({
  jobId: str({ max: 64 }),
  ok: bool(),
  error: opt(str({ max: 2000 })),
  cancelled: opt(bool()),
  model: opt(ModelSummary),
});
export type TrainDone = Infer<typeof TrainDone>;

/** The agent's own health: what it cannot do right now (a client shows it; the agent is fail-safe meanwhile). */
export const AgentStatus = obj({
  /** The SQLite store: not writable (disk full, I/O error) means history is being lost and every protected domain is held at its safe interval. */
  store: obj({ writable: bool(), error: opt(str({ max: 2000 })), since: opt(ts()), failedWrites: num({ min: 0, int: true }) }),
  /** libvirt stats collection: unavailable means every protected domain is at its safe interval until samples come again. */
  stats: obj({ available: bool(), error: opt(str({ max: 2000 })), since: opt(ts()) }),
});
export type AgentStatus = Infer<typeof AgentStatus>;

export const LogLevelName = oneOf(['debug', 'info', 'warn', 'error'] as const);

/** A line of the agent's own log (agent.log); `seq` counts up from 1, a gap means lines were dropped. */
export const AgentLogEntry = obj({
  seq: num({ min: 1, int: true }),
  ts: ts(),
  level: LogLevelName,
  scope: opt(str({ max: 200 })),
  message: str({ max: 4100 }),
});
export type AgentLogEntry = Infer<typeof AgentLogEntry>;

// ---- methods: params and results -------------------------------------------------------

const Empty = obj({});

export const Methods = {
  'agent.hello': {
    params: obj({ protocolVersion: num({ int: true }), client: str({ max: 128 }) }),
    result: obj({ protocolVersion: num({ int: true }), agentVersion: str({ max: 64 }), hostname: str({ max: 255 }), backend: str({ max: 64 }) }),
  },
  'agent.status': {
    params: Empty,
    result: AgentStatus,
  },
  /** agent.status now, and a status.event to this connection whenever it changes (until the connection closes). */
  'status.subscribe': {
    params: Empty,
    result: AgentStatus,
  },
  /**
   * The newest lines of the agent's own log kept in memory (its stderr goes
   * to the journal or a file a remote client cannot read), after `after`
   * (a seq a previous answer gave), oldest first. `nextSeq`: the `after` for
   * the next call; `oldestSeq`: the oldest line still kept.
   */
  'agent.log': {
    params: obj({ after: opt(num({ min: 0, int: true })), limit: opt(num({ min: 1, max: 2000, int: true })), minLevel: opt(LogLevelName) }),
    result: obj({ entries: arr(AgentLogEntry, { max: 2000 }), oldestSeq: num({ min: 1, int: true }), nextSeq: num({ min: 1, int: true }) }),
  },
  'domains.list': {
    params: Empty,
    result: arr(DomainSummary, { max: 10_000 }),
  },
  'samples.history': {
    params: obj({ domain: domainName(), from: ts(), to: ts(), limit: opt(num({ min: 1, max: 100_000, int: true })) }),
    result: arr(obj({ sample: Sample, risk: nullable(num({ min: 0, max: 1 })) }), { max: 100_000 }),
  },
  'samples.subscribe': {
    params: obj({ domains: opt(arr(domainName(), { max: 10_000 })) }),
    result: obj({ subscription: str({ max: 64 }) }),
  },
  'samples.unsubscribe': {
    params: obj({ subscription: str({ max: 64 }) }),
    result: obj({ ok: bool() }),
  },
  'model.train': {
    params: obj({
      domains: arr(domainName(), { min: 1, max: 1000 }),
      from: opt(ts()),
      to: opt(ts()),
      restarts: opt(num({ min: 1, max: 100, int: true })),
      maxIterations: opt(num({ min: 1, max: 10_000, int: true })),
    }),
    result: obj({ jobId: str({ max: 64 }) }),
  },
  'model.cancel': {
    params: obj({ jobId: str({ max: 64 }) }),
    result: obj({ ok: bool() }),
  },
  'model.get': {
    params: obj({ domain: domainName() }),
    result: nullable(ModelSummary),
  },
  'interval.pin': {
    params: obj({ domain: domainName(), intervalMs: num({ min: 1, max: 3_600_000 }), expiresAt: opt(nullable(ts())), who: str({ min: 1, max: 128 }) }),
    result: Decision,
  },
  'interval.resume': {
    params: obj({ domain: domainName(), who: str({ min: 1, max: 128 }) }),
    result: Decision,
  },
  'decisions.list': {
    params: obj({ domain: domainName(), from: ts(), to: ts(), limit: opt(num({ min: 1, max: 100_000, int: true })) }),
    result: arr(Decision, { max: 100_000 }),
  },
  'incidents.mark': {
    params: obj({ domain: domainName(), from: ts(), to: ts(), health: oneOf(['abnormal', 'failed'] as const), note: opt(str({ max: 500 })) }),
    result: obj({ id: num({ int: true }) }),
  },
} satisfies Record<string, { params: Schema<unknown>; result: Schema<unknown> }>;

export type MethodName = keyof typeof Methods;
export type Params<M extends MethodName> = Infer<(typeof Methods)[M]['params']>;
export type Result<M extends MethodName> = Infer<(typeof Methods)[M]['result']>;

// ---- notifications (server -> client) --------------------------------------------------

export const Notifications = {
  'samples.event': obj({ subscription: str({ max: 64 }), sample: Sample, risk: nullable(Risk), protection: nullable(ProtectionStatus) }),
  'domains.event': obj({ subscription: str({ max: 64 }), domain: domainName(), event: oneOf(['appeared', 'vanished', 'started', 'stopped', 'crashed', 'watchdog', 'io-error', 'reconnected', 'disconnected'] as const), ts: ts() }),
  'decision.event': obj({ subscription: str({ max: 64 }), decision: Decision }),
  'train.progress': TrainProgress,
  'train.done': TrainDone,
  /** The agent's health changed (store writable again, stats unavailable...); only to connections that called status.subscribe. */
  'status.event': obj({ status: AgentStatus }),
} satisfies Record<string, Schema<unknown>>;

export type NotificationName = keyof typeof Notifications;
export type NotificationParams<N extends NotificationName> = Infer<(typeof Notifications)[N]>;

// ---- JSON-RPC envelope -----------------------------------------------------------------

export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Application errors */
  NotFound: -32001,
  Busy: -32002,
  Forbidden: -32003,
  IncompatibleProtocol: -32004,
  TooLarge: -32005,
} as const;

export function isMethodName(m: string): m is MethodName {
  return Object.prototype.hasOwnProperty.call(Methods, m);
}

export function isNotificationName(m: string): m is NotificationName {
  return Object.prototype.hasOwnProperty.call(Notifications, m);
}
