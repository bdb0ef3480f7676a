// Helpers shared by the `hefery-agent` sub-commands: argument parsing with
// usage errors, durations, exit codes.

import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes of hefery-agent. */
export const EXIT = {
  ok: 0,
  /** Anything that went wrong at run time. */
  failure: 1,
  /** Bad command line. */
  usage: 2,
  /** No agent at the socket (not running, no permission). */
  unavailable: 3,
} as const;

/** A bad command line: the dispatcher prints the message and the command's usage, exit 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** util.parseArgs, strict, with its errors turned into UsageError. */
export function parseCommandLine<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "5m", "2h", "7d" -> milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: expected a duration like 30s, 5m, 2h or 7d, got "${text}"`);
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}
