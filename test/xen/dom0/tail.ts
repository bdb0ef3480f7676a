// Follows a growing text file (xl's log, the agent's log) by polling, from
// its end at the time of the call; used by the dom0 helpers.

import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Calls onLine for each complete line appended to `path` from now on; returns the stop function. */
export function tailFile(path: string, onLine: (line: string) => void, everyMs = 100): () => void {
  let pos = 0;
  try {
    pos = statSync(path).size;
  } catch {
    // not there yet: its writer creates it
  }
  let rest = '';
  const buf = Buffer.alloc(64 * 1024);
  const timer = setInterval(() => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return;
    }
    try {
      // A file that shrank was replaced or truncated: read it from its start.
      if (statSync(path).size < pos) pos = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        rest += buf.subarray(0, n).toString('utf8');
      }
    } finally {
      closeSync(fd);
    }
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  }, everyMs);
  return () => clearInterval(timer);
}
