// The current protection status of one domain, from domains.list, and the
// policy's risk thresholds it carries.

import type { AgentApi } from '../../core/contract';
import type { ProtectionStatus } from '../../../../host-agent/src/protocol/api';

export async function protectionOf(api: AgentApi, domain: string): Promise<ProtectionStatus | null> {
  const list = await api.call('domains.list', {});
  return list.find((d) => d.name === domain)?.protection ?? null;
}

/** Risk levels at which the policy changes the interval (lower first), when the agent tells them. */
export function thresholdsOf(status: ProtectionStatus | null): number[] {
  const t = status?.thresholds;
  if (!t) return [];
  return t.lower === t.raise ? [t.raise] : [t.lower, t.raise];
}
