// `hefery-agent decisions DOMAIN [--since 1h] [--limit N] [--socket PATH] [--json]`:
// the audit log of a domain's checkpoint-interval decisions, oldest first.
// Also the decision formatting shared by `pin` and `resume`.

import { userInfo } from 'node:os';
import { DOMAIN_NAME, type Decision } from '../protocol/api';
import { EXIT, parseCommandLine, parseDuration, UsageError } from './common';
import { SOCKET_HELP, socketPath, table, withAgent } from './query';

export const usage = `usage: hefery-agent decisions DOMAIN [--since 1h] [--limit N] [--socket PATH] [--json]

Prints the audit log of DOMAIN's checkpoint-interval decisions (automatic,
fail-safe, start-up, shutdown, pins and resumes) over the last --since,
oldest first.

  --since DUR     how far back: 30s, 5m, 2h, 7d (default 1h)
  --limit N       at most N decisions, the newest (default 1000)
${SOCKET_HELP}
  --json          print the agent's answer as JSON`;

const out = (s: string) => void process.stdout.write(s + '\n');

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    { since: { type: 'string' }, limit: { type: 'string' }, socket: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  const domain = domainArg(positionals);
  const sinceMs = parseDuration(values.since ?? '1h', '--since');
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError(`--limit: expected an integer in 1..100000, got "${values.limit}"`);
  const to = Date.now();
  const rows = await withAgent(socketPath(values.socket), (a) => a.peer.call('decisions.list', { domain, from: Math.max(0, to - sinceMs), to, limit }));
  out(values.json ? JSON.stringify(rows, null, 2) : decisionsTable(rows));
  return EXIT.ok;
}

/** The single DOMAIN positional, validated. */
export function domainArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing DOMAIN' : `expected one DOMAIN, got ${positionals.length}`);
  const domain = positionals[0];
  if (!DOMAIN_NAME.test(domain)) throw new UsageError(`DOMAIN: "${domain}" is not a valid domain name`);
  return domain;
}

/** Who the agent records for a pin/resume from this command line. */
export function operatorName(given: string | undefined): string {
  if (given !== undefined) {
    if (given.length < 1 || given.length > 128) throw new UsageError('--who: expected 1 to 128 characters');
    return given;
  }
  const user = process.env.SUDO_USER || safeUser();
  return `${user} (cli)`.slice(0, 128);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);

export function decisionsTable(rows: Decision[]): string {
  if (rows.length === 0) return '(no decisions in that range)';
  return table(
    ['TIME', 'KIND', 'OLD', 'NEW', 'RISK', 'WHO', 'APPLIED', 'REASON'],
    rows.map((d) => [
      new Date(d.ts).toISOString(),
      d.kind,
      ms(d.oldIntervalMs),
      ms(d.newIntervalMs),
      d.risk === null ? '-' : d.risk.toFixed(3),
      d.who,
      d.applied ? 'yes' : 'no',
      d.error ? `${d.reason} [error: ${d.error}]` : d.reason,
    ]),
  );
}

/** One line for the decision a pin/resume returned. */
export function decisionLine(d: Decision): string {
  const state = d.applied ? 'applied' : d.error ? `NOT applied: ${d.error}` : 'not applied';
  return `${d.domain}: ${d.kind} ${ms(d.oldIntervalMs)} -> ${ms(d.newIntervalMs)} (${state}) by ${d.who}: ${d.reason}`;
}
