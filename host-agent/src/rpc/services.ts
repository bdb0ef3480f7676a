// Seams between the RPC server / daemon and the modules other parts of
// Hefery provide. The server serves `model.*` through a TrainingService and
// `interval.*` through a ProtectionService; when one is not wired the
// methods answer ErrorCodes.NotFound with a message saying so.

import type {
  Decision, DomainSummary, ModelSummary, Params, ProtectionStatus, Risk, Sample, TrainDone, TrainProgress,
} from '../protocol/api';
import type { DomainEvent } from '../libvirt/types';
import type { SampleRow } from '../store/store';
import type { HealthLabel } from '../protocol/api';

/** Where a training job reports to (the connection that started it). */
export interface TrainListener {
  progress(p: TrainProgress): void;
  done(d: TrainDone): void;
}

/** Provided by the training module (host-agent/src/training/). */
export interface TrainingService {
  /** Starts a job and returns its id at once; progress and the result go to `listener`. */
  train(req: Params<'model.train'>, listener: TrainListener): Promise<{ jobId: string }>;
  /** true when a running job was cancelled. */
  cancel(jobId: string): Promise<boolean>;
  /** The domain's current model, null when it has none. */
  getModel(domain: string): Promise<ModelSummary | null>;
}

/**
 * Provided by the policy/controller module (host-agent/src/policy/ with a
 * backend from host-agent/src/backends/). It turns risk into checkpoint
 * intervals and records every change through the DecisionSink it was built
 * with (the daemon's sink stores the decision and broadcasts decision.event).
 */
export interface ProtectionService {
  /** Backend name for agent.hello, e.g. "dry-run", "qemu-colo", "xen-remus". */
  readonly backend: string;
  /** One sample of a domain with the risk after it (null: unsure -> safest interval). Called once per collection per domain. */
  observe(sample: Sample, risk: Risk | null): void | Promise<void>;
  /** Stats collection is failing: every protected domain must fall back to the safest interval. */
  statsUnavailable(reason: string): void | Promise<void>;
  /** The store cannot write (reason; disk full, I/O error) or can again (null): fail-safe meanwhile. Optional. */
  storeUnavailable?(reason: string | null): void | Promise<void>;
  /** Lifecycle / watchdog / I/O error events of libvirt. Optional. */
  onDomainEvent?(ev: DomainEvent): void | Promise<void>;
  /** What the service currently does for `domain`; null when it does not protect it. */
  status(domain: string): ProtectionStatus | null;
  pin(req: Params<'interval.pin'>): Promise<Decision>;
  resume(req: Params<'interval.resume'>): Promise<Decision>;
  /** The agent is stopping: leave replication in its safest state. */
  shutdown(): Promise<void>;
}

/** What the server reads history from (the Store implements it). */
export interface HistoryStore {
  history(domain: string, from: number, to: number, limit?: number): SampleRow[];
  decisions(domain: string, from: number, to: number, limit?: number): Decision[];
  markIncident(i: { domain: string; from: number; to: number; health: HealthLabel; note?: string; source: 'user' | 'event' }): number;
}

export interface AgentInfo {
  agentVersion: string;
  hostname: string;
  backend: string;
}

/** Live view of the domains (the daemon's registry implements it). */
export interface DomainDirectory {
  list(): DomainSummary[];
}
