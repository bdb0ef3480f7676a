// Runs Debian's `wrk` inside the lane's network namespace against the guest and
// returns its figures as numbers (a Lua `done` hook prints them as JSON, so
// nothing depends on wrk's human-readable units).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NETNS } from './lane';

export interface WrkResult {
  seconds: number;
  requests: number;
  perSecond: number;
  /** Latency in ms. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
}

const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK-JSON {"us":%d,"requests":%d,"mean":%f,"p50":%d,"p90":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.duration, summary.requests, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
`;

export async function runWrk(url: string, opts: { seconds: number; connections?: number; timeoutS?: number }): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-wrk-'));
  const script = join(dir, 'done.lua');
  writeFileSync(script, DONE_HOOK);
  const args = ['netns', 'exec', NETNS, 'wrk', '-t1', `-c${opts.connections ?? 4}`, `-d${opts.seconds}s`,
    `--timeout`, `${opts.timeoutS ?? 10}s`, '-s', script, url];
  try {
    const out = await new Promise<string>((res, rej) => {
      const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.once('error', rej);
      child.once('close', (code) => (code === 0 ? res(stdout) : rej(new Error(`wrk exit ${code}: ${stderr.trim() || stdout.trim()}`))));
    });
    const line = out.split('\n').find((l) => l.startsWith('WRK-JSON '));
    if (!line) throw new Error(`wrk printed no figures: ${out.slice(0, 500)}`);
    const v = JSON.parse(line.slice('WRK-JSON '.length)) as Record<string, number>;
    const seconds = v.us / 1e6;
    const ms = (us: number) => Math.round(us / 10) / 100;
    return {
      seconds: Math.round(seconds * 10) / 10,
      requests: v.requests,
      perSecond: Math.round((v.requests / seconds) * 100) / 100,
      latencyMs: { mean: ms(v.mean), p50: ms(v.p50), p90: ms(v.p90), p99: ms(v.p99), max: ms(v.max) },
      errors: { connect: v.connect, read: v.read, write: v.write, status: v.status, timeout: v.timeout },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Several wrk runs added up: requests / seconds, request-weighted mean latency. */
export function combineWrk(runs: readonly WrkResult[]): { requests: number; perSecond: number; meanLatencyMs: number } {
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const latency = runs.reduce((a, r) => a + r.latencyMs.mean * r.requests, 0) / Math.max(1, requests);
  return { requests, perSecond: Math.round((requests / seconds) * 100) / 100, meanLatencyMs: Math.round(latency * 10) / 10 };
}
