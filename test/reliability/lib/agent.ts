// Reliability fixture: the real agent (test/fixtures/agent.ts starts it) that
// a test may SIGKILL, restart on the same run directory, and measure (RSS
// from /proc). With a private libvirtd it runs inside that libvirtd's mount
// namespace (nsenter execs node: the child's pid is the agent's own).

import { readFileSync } from 'node:fs';
import { startAgentProcess, type AgentProcess, type AgentProcessOptions } from '../../fixtures/agent';
import { waitUntil } from '../../fixtures/wait';
import { connectAgent, type AgentConnection, type ConnectOptions } from '../../../host-agent/src/rpc/client';

export interface Agent extends AgentProcess {
  socketPath: string;
  /** Resolves once the socket answers agent.hello. */
  ready(timeoutMs?: number): Promise<void>;
  connect(opts?: ConnectOptions): Promise<AgentConnection>;
  /** Resident set size of the agent process, KiB. */
  rssKiB(): number;
}

export type AgentRunOptions = Pick<AgentProcessOptions, 'wrap' | 'env'>;

/** Writes `config` to <runDir>/agent.json and starts the agent on it. */
export function startAgent(config: Record<string, unknown>, runDir: string, socketPath: string, opts: AgentRunOptions = {}): Agent {
  const agent = startAgentProcess(config, runDir, opts);
  const { child } = agent;
  return {
    ...agent,
    socketPath,
    async ready(timeoutMs = 60_000) {
      await agent.listening(socketPath, timeoutMs);
      await waitUntil('agent.hello on the socket', async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the agent exited (${child.exitCode ?? child.signalCode}) before answering\n${agent.tail()}`);
        const c = await connectAgent(socketPath, { timeoutMs: 2000 }).catch(() => null);
        c?.close();
        return c !== null;
      }, timeoutMs, agent.tail);
    },
    connect: (o = {}) => connectAgent(socketPath, { client: 'reliability-test', ...o }),
    rssKiB() {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (!m) throw new Error(`no VmRSS for pid ${child.pid}`);
      return Number(m[1]);
    },
    // A graceful stop may take a while on a loaded machine (store checkpoint, backend reset).
    stop: (graceMs = 20_000) => agent.stop(graceMs),
  };
}
