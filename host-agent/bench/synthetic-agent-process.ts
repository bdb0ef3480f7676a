// Starts synthetic-agent.ts (the real daemon on the SYNTHETIC stats source)
// as a child process with an IPC channel, after installing a model trained
// by the agent's own training on the synthetic domains' history, so the
// predictor works as it does in production. Shared by the load benchmark
// and the connection-fault tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { trainModel } from '../src/hmm/train';
import type { HmmModel } from '../src/hmm/model';
import { writeModel } from '../src/predictor/modelFiles';
import type { AgentMessage, AgentRequest } from './synthetic-agent';
import { syntheticDomainName, syntheticSamples } from './synthetic-source';

const REPO_ROOT = resolve(__dirname, '..', '..');
const ENTRY = join(REPO_ROOT, 'host-agent', 'bench', 'synthetic-agent.ts');

/** A 9-state model trained on a few synthetic domains' hours (pooled), as `hefery-agent train` would. */
export function trainSyntheticModel(seed = 1): HmmModel {
  const series = Array.from({ length: 4 }, (_, i) => ({ domain: syntheticDomainName(i), samples: syntheticSamples(3600, seed + 1000 + i) }));
  return trainModel(series, { restarts: 1, maxIterations: 30, seed }).model;
}

/** Installs `model` as the newest model of synthetic domains 0..domains-1. */
export function installModel(modelDir: string, model: HmmModel, domains: number): void {
  for (let i = 0; i < domains; i++) writeModel(modelDir, syntheticDomainName(i), model);
}

export interface SyntheticAgentOptions {
  runDir: string;
  domains: number;
  seed?: number;
  intervalMs?: number;
  /** Extra top-level config sections (policy, socket limits...). */
  config?: Record<string, unknown>;
  /** Run with --expose-gc so probes measure live memory. */
  exposeGc?: boolean;
  /** Install a trained model for every domain first (default true). */
  model?: HmmModel | false;
}

export type Probe = Extract<AgentMessage, { type: 'probe' }>;

export interface SyntheticAgent {
  child: ChildProcess;
  pid: number;
  socketPath: string;
  storePath: string;
  logPath: string;
  log(): string;
  probe(): Promise<Probe>;
  collections(): Promise<number[]>;
  /** SIGTERM (graceful: the store is checkpointed), SIGKILL after 15 s. Idempotent. */
  stop(): Promise<void>;
}

/** Where the agent of `runDir` keeps its socket, store and models. */
export function agentPaths(runDir: string): { socketPath: string; storePath: string; modelDir: string } {
  return { socketPath: join(runDir, 'agent.sock'), storePath: join(runDir, 'hefery.db'), modelDir: join(runDir, 'models') };
}

export async function startSyntheticAgent(o: SyntheticAgentOptions): Promise<SyntheticAgent> {
  const { socketPath, storePath, modelDir } = agentPaths(o.runDir);
  if (o.model !== false) installModel(modelDir, o.model ?? trainSyntheticModel(o.seed), o.domains);
  const configPath = join(o.runDir, 'agent.json');
  writeFileSync(configPath, JSON.stringify({
    socket: { path: socketPath },
    store: { path: storePath },
    modelDir,
    pidFile: null,
    sampling: { intervalMs: o.intervalMs ?? 1000 },
    logLevel: 'info',
    ...o.config,
  }, null, 2));
  const logPath = join(o.runDir, 'agent.log');
  const logFd = openSync(logPath, 'a');
  const child = spawn(process.execPath, [
    ...(o.exposeGc ? ['--expose-gc'] : []), '--import', 'tsx', ENTRY,
    '--config', configPath, '--run-dir', o.runDir, '--domains', String(o.domains), '--seed', String(o.seed ?? 1),
  ], { cwd: REPO_ROOT, stdio: ['ignore', logFd, logFd, 'ipc'] });
  closeSync(logFd);
  const log = () => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const waiters: Array<(m: AgentMessage) => boolean> = [];
  child.on('message', (m: AgentMessage) => {
    const i = waiters.findIndex((w) => w(m));
    if (i >= 0) waiters.splice(i, 1);
  });
  const request = <T extends AgentMessage['type']>(type: T, req?: AgentRequest, timeoutMs = 30_000): Promise<Extract<AgentMessage, { type: T }>> =>
    new Promise((resolveP, reject) => {
      const t = setTimeout(() => reject(new Error(`the synthetic agent sent no "${type}" within ${timeoutMs} ms:\n${log().slice(-3000)}`)), timeoutMs);
      waiters.push((m) => {
        if (m.type !== type) return false;
        clearTimeout(t);
        resolveP(m as Extract<AgentMessage, { type: T }>);
        return true;
      });
      if (req) child.send(req);
    });
  const ready = request('ready', undefined, 60_000);
  const died = exited.then(() => {
    throw new Error(`the synthetic agent exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log().slice(-3000)}`);
  });
  const hello = await Promise.race([ready, died]);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return {
    child,
    pid: hello.pid,
    socketPath,
    storePath,
    logPath,
    log,
    probe: () => request('probe', { type: 'probe' }),
    collections: async () => (await request('collections', { type: 'collections' })).ts,
    stop,
  };
}
