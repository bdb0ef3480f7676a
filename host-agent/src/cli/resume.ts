// `hefery-agent resume DOMAIN [--who NAME] [--socket PATH] [--json]`

import type { Decision } from '../protocol/api';
import { EXIT, parseCommandLine } from './common';
import { decisionLine, domainArg, operatorName } from './decisions';
import { CHANGE_TIMEOUT_MS } from './pin';
import { SOCKET_HELP, socketPath, withAgent } from './query';

export const usage = `usage: hefery-agent resume DOMAIN [--who NAME] [--socket PATH] [--json]

Ends DOMAIN's pin: the risk-based policy decides its checkpoint interval
again (tightening at once if needed, relaxing only after the dwell).

  --who NAME      recorded in the audit log (default: your user name)
${SOCKET_HELP}
  --json          print the recorded decision as JSON`;

const out = (s: string) => void process.stdout.write(s + '\n');

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { who: { type: 'string' }, socket: { type: 'string' }, json: { type: 'boolean' } }, true);
  const domain = domainArg(positionals);
  const who = operatorName(values.who);
  const d: Decision = await withAgent(socketPath(values.socket), (a) => a.peer.call('interval.resume', { domain, who }, CHANGE_TIMEOUT_MS));
  out(values.json ? JSON.stringify(d, null, 2) : decisionLine(d));
  return d.applied ? EXIT.ok : EXIT.failure;
}
