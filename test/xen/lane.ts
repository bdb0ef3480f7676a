// Test fixture: the nested Xen lane (scripts/xen-lane/). Builds it (cached),
// boots Xen 4.17 + dom0 inside QEMU (TCG) in the network namespace hefery-xl
// with the payload (host node + the dom0 driver bundle), creates the PVH guest
// hefery-g1, and tears everything down again (QEMU by its pid file, the
// namespace). Xen here is REAL (Debian's hypervisor and tools), only nested.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPayload } from './payload';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const LANE_DIR = join(REPO_ROOT, '.cache', 'xen-lane');
const BOOT = join(REPO_ROOT, 'scripts', 'xen-lane', 'boot.sh');
const BUILD = join(REPO_ROOT, 'scripts', 'xen-lane', 'build.sh');

export const NETNS = 'hefery-xl';
export const HOST_ADDR = '10.214.0.1';
export const DOM0_ADDR = '10.214.0.2';
export const GUEST_ADDR = '10.214.0.3';
export const GUEST = 'hefery-g1';

export interface Lane {
  /** Runs `cmd` (a shell line) in dom0 over ssh; resolves with stdout, rejects with stderr on failure. */
  sh(cmd: string, timeoutMs?: number): Promise<string>;
  /** A long-running dom0 command with piped stdio (e.g. the driver). */
  spawnDom0(cmd: string): ChildProcess;
  /** GET http://GUEST_ADDR<path> from the namespace: the body, or null when it does not answer within `seconds` (5). */
  http(path?: string, seconds?: number): Promise<string | null>;
  /** Polls /cgi-bin/ok until the guest answers "ok" (true) or `seconds` pass (false). */
  waitHttp(seconds: number): Promise<boolean>;
  /** The serial console log so far (Xen + dom0). */
  consoleLog(): string;
  stop(): Promise<void>;
}

/** Runs a command to completion; output goes to our stderr (build and boot are long and chatty). */
function runLoud(cmd: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: REPO_ROOT });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) res();
      else rej(new Error(`${cmd} ${args.join(' ')} failed (${sig ?? `exit ${code}`})`));
    });
  });
}

function capture(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn('bash', [BOOT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

/**
 * Builds and boots the lane. HEFERY_XL_REUSE=1 (development): a lane already
 * running (`boot.sh start .cache/xen-lane/payload`) is used as it is and left running.
 */
export async function startLane(opts: { guest?: boolean; via?: 'xl' | 'libvirt' } = {}): Promise<Lane> {
  const reuse = process.env.HEFERY_XL_REUSE === '1' && (await capture(['status'], 10_000)).code === 0;
  let stopped = reuse;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await runLoud('bash', [BOOT, 'stop'], 60_000);
  };
  try {
    if (!reuse) {
      await runLoud('bash', [BUILD], 30 * 60_000);
      const payload = await buildPayload(REPO_ROOT, join(LANE_DIR, 'payload'));
      await runLoud('bash', [BOOT, 'start', payload], 15 * 60_000);
    }
    if (opts.guest !== false) await runLoud('bash', [BOOT, 'guest', opts.via ?? 'xl'], 15 * 60_000);
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  const http = async (path = '/cgi-bin/ok', seconds = 5): Promise<string | null> => {
    const r = await capture(['http', path, String(seconds)], seconds * 1000 + 10_000);
    if (r.code !== 0) return null;
    const at = r.stdout.indexOf('\r\n\r\n');
    return at < 0 ? null : r.stdout.slice(at + 4);
  };
  return {
    async sh(cmd, timeoutMs = 120_000) {
      const r = await capture(['ssh', cmd], timeoutMs);
      if (r.code !== 0) throw new Error(`dom0: ${cmd}: exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
      return r.stdout;
    },
    spawnDom0(cmd) {
      return spawn('bash', [BOOT, 'ssh', cmd], { stdio: ['pipe', 'pipe', 'pipe'], cwd: REPO_ROOT });
    },
    http,
    async waitHttp(seconds) {
      const deadline = Date.now() + seconds * 1000;
      do {
        if ((await http('/cgi-bin/ok', 20))?.trim() === 'ok') return true;
        await new Promise((r) => setTimeout(r, 2000));
      } while (Date.now() < deadline);
      return false;
    },
    consoleLog() {
      try {
        return readFileSync(join(LANE_DIR, 'run', 'console.log'), 'utf8');
      } catch {
        return '';
      }
    },
    stop,
  };
}

export const say = (s: string): void => void process.stderr.write(`xen-lane: ${s}\n`);

/** Text for a failure message when the nested clock broke (the host was too busy): the usual cause of a stall. */
export function diagnose(lane: Lane | undefined): string {
  const log = lane?.consoleLog() ?? '';
  const wrapped = /Platform timer appears to have unexpectedly wrapped/.test(log);
  const lockups = (log.match(/soft lockup/g) ?? []).length;
  return wrapped || lockups
    ? ` [nested clock trouble: ${wrapped ? "Xen's platform timer wrapped, " : ''}${lockups} soft lockups in dom0; host load ${loadavg().map((x) => x.toFixed(1)).join(' ')}]`
    : '';
}

/** Writes .artifacts/xen-lane/<name> (a run's figures; scripts/test-xen.sh --record copies them to results/). */
export function writeArtifact(name: string, content: string): string {
  const dir = join(REPO_ROOT, '.artifacts', 'xen-lane');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), content);
  return join(dir, name);
}
