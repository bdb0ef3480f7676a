// Builds the agent's ProtectionService from the config's `policy` and
// `backend` sections (cli/serve.ts wires it into the daemon).
//
// No policy section: the default policy (every domain protected, safe
// 100 ms ... relaxed 2000 ms) with the dry-run backend, and the log says so.
// A real backend needs an explicit policy: driving Remus/COLO for every
// domain because a section was forgotten would be a surprise.

import { createBackend, parseBackendConfig } from '../backends';
import type { BackendConfig } from '../backends/config';
import { ConfigError } from '../config';
import type { ProtectionContext } from '../daemon';
import type { ProtectionService } from '../rpc/services';
import { DEFAULT_POLICY, parsePolicyConfig, type PolicyConfig } from './config';
import { PolicyProtectionService } from './service';

export { parsePolicyConfig, policyFor, DEFAULT_POLICY, type PolicyConfig, type DomainPolicy } from './config';
export { Controller, PolicyError, type Intent } from './controller';
export { PolicyProtectionService } from './service';

export interface AgentSettings {
  /** config.libvirt.uri: the qemu-colo backend's default connection. */
  libvirtUri: string;
  /** config.sampling.intervalMs. */
  samplingIntervalMs: number;
}

/**
 * Validates the config's `policy` and `backend` sections together (ConfigError naming
 * the field). `hefery-agent serve` calls it right after reading the file, before it
 * opens anything, so a mistake there is reported like any other config error.
 */
export function parseProtectionConfig(policySection: unknown, backendSection: unknown, libvirtUri: string): { policy: PolicyConfig; backend: BackendConfig } {
  const policy = parsePolicyConfig(policySection);
  const backend = parseBackendConfig(backendSection, { libvirtUri });
  if ((policySection === null || policySection === undefined) && backend.type !== 'dry-run') {
    throw new ConfigError(`backend.type: "${backend.type}" needs a policy section naming the domains to protect (policy.protect); without one the agent only runs the dry-run backend`);
  }
  return { policy, backend };
}

export async function createProtection(ctx: ProtectionContext, agent: AgentSettings): Promise<ProtectionService> {
  const noPolicy = ctx.policy === null || ctx.policy === undefined;
  const { policy, backend: backendCfg } = parseProtectionConfig(ctx.policy, ctx.backend, agent.libvirtUri);
  if (noPolicy) {
    const d = DEFAULT_POLICY.defaults;
    ctx.log.info(`no policy in the config: default policy (every domain; safe ${d.safeIntervalMs} ms, relaxed ${d.relaxedIntervalMs} ms, ladder ${d.ladder.join('/')} ms) with the dry-run backend: decisions are recorded, no replication is driven`);
  }
  const backend = await createBackend(backendCfg, ctx.log.child(backendCfg.type));
  try {
    const svc = new PolicyProtectionService({ policy, backend, sink: ctx.sink, log: ctx.log, samplingIntervalMs: agent.samplingIntervalMs });
    ctx.log.info(`protecting ${policy.protect.join(', ')} with the ${backend.name} backend`);
    return svc;
  } catch (e) {
    await backend.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Time the daemon allows protection.shutdown(). A Remus restart to the safe
 * interval (fence, xl exit, new xl replicating) can take longer than the
 * daemon's default 10 s; cutting it short could leave replication stopped.
 * undefined: the daemon's default.
 */
export function shutdownBudgetMs(backendSection: unknown): number | undefined {
  let cfg;
  try {
    cfg = parseBackendConfig(backendSection, { libvirtUri: '' });
  } catch {
    return undefined; // reported by createProtection
  }
  if (cfg.type !== 'xen-remus') return undefined;
  const ready = cfg.readyPattern ? cfg.readyTimeoutMs : cfg.settleMs;
  return cfg.fenceTimeoutMs + 3 * cfg.stopTimeoutMs + ready + 5000;
}
