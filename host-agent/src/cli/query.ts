// Client commands talking to a running agent over its Unix socket:
//   hefery-agent domains [--socket PATH] [--json]
//   hefery-agent history DOMAIN [--since 5m] [--limit N] [--socket PATH] [--json]

import { DEFAULTS } from '../config';
import { DOMAIN_NAME, type DomainSummary, type Result } from '../protocol/api';
import { AgentUnavailableError, connectAgent, type AgentConnection } from '../rpc/client';
import type { CommandModule } from '../cli';
import { EXIT, parseCommandLine, parseDuration, UsageError } from './common';

export const SOCKET_HELP = `  --socket PATH   the agent's socket (default: $HEFERY_SOCKET or ${DEFAULTS.socketPath})`;

export function socketPath(given: string | undefined): string {
  return given ?? process.env.HEFERY_SOCKET ?? DEFAULTS.socketPath;
}

export async function withAgent<T>(path: string, fn: (a: AgentConnection) => Promise<T>): Promise<T> {
  let agent: AgentConnection;
  try {
    agent = await connectAgent(path, { client: 'hefery-agent-cli' });
  } catch (e) {
    if (e instanceof AgentUnavailableError) throw Object.assign(new Error(e.message), { exitCode: EXIT.unavailable });
    throw e;
  }
  try {
    return await fn(agent);
  } finally {
    agent.close();
  }
}

const out = (s: string) => void process.stdout.write(s + '\n');

function fmt(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? '-' : v.toFixed(digits);
}

function bytes(v: number | null): string {
  if (v === null) return '-';
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let x = v;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

export const domains: CommandModule = {
  usage: `usage: hefery-agent domains [--socket PATH] [--json]

Lists the domains the running agent sees, with their latest sample, risk and
checkpoint interval.

${SOCKET_HELP}
  --json          print the agent's answer as JSON`,
  async run(argv) {
    const { values } = parseCommandLine(argv, { socket: { type: 'string' }, json: { type: 'boolean' } });
    const list = await withAgent(socketPath(values.socket), (a) => a.peer.call('domains.list', {}));
    if (values.json) out(JSON.stringify(list, null, 2));
    else out(domainsTable(list));
    return EXIT.ok;
  },
};

export function domainsTable(list: DomainSummary[]): string {
  if (list.length === 0) return '(no domains)';
  return table(
    ['NAME', 'STATE', 'CPU%', 'MEM%', 'RISK', 'MODEL', 'MODE', 'INTERVAL'],
    list.map((d) => [
      d.name,
      d.state,
      fmt(d.latest?.cpuPct),
      fmt(d.latest?.memPct),
      d.risk ? d.risk.next.toFixed(3) : '-',
      d.hasModel ? 'yes' : 'no',
      d.protection?.mode ?? '-',
      d.protection?.intervalMs != null ? `${d.protection.intervalMs} ms` : '-',
    ]),
  );
}

export const history: CommandModule = {
  usage: `usage: hefery-agent history DOMAIN [--since 5m] [--limit N] [--socket PATH] [--json]

Prints a domain's samples over the last --since (default 5m) from the running
agent, oldest first.

  --since DUR     how far back: 30s, 5m, 2h, 7d (default 5m)
  --limit N       at most N samples, the newest (default 10000)
${SOCKET_HELP}
  --json          print the agent's answer as JSON`,
  async run(argv) {
    const { values, positionals } = parseCommandLine(
      argv,
      { since: { type: 'string' }, limit: { type: 'string' }, socket: { type: 'string' }, json: { type: 'boolean' } },
      true,
    );
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing DOMAIN' : `expected one DOMAIN, got ${positionals.length}`);
    const domain = positionals[0];
    if (!DOMAIN_NAME.test(domain)) throw new UsageError(`DOMAIN: "${domain}" is not a valid domain name`);
    const sinceMs = parseDuration(values.since ?? '5m', '--since');
    let limit: number | undefined;
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError(`--limit: expected an integer in 1..100000, got "${values.limit}"`);
    }
    const to = Date.now();
    const rows = await withAgent(socketPath(values.socket), (a) =>
      a.peer.call('samples.history', { domain, from: Math.max(0, to - sinceMs), to, ...(limit ? { limit } : {}) }),
    );
    if (values.json) out(JSON.stringify(rows, null, 2));
    else out(historyTable(rows));
    return EXIT.ok;
  },
};

export function historyTable(rows: Result<'samples.history'>): string {
  if (rows.length === 0) return '(no samples in that range)';
  return table(
    ['TIME', 'STATE', 'CPU%', 'MEM%', 'NET RX', 'NET TX', 'DISK RD', 'DISK WR', 'RISK'],
    rows.map(({ sample: s, risk }) => [
      new Date(s.ts).toISOString(),
      s.state,
      fmt(s.cpuPct),
      fmt(s.memPct),
      bytes(s.netRxBps),
      bytes(s.netTxBps),
      bytes(s.diskRdBps),
      bytes(s.diskWrBps),
      risk === null ? '-' : risk.toFixed(3),
    ]),
  );
}
