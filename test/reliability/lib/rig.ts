// The reliability tests' usual set-up: a private libvirtd with the test's
// guests, the real agent on it (qemu-colo backend, files in a temp dir) and
// a subscribed client that keeps every sample, decision and domain event it
// is sent. agentConfig() is the base every agent config of these tests
// starts from.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision, Sample } from '../../../host-agent/src/protocol/api';
import type { AgentConnection } from '../../../host-agent/src/rpc/client';
import { startAgent, type Agent } from './agent';
import { startPrivateLibvirt, type PrivateLibvirt } from './privateLibvirt';

/** Socket, store and no pid file in ${HEFERY_RUN_DIR}; `over` replaces whole sections. */
export function agentConfig(over: Record<string, unknown>): Record<string, unknown> {
  return {
    libvirt: { uri: 'qemu:///system' },
    socket: { path: '${HEFERY_RUN_DIR}/agent.sock' },
    store: { path: '${HEFERY_RUN_DIR}/hefery.db' },
    pidFile: null,
    ...over,
  };
}

export interface DomainEventNote {
  domain: string;
  event: string;
  ts: number;
}

export interface Rig {
  lv: PrivateLibvirt;
  dir: string;
  agent: Agent;
  client: AgentConnection;
  samples: Sample[];
  decisions: Decision[];
  events: DomainEventNote[];
  /** Stops client, agent and libvirtd, removes the temp dir. */
  close(): Promise<void>;
}

export interface RigOptions {
  /** Temp dir name prefix. */
  name: string;
  /** Transient guests started before the agent. */
  domains: string[];
  /** Agent config sections over agentConfig()'s (sampling, policy, backend, ...). */
  config: Record<string, unknown>;
  /** Subscribe to these domains only (default: all). */
  subscribe?: string[];
  /** An existing run directory (made by the test, e.g. with a tmpfs in it). */
  dir?: string;
}

export async function startRig(o: RigOptions): Promise<Rig> {
  const lv = await startPrivateLibvirt();
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), `hefery-rel-${o.name}-`));
  let agent: Agent | undefined;
  let client: AgentConnection | undefined;
  const close = async () => {
    client?.close();
    await agent?.stop();
    await lv.stop();
    if (!o.dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const d of o.domains) await lv.createDomain(d);
    agent = startAgent(agentConfig({ backend: { type: 'qemu-colo' }, ...o.config }), dir, join(dir, 'agent.sock'), { wrap: lv.wrap });
    await agent.ready();
    const rig: Rig = { lv, dir, agent, client: undefined as unknown as AgentConnection, samples: [], decisions: [], events: [], close };
    client = await agent.connect({
      onNotification: (name, params) => {
        if (name === 'samples.event') rig.samples.push((params as { sample: Sample }).sample);
        if (name === 'decision.event') rig.decisions.push((params as { decision: Decision }).decision);
        if (name === 'domains.event') rig.events.push(params as DomainEventNote);
      },
    });
    rig.client = client;
    await client.peer.call('samples.subscribe', o.subscribe ? { domains: o.subscribe } : {});
    return rig;
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}
