// Leveled logging to stderr, one line per message: `<iso time> <level> [<scope>] <message>`.
// Modules take a `Logger` so tests can capture what they report.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A logger whose lines are tagged with `scope`. */
  child(scope: string): Logger;
}

export type LogWrite = (line: string) => void;

/** One logged message, as the agent's log ring keeps it. */
export interface LogRecord {
  ts: number;
  level: LogLevel;
  scope?: string;
  message: string;
}

/** The one line format of the agent's log, on its stderr and wherever its lines are shown again. */
export function formatLogLine(r: LogRecord): string {
  return `${new Date(r.ts).toISOString()} ${r.level.toUpperCase().padEnd(5)} ${r.scope ? `[${r.scope}] ` : ''}${r.message}`;
}

export function createLogger(opts: { level?: LogLevel; scope?: string; write?: LogWrite; tee?: (r: LogRecord) => void } = {}): Logger {
  const min = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const write = opts.write ?? ((line: string) => void process.stderr.write(line + '\n'));
  const make = (scope: string | undefined): Logger => {
    const at = (level: LogLevel) => (msg: string) => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const r: LogRecord = { ts: Date.now(), level, ...(scope ? { scope } : {}), message: msg };
      write(formatLogLine(r));
      opts.tee?.(r);
    };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (s) => make(scope ? `${scope}/${s}` : s),
    };
  };
  return make(opts.scope);
}

/** A logger that keeps its lines in memory (tests) and optionally forwards them. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ level, write: (l) => lines.push(l) });
  return Object.assign(log, { lines });
}

/** A kept record with its sequence number (1, 2, ...: a gap means records were dropped). */
export interface LogEntry extends LogRecord {
  seq: number;
}

/** Longest message a ring keeps (a longer one is cut, saying so). */
export const MAX_KEPT_MESSAGE = 4000;

/**
 * The agent's recent log in memory, for clients that cannot read its stderr
 * (the extension's "Show Agent Log" over SSH): the newest `maxEntries`
 * records, and no more than `maxBytes` of messages, oldest dropped first.
 */
export class LogRing {
  private readonly entries: LogEntry[] = [];
  private bytes = 0;
  private nextSeq = 1;

  constructor(private readonly maxEntries = 2000, private readonly maxBytes = 1 << 20) {}

  push(r: LogRecord): void {
    const message = r.message.length > MAX_KEPT_MESSAGE ? `${r.message.slice(0, MAX_KEPT_MESSAGE)} [... ${r.message.length - MAX_KEPT_MESSAGE} more characters]` : r.message;
    const e: LogEntry = { ...r, message, seq: this.nextSeq++ };
    this.entries.push(e);
    this.bytes += message.length;
    while (this.entries.length > this.maxEntries || (this.bytes > this.maxBytes && this.entries.length > 1)) this.bytes -= this.entries.shift()!.message.length;
  }

  /**
   * The newest `limit` entries after sequence number `after` at `minLevel` or
   * above, oldest first; `oldestSeq`: the oldest entry still kept (when it is
   * past after + 1, entries in between were dropped).
   */
  tail(o: { after?: number; limit: number; minLevel?: LogLevel }): { entries: LogEntry[]; oldestSeq: number; nextSeq: number } {
    const min = LOG_LEVELS.indexOf(o.minLevel ?? 'debug');
    const after = o.after ?? 0;
    const picked = this.entries.filter((e) => e.seq > after && LOG_LEVELS.indexOf(e.level) >= min);
    return { entries: picked.slice(Math.max(0, picked.length - o.limit)), oldestSeq: this.entries[0]?.seq ?? this.nextSeq, nextSeq: this.nextSeq };
  }
}

/** Logs nothing. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
