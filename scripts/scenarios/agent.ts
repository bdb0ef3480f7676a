// The real agent daemon for a scenario run: `hefery-agent serve` as its own
// process, sampling every libvirt domain once a second into a SQLite store
// in the run's directory. The runner reads that store (samples, events,
// incidents) and never talks to libvirt for the data it records.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/fixtures/libvirt';

const CLI = join(REPO_ROOT, 'host-agent', 'src', 'cli.ts');

export interface AgentProcess {
  pid: number;
  socket: string;
  dbPath: string;
  /** The agent's output so far (the last 20 kB). */
  output(): string;
  /** SIGTERM and wait (SIGKILL after 20 s); resolves with the exit code. Idempotent. */
  stop(): Promise<number | null>;
}

export function agentConfig(runDir: string, intervalMs = 1000): Record<string, unknown> {
  return {
    $comment: 'written by scripts/scenarios: one agent per scenario run',
    libvirt: { uri: 'qemu:///system', readOnly: true },
    socket: { path: join(runDir, 'agent.sock') },
    store: { path: join(runDir, 'hefery.db') },
    pidFile: join(runDir, 'agent.pid'),
    modelDir: join(runDir, 'models'),
    sampling: { intervalMs },
    logLevel: 'info',
  };
}

export async function startAgent(runDir: string, intervalMs = 1000): Promise<AgentProcess> {
  const configPath = join(runDir, 'agent.json');
  const config = agentConfig(runDir, intervalMs);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const socket = join(runDir, 'agent.sock');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--config', configPath], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer) => (out = (out + c.toString()).slice(-20_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let stopping: Promise<number | null> | null = null;
  const stop = (): Promise<number | null> => {
    if (!stopping) {
      stopping = (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const code = await exited;
        clearTimeout(t);
        return code;
      })();
    }
    return stopping;
  };
  const deadline = Date.now() + 30_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`hefery-agent exited with ${child.exitCode} before listening:\n${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`hefery-agent did not listen at ${socket} within 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid ?? -1, socket, dbPath: join(runDir, 'hefery.db'), output: () => out, stop };
}
