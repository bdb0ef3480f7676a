// The real agent daemon for a scenario run (test/fixtures/agent.ts starts
// it): `hefery-agent serve` as its own process, sampling every libvirt
// domain once a second into a SQLite store in the run's directory. The
// runner reads that store (samples, events, incidents) and never talks to
// libvirt for the data it records.

import { join } from 'node:path';
import { startAgentProcess } from '../../test/fixtures/agent';

export interface ScenarioAgent {
  socket: string;
  dbPath: string;
  /** Everything the agent printed so far. */
  output(): string;
  /** SIGTERM (SIGKILL after 15 s) and wait; resolves with the exit code (null: killed). Idempotent. */
  stop(): Promise<number | null>;
}

export function agentConfig(runDir: string, intervalMs = 1000): Record<string, unknown> {
  return {
    $comment: 'written by scripts/scenarios: one agent per scenario run',
    libvirt: { uri: 'qemu:///system', readOnly: true },
    // root: the runner's own group (the default, hefery, need not exist here).
    socket: { path: join(runDir, 'agent.sock'), group: 'root' },
    store: { path: join(runDir, 'hefery.db') },
    pidFile: join(runDir, 'agent.pid'),
    modelDir: join(runDir, 'models'),
    sampling: { intervalMs },
    logLevel: 'info',
  };
}

export async function startAgent(runDir: string, intervalMs = 1000): Promise<ScenarioAgent> {
  const socket = join(runDir, 'agent.sock');
  const agent = startAgentProcess(agentConfig(runDir, intervalMs), runDir);
  try {
    await agent.listening(socket);
  } catch (e) {
    await agent.stop();
    throw e;
  }
  return {
    socket,
    dbPath: join(runDir, 'hefery.db'),
    output: agent.log,
    stop: () => agent.stop(),
  };
}
