// A real AgentServer (host-agent/src/rpc/server.ts) on a Unix socket in a temp
// dir, fed from memory instead of libvirt: the extension's client code talks to
// the agent's real server, its real validation and its real fan-out.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, type AgentStatus, type Decision, type DomainSummary, type ProtectionStatus, type Risk, type Sample } from '../../../host-agent/src/protocol/api';
import { RpcFailure } from '../../../host-agent/src/protocol/peer';
import { AgentServer } from '../../../host-agent/src/rpc/server';
import type { LogRing } from '../../../host-agent/src/log';

export interface TestAgent {
  server: AgentServer;
  socketPath: string;
  domains: DomainSummary[];
  /** Opens a client connection to the socket. */
  dial(): Promise<Socket>;
  sample(domain: string, cpuPct: number, risk?: number, protection?: ProtectionStatus | null): Sample;
  decisions: Decision[];
  /** What agent.status / status.subscribe answer; null: like an agent that cannot say (NotFound). */
  health: AgentStatus | null;
  /** Sets `health` and sends status.event to the connections watching it, as the daemon does on a change. */
  setHealth(status: AgentStatus): void;
  /** Closes the server (every client connection drops) and starts a new one on the same socket (with a new log, when given). */
  restart(o?: { logRing?: LogRing }): Promise<void>;
  close(): Promise<void>;
}

export function domainSummary(name: string, over: Partial<DomainSummary> = {}): DomainSummary {
  return { name, uuid: `00000000-0000-4000-8000-${String(name.length).padStart(12, '0')}`, state: 'running', latest: null, risk: null, protection: null, hasModel: false, ...over };
}

/** `logRing`: the agent's in-memory log served by agent.log (none: agent.log answers NotFound). */
export async function startTestAgent(domains: DomainSummary[] = [domainSummary('web1')], o: { logRing?: LogRing } = {}): Promise<TestAgent> {
  let logRing = o.logRing;
  const dir = mkdtempSync(join(tmpdir(), 'hefery-test-agent-'));
  const socketPath = join(dir, 'agent.sock');
  const decisions: Decision[] = [];
  const make = () => new AgentServer({
    socketPath,
    group: null,
    info: () => ({ agentVersion: '0.1.0-test', hostname: 'test-host', backend: 'dry-run' }),
    domains: { list: () => agent.domains },
    status: () => {
      if (!agent.health) throw new RpcFailure(ErrorCodes.NotFound, 'agent status is not available from this server');
      return agent.health;
    },
    store: {
      history: () => [],
      decisions: () => decisions,
      markIncident: () => 1,
    },
    ...(logRing ? { logRing } : {}),
  });
  const agent: TestAgent = {
    server: make(),
    socketPath,
    domains,
    decisions,
    health: null,
    setHealth(status) {
      agent.health = status;
      agent.server.publishStatus(status);
    },
    dial: () => new Promise((resolve, reject) => {
      const s = connect(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    }),
    sample(domain, cpuPct, risk, protection = null) {
      const sample: Sample = { domain, ts: Date.now(), state: 'running', cpuPct, memPct: 40, netRxBps: 0, netTxBps: 0, diskRdBps: 0, diskWrBps: 0 };
      const r: Risk | null = risk === undefined ? null : { ts: sample.ts, next: risk };
      agent.server.publishSample(sample, r, protection);
      return sample;
    },
    async restart(r = {}) {
      logRing = r.logRing ?? logRing;
      await agent.server.close();
      agent.server = make();
      await agent.server.listen();
    },
    async close() {
      await agent.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await agent.server.listen();
  return agent;
}
