// Reliability fixture: the real agent (`hefery-agent serve`) as a child
// process that a test may SIGKILL, restart on the same run directory, and
// measure (RSS from /proc). With a private libvirtd it runs inside that
// libvirtd's mount namespace (nsenter execs node: the child's pid is the
// agent's own).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../fixtures/libvirt';
import { connectAgent, type AgentConnection, type ConnectOptions } from '../../../host-agent/src/rpc/client';
import { sleep, waitUntil } from './wait';

const CLI = join(REPO_ROOT, 'host-agent', 'src', 'cli.ts');

export interface Agent {
  child: ChildProcess;
  pid: number;
  socketPath: string;
  /** What the agent wrote to stdout/stderr. */
  log(): string;
  /** The last `n` characters of the log, for assertion messages. */
  tail(n?: number): string;
  /** Resolves once the socket answers agent.hello. */
  ready(timeoutMs?: number): Promise<void>;
  connect(opts?: ConnectOptions): Promise<AgentConnection>;
  /** Resident set size of the agent process, KiB. */
  rssKiB(): number;
  /** SIGKILL: no shutdown code runs. Resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful), SIGKILL after 20 s; resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface AgentRunOptions {
  /** Runs the agent through this argv prefix (a private libvirtd's nsenter). */
  wrap?: (cmd: string, args: string[]) => [string, string[]];
  env?: NodeJS.ProcessEnv;
}

/** Writes `config` to <runDir>/agent.json and starts the agent on it. */
export function startAgent(config: Record<string, unknown>, runDir: string, socketPath: string, opts: AgentRunOptions = {}): Agent {
  const file = join(runDir, 'agent.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const argv = ['--import', 'tsx', CLI, 'serve', '--config', file, '--run-dir', runDir];
  const [cmd, args] = opts.wrap ? opts.wrap(process.execPath, argv) : [process.execPath, argv];
  const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let log = '';
  child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const tail = (n = 4000) => `--- agent log (last ${n} chars) ---\n${log.slice(-n)}`;
  return {
    child,
    pid: child.pid as number,
    socketPath,
    log: () => log,
    tail,
    exited,
    async ready(timeoutMs = 60_000) {
      await waitUntil('the agent socket', async () => {
        if (gone()) throw new Error(`the agent exited (${child.exitCode ?? child.signalCode}) before listening\n${tail()}`);
        if (!existsSync(socketPath)) return false;
        const c = await connectAgent(socketPath, { timeoutMs: 2000 }).catch(() => null);
        c?.close();
        return c !== null;
      }, timeoutMs, tail);
    },
    connect: (o = {}) => connectAgent(socketPath, { client: 'reliability-test', ...o }),
    rssKiB() {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (!m) throw new Error(`no VmRSS for pid ${child.pid}`);
      return Number(m[1]);
    },
    async kill9() {
      if (!gone()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!gone()) {
        child.kill('SIGTERM');
        if (!(await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]))) child.kill('SIGKILL');
      }
      return exited;
    },
  };
}
