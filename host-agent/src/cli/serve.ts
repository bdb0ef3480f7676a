// `hefery-agent serve`: runs the daemon until SIGTERM/SIGINT.
// This is where the modules of the other parts of Hefery are wired in (see
// the SEAM lines in buildDeps).

import { resolve } from 'node:path';
import { ConfigError, defaultConfig, loadConfig, type AgentConfig } from '../config';
import { Daemon, stopOnSignals, type DaemonDeps } from '../daemon';
import { LibvirtStatsSource, loadAddon } from '../libvirt';
import { createLogger, LOG_LEVELS, LogRing, type LogLevel, type Logger } from '../log';
import { createProtection, parseProtectionConfig, shutdownBudgetMs } from '../policy';
import { predictorFactory } from '../predictor/factory';
import { TrainingJobs } from '../training/service';
import { EXIT, parseCommandLine, UsageError } from './common';

export const usage = `usage: hefery-agent serve [--config FILE] [--run-dir DIR] [--log-level debug|info|warn|error]

Runs the agent: samples every libvirt domain, predicts risk, adapts the
checkpoint interval, serves the API on a Unix socket. Stops on SIGTERM/SIGINT.

  --config FILE     JSON config (default: built-in production defaults)
  --run-dir DIR     value of \${HEFERY_RUN_DIR} in the config's paths
                    (default: the HEFERY_RUN_DIR environment variable)
  --log-level L     overrides the config's logLevel`;

export function buildDeps(config: AgentConfig, log: Logger, logRing?: LogRing): DaemonDeps {
  return {
    log,
    logRing,
    openSource: (c) => LibvirtStatsSource.open(c.libvirt.uri, { mode: c.libvirt.statsMode, readOnly: c.libvirt.readOnly }),
    predictorFor: predictorFactory(config.modelDir, config.prediction.predictor, log.child('predictor')),
    protection: (ctx) => createProtection(ctx, { libvirtUri: config.libvirt.uri, samplingIntervalMs: config.sampling.intervalMs }),
    shutdownTimeoutMs: shutdownBudgetMs(config.backend),
    training: (ctx) => new TrainingJobs(ctx, { defaults: config.prediction.training }),
    peerCredentials: peerCredentialsReader(log),
  };
}

/** The addon's SO_PEERCRED reader; undefined (said in the log) when this build lacks it. */
function peerCredentialsReader(log: Logger): DaemonDeps['peerCredentials'] {
  let read;
  try {
    read = loadAddon().peerCredentials;
  } catch (e) {
    log.warn(`peer credentials are not checked: ${(e as Error).message}`);
    return undefined;
  }
  if (!read) log.warn('peer credentials are not checked: the libvirt addon predates peerCredentials (npm run build:native)');
  return read;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    config: { type: 'string' },
    'run-dir': { type: 'string' },
    'log-level': { type: 'string' },
  });
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  }
  let config: AgentConfig;
  try {
    config = values.config ? loadConfig(values.config, { runDir: values['run-dir'] }) : defaultConfig();
    // The policy and backend sections too, before anything is opened, named like the other config errors.
    try {
      parseProtectionConfig(config.policy, config.backend, config.libvirt.uri);
    } catch (e) {
      if (e instanceof ConfigError && values.config) throw new ConfigError(`config ${resolve(values.config)}: ${e.message}`);
      throw e;
    }
  } catch (e) {
    if (e instanceof ConfigError) throw Object.assign(new Error(e.message), { exitCode: EXIT.failure });
    throw e;
  }
  if (level) config.logLevel = level as LogLevel;
  // Every line goes to stderr (the journal) and to a ring a remote client can read (agent.log).
  const logRing = new LogRing();
  const log = createLogger({ level: config.logLevel, tee: (r) => logRing.push(r) });
  if (!values.config) log.info('no --config given: using the built-in defaults');

  const daemon = await Daemon.start(config, buildDeps(config, log, logRing));
  // A bug somewhere must not leave replication at a relaxed interval: a stray
  // rejection is logged; an uncaught exception stops the daemon gracefully
  // (protection shutdown = safest interval) and exits 1.
  process.on('unhandledRejection', (e) => log.error(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));
  process.on('uncaughtException', (e) => {
    log.error(`uncaught exception, stopping: ${e.stack ?? e.message}`);
    daemon.stop().finally(() => process.exit(EXIT.failure));
  });
  const code = await new Promise<number>((resolve) => stopOnSignals(daemon, log, resolve));
  // Something native (libvirt's event thread) may keep the loop alive: do not hang after a stop.
  setTimeout(() => process.exit(code), 2000).unref();
  return code;
}
