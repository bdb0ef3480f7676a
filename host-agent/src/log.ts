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

export function createLogger(opts: { level?: LogLevel; scope?: string; write?: LogWrite } = {}): Logger {
  const min = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const write = opts.write ?? ((line: string) => void process.stderr.write(line + '\n'));
  const make = (scope: string | undefined): Logger => {
    const at = (level: LogLevel) => (msg: string) => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${scope ? `[${scope}] ` : ''}${msg}`);
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

/** Logs nothing. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
