// The contract between the protection service (host-agent/src/policy/) and
// the replication mechanisms it drives. A backend knows nothing about risk:
// it is told "domain D checkpoints every N ms" and reports what is in effect.

/** What a mechanism can do; the policy reads it to plan and to refuse impossible settings. */
export interface BackendCapabilities {
  /** The interval changes while replication keeps running (QEMU COLO). */
  liveIntervalChange: boolean;
  /** A change stops and restarts replication, with a short unprotected gap (Xen Remus). */
  restartsReplication: boolean;
  /** Shortest interval the mechanism accepts, ms. */
  minIntervalMs: number;
  /** Minimum time between two changes of one domain that the backend enforces (rate limit), ms; 0: none. */
  minChangeIntervalMs: number;
}

export interface SetIntervalOptions {
  /** Apply now even when the backend's rate limit says wait (agent shutdown only: it cannot wait). */
  bypassRateLimit?: boolean;
}

/** The outcome of one setInterval call. A failure rejects with an Error saying why. */
export interface ApplyResult {
  /** false: nothing was changed because a newer request for the same domain replaced this one first. */
  applied: boolean;
  /** The interval in effect afterwards (null: replication not running). */
  intervalMs: number | null;
  /** Short human text for the decision's reason, e.g. "replication restarted (gap 412 ms)". */
  note: string;
}

/** A failure (or recovery) the backend noticed on its own, outside any setInterval call. */
export interface BackendFault {
  domain: string;
  /** null: the domain's replication recovered. */
  error: Error | null;
}

export interface ReplicationBackend {
  /** "dry-run", "qemu-colo" or "xen-remus" (agent.hello's backend). */
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** Makes `domain` checkpoint every `intervalMs` (starting replication when needed); resolves once in effect. */
  setInterval(domain: string, intervalMs: number, opts?: SetIntervalOptions): Promise<ApplyResult>;
  /** The interval the backend knows to be in effect for `domain`, null when none/unknown. */
  current(domain: string): number | null;
  /** `domain` is no longer protected or no longer exists: stop driving it. */
  release(domain: string): Promise<void>;
  /** Asynchronous faults and recoveries (a replication process that died, then came back). */
  onFault(listener: (f: BackendFault) => void): void;
  /** The agent stops: keep replication running at the interval last applied, free our resources. */
  close(): Promise<void>;
}
