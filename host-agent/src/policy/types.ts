// Contract between the policy/controller, the backends and the store.
import type { Decision } from '../protocol/api';

/** A decision before the store gave it an id. */
export type NewDecision = Omit<Decision, 'id'>;

export interface DecisionSink {
  /** Persists a decision (audit log) and returns it with its id. Must not throw for a full disk: report and return. */
  record(d: NewDecision): Decision;
}
