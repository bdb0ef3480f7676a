// Test helper: reads NDJSON messages off a raw stream, for tests that speak
// the wire protocol by hand (messages the typed RpcPeer would never send).
import type { Duplex } from 'node:stream';

export function ndjsonReader(stream: Duplex): { next(): Promise<Record<string, unknown>> } {
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  let buf = '';
  stream.on('data', (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  return {
    next: () => new Promise((res) => {
      const l = lines.shift();
      if (l !== undefined) res(JSON.parse(l));
      else waiters.push((x) => res(JSON.parse(x)));
    }),
  };
}
