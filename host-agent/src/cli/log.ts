// `hefery-agent log`: the running agent's recent log lines, from the ring it
// keeps in memory (agent.log), optionally followed. For an operator who has
// the socket but not the agent's stderr (journal, a file of another user).

import type { AgentConnection } from '../rpc/client';
import { formatLogLine, LOG_LEVELS, type LogLevel } from '../log';
import { EXIT, parseCommandLine, UsageError } from './common';
import { SOCKET_HELP, socketPath, withAgent } from './query';

export const usage = `usage: hefery-agent log [--lines N] [--level LEVEL] [--follow] [--socket PATH] [--json]

Prints the running agent's most recent log lines (it keeps about the last
2000 in memory; older ones are in its stderr: the journal of its service).

  --lines N       how many lines (default 100, at most 2000)
  --level LEVEL   only lines at LEVEL or above: ${LOG_LEVELS.join(', ')} (default: all it logs)
  --follow        keep printing new lines as they come (Ctrl-C ends)
  --json          one JSON object per line
${SOCKET_HELP}`;

const FOLLOW_POLL_MS = 1000;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    socket: { type: 'string' }, lines: { type: 'string' }, level: { type: 'string' }, follow: { type: 'boolean' }, json: { type: 'boolean' },
  });
  const limit = values.lines === undefined ? 100 : Number(values.lines);
  if (!Number.isInteger(limit) || limit < 1 || limit > 2000) throw new UsageError(`--lines: expected a whole number from 1 to 2000, got "${values.lines}"`);
  if (values.level !== undefined && !(LOG_LEVELS as readonly string[]).includes(values.level)) throw new UsageError(`--level: expected one of ${LOG_LEVELS.join(', ')}, got "${values.level}"`);
  const minLevel = values.level as LogLevel | undefined;
  const print = (a: AgentConnection, after: number | undefined, n: number) => a.peer.call('agent.log', { after, limit: n, minLevel }).then((r) => {
    if (after !== undefined && r.oldestSeq > after + 1) {
      process.stderr.write(`hefery-agent log: ${r.oldestSeq - after - 1} line(s) were dropped from the agent's memory before they could be shown\n`);
    }
    for (const e of r.entries) process.stdout.write((values.json ? JSON.stringify(e) : formatLogLine(e)) + '\n');
    return r.nextSeq - 1;
  });
  return withAgent(socketPath(values.socket), async (a) => {
    let seen = await print(a, undefined, limit);
    if (!values.follow) return EXIT.ok;
    const closed = new Promise<number>((resolve) => a.peer.onClose(() => resolve(EXIT.unavailable)));
    const stop = new Promise<number>((resolve) => process.once('SIGINT', () => resolve(EXIT.ok)));
    for (;;) {
      const tick = new Promise<null>((r) => setTimeout(() => r(null), FOLLOW_POLL_MS));
      const ended = await Promise.race([tick, closed, stop]);
      if (ended !== null) {
        if (ended === EXIT.unavailable) process.stderr.write('hefery-agent log: the agent closed the connection\n');
        return ended;
      }
      seen = await print(a, seen, 2000);
    }
  });
}
