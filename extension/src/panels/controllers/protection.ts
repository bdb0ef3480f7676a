// The current protection status of one domain, from domains.list.

import type { AgentApi } from '../../core/contract';
import type { ProtectionStatus } from '../../../../host-agent/src/protocol/api';

export async function protectionOf(api: AgentApi, domain: string): Promise<ProtectionStatus | null> {
  const list = await api.call('domains.list', {});
  return list.find((d) => d.name === domain)?.protection ?? null;
}
