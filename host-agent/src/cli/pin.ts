// `hefery-agent pin DOMAIN --interval 200ms [--for 30m | --until ISO] [--who NAME] [--socket PATH] [--json]`

import type { Decision } from '../protocol/api';
import { EXIT, parseCommandLine, parseDuration, UsageError } from './common';
import { decisionLine, domainArg, operatorName } from './decisions';
import { SOCKET_HELP, socketPath, withAgent } from './query';

export const usage = `usage: hefery-agent pin DOMAIN --interval DUR [--for DUR | --until ISO] [--who NAME] [--socket PATH] [--json]

Pins DOMAIN's checkpoint interval (an operator override of the risk-based
policy) until --for/--until, or until 'hefery-agent resume'. The agent refuses
a pin longer than the domain's relaxed interval, and holds a pin longer than
the safe interval at the safe one while it is unsure (fail-safe).

  --interval DUR  the checkpoint interval: 50ms, 200ms, 1s
  --for DUR       the pin expires after this long: 30s, 30m, 2h
  --until ISO     the pin expires at this time, e.g. 2030-01-01T12:00:00Z
  --who NAME      recorded in the audit log (default: your user name)
${SOCKET_HELP}
  --json          print the recorded decision as JSON

With the xen-remus backend a change restarts replication and may wait for the
backend's restart rate limit; the command waits for the outcome.`;

const out = (s: string) => void process.stdout.write(s + '\n');

/** A pin may wait for a Remus restart (rate limit + restart). */
export const CHANGE_TIMEOUT_MS = 180_000;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    { interval: { type: 'string' }, for: { type: 'string' }, until: { type: 'string' }, who: { type: 'string' }, socket: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  const domain = domainArg(positionals);
  if (values.interval === undefined) throw new UsageError('missing --interval');
  const intervalMs = parseDuration(values.interval, '--interval');
  if (intervalMs < 1 || intervalMs > 3_600_000) throw new UsageError(`--interval: expected 1ms to 1h, got "${values.interval}"`);
  if (values.for !== undefined && values.until !== undefined) throw new UsageError('give at most one of --for and --until');
  let expiresAt: number | null = null;
  if (values.for !== undefined) expiresAt = Date.now() + parseDuration(values.for, '--for');
  if (values.until !== undefined) {
    expiresAt = Date.parse(values.until);
    if (!Number.isFinite(expiresAt) || !/^\d{4}-\d\d-\d\dT/.test(values.until)) throw new UsageError(`--until: expected an ISO time like 2030-01-01T12:00:00Z, got "${values.until}"`);
    if (expiresAt <= Date.now()) throw new UsageError(`--until: ${values.until} is not in the future`);
  }
  const who = operatorName(values.who);
  const d: Decision = await withAgent(socketPath(values.socket), (a) =>
    a.peer.call('interval.pin', { domain, intervalMs, expiresAt, who }, CHANGE_TIMEOUT_MS),
  );
  out(values.json ? JSON.stringify(d, null, 2) : decisionLine(d));
  return d.applied ? EXIT.ok : EXIT.failure;
}
