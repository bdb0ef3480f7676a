// The real agent daemon, wired exactly as `hefery-agent serve` wires it
// (cli/serve.ts buildDeps: predictor from the model files, policy +
// backend, training), except that its stats come from the SYNTHETIC source
// (synthetic-source.ts) instead of libvirt. For the load benchmark and the
// connection-fault tests; never for production.
//
//   node [--expose-gc] --import tsx host-agent/bench/synthetic-agent.ts \
//     --config FILE [--run-dir DIR] [--domains N] [--seed S]
//
// Started with an IPC channel (child_process.fork or stdio 'ipc') it answers
// probes: { type: 'probe' } -> AgentProbe (memory after a full GC when
// --expose-gc is given, CPU time, collections so far) and
// { type: 'collections' } -> the wall time of every collection.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { buildDeps } from '../src/cli/serve';
import { loadConfig } from '../src/config';
import { Daemon, stopOnSignals } from '../src/daemon';
import { createLogger } from '../src/log';
import { SyntheticStatsSource } from './synthetic-source';

export type AgentRequest = { type: 'probe' } | { type: 'collections' };
export type AgentMessage =
  | { type: 'ready'; socket: string; pid: number }
  | { type: 'probe'; at: number; rss: number; heapUsed: number; external: number; cpuUs: number; collections: number }
  | { type: 'collections'; ts: number[] };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      'run-dir': { type: 'string' },
      domains: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
    },
  });
  if (!values.config) throw new Error('--config FILE is required');
  const config = loadConfig(values.config, { runDir: values['run-dir'] });
  const log = createLogger({ level: config.logLevel });
  const source = new SyntheticStatsSource({ domains: Number(values.domains), seed: Number(values.seed) });
  log.warn(`SYNTHETIC stats source: ${source.domains.length} made-up domains (benchmark/test agent, not libvirt)`);
  const daemon = await Daemon.start(config, { ...buildDeps(config, log), openSource: async () => source });

  const send = (m: AgentMessage) => process.send?.(m);
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (raw: AgentRequest) => {
    if (raw?.type === 'probe') {
      gc?.(); // live memory, not garbage waiting for the next collection
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      send({ type: 'probe', at: performance.timeOrigin + performance.now(), rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, cpuUs: cpu.user + cpu.system, collections: source.collections.length });
    } else if (raw?.type === 'collections') {
      send({ type: 'collections', ts: [...source.collections] });
    }
  });
  // The parent going away must not leave an agent behind.
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  send({ type: 'ready', socket: config.socket.path, pid: process.pid });
  const code = await new Promise<number>((resolve) => stopOnSignals(daemon, log, resolve));
  process.exit(code);
}

main().catch((e: unknown) => {
  process.stderr.write(`synthetic-agent: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
