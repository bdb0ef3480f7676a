// The logging the vscode-free core needs; vscode's LogOutputChannel fits it,
// tests collect lines. Never pass a secret to it.

export interface CoreLog {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const silentLog: CoreLog = { debug() {}, info() {}, warn() {}, error() {} };

/** A log keeping its lines (tests). */
export function memoryLog(): CoreLog & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
