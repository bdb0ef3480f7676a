// `hefery-agent status`: what the running agent cannot do right now (a store
// that cannot write, libvirt stats that do not come). Exit 0 when it can do
// everything, 1 otherwise, so a monitoring check can run it as it is.

import type { AgentStatus } from '../protocol/api';
import { EXIT, parseCommandLine } from './common';
import { SOCKET_HELP, socketPath, withAgent } from './query';

export const usage = `usage: hefery-agent status [--socket PATH] [--json]

Shows whether the running agent can write its store and collect libvirt
stats. While it cannot, every protected domain is held at its safe interval.
Exit code 0 when both work, 1 otherwise.

${SOCKET_HELP}
  --json          print the agent's answer as JSON`;

export function statusLines(s: AgentStatus): string[] {
  const since = (ts: number | undefined) => (ts === undefined ? '' : ` since ${new Date(ts).toISOString()}`);
  const store = s.store.writable
    ? 'store  ok'
    : `store  NOT WRITABLE${since(s.store.since)} (${s.store.failedWrites} failed write(s)): ${s.store.error ?? 'unknown error'}; history is not kept, protected domains are at their safe interval`;
  const stats = s.stats.available
    ? 'stats  ok'
    : `stats  UNAVAILABLE${since(s.stats.since)}: ${s.stats.error ?? 'unknown error'}; protected domains are at their safe interval`;
  return [store, stats];
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, { socket: { type: 'string' }, json: { type: 'boolean' } });
  const s = await withAgent(socketPath(values.socket), (a) => a.peer.call('agent.status', {}));
  process.stdout.write((values.json ? JSON.stringify(s, null, 2) : statusLines(s).join('\n')) + '\n');
  return s.store.writable && s.stats.available ? EXIT.ok : EXIT.failure;
}

