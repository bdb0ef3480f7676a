// The agent's configuration: one JSON file, validated field by field with the
// protocol's schema library, so a mistake is reported with the field's path,
// e.g. `sampling.intervalMs: expected number >= 100, got string "fast"`.
// Every field is optional and defaults to the production layout. The
// `policy` and `backend` sections are passed through unvalidated (their
// owners validate them). Path fields may use `${HEFERY_RUN_DIR}` (from
// `--run-dir` or the environment); relative paths are resolved against the
// config file's directory.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LOG_LEVELS, type LogLevel } from './log';
import { bool, Infer, nullable, obj, oneOf, opt, Schema, SchemaError, str, unknownValue } from './protocol/schema';
import { PredictionSchema, resolvePrediction, type PredictionConfig } from './predictor/config';

export interface AgentConfig {
  libvirt: { uri: string; statsMode: 'auto' | 'bulk' | 'per-domain'; readOnly: boolean };
  socket: { path: string; group: string; maxConnections: number; maxSubscriptionsPerConnection: number; maxQueuedBytes: number };
  store: {
    path: string;
    retention: { days: number | null; maxRowsPerDomain: number | null; decisionDays: number | null };
    pruneIntervalMs: number;
  };
  sampling: { intervalMs: number; maxGapMs: number | null };
  modelDir: string;
  /** null: no pid file. */
  pidFile: string | null;
  logLevel: LogLevel;
  /** Opaque: validated by the policy module. */
  policy: unknown;
  /** Opaque: validated by the backends module. */
  backend: unknown;
  /** Live risk prediction and model training (predictor/config.ts). */
  prediction: PredictionConfig;
}

export const DEFAULTS = {
  libvirtUri: 'qemu:///system',
  socketPath: '/run/hefery/agent.sock',
  socketGroup: 'hefery',
  storePath: '/var/lib/hefery/hefery.db',
  modelDir: '/var/lib/hefery/models',
  pidFile: '/run/hefery/agent.pid',
  intervalMs: 1000,
  retentionDays: 30,
  maxConnections: 32,
  maxSubscriptionsPerConnection: 16,
  maxQueuedBytes: 8 << 20,
  pruneIntervalMs: 3_600_000,
} as const;

export const RUN_DIR_VAR = 'HEFERY_RUN_DIR';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A number >= min (and <= max), reported as one readable constraint whatever is wrong. */
export function number(opts: { min: number; max?: number; int?: boolean }): Schema<number> {
  const what = `${opts.int ? 'integer' : 'number'} >= ${opts.min}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}`;
  return {
    name: what,
    parse(v, p = '') {
      const ok = typeof v === 'number' && Number.isFinite(v) && v >= opts.min && (opts.max === undefined || v <= opts.max) && (!opts.int || Number.isInteger(v));
      if (!ok) throw new SchemaError(p, what, v);
      return v as number;
    },
  };
}

const path = () => str({ min: 1, max: 4096 });

const FileSchema = obj({
  $comment: opt(str()),
  libvirt: opt(obj({
    uri: opt(str({ min: 1, max: 1024 })),
    statsMode: opt(oneOf(['auto', 'bulk', 'per-domain'] as const)),
    readOnly: opt(bool()),
  })),
  socket: opt(obj({
    path: opt(path()),
    group: opt(str({ min: 1, max: 64, pattern: /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/ })),
    maxConnections: opt(number({ min: 1, max: 10_000, int: true })),
    maxSubscriptionsPerConnection: opt(number({ min: 1, max: 1000, int: true })),
    maxQueuedBytes: opt(number({ min: 65_536, int: true })),
  })),
  store: opt(obj({
    path: opt(path()),
    retention: opt(obj({
      days: opt(nullable(number({ min: 0.001 }))),
      maxRowsPerDomain: opt(nullable(number({ min: 1, int: true }))),
      decisionDays: opt(nullable(number({ min: 0.001 }))),
    })),
    pruneIntervalMs: opt(number({ min: 1000, int: true })),
  })),
  sampling: opt(obj({
    intervalMs: opt(number({ min: 100 })),
    maxGapMs: opt(nullable(number({ min: 100 }))),
  })),
  modelDir: opt(path()),
  pidFile: opt(nullable(path())),
  logLevel: opt(oneOf(LOG_LEVELS as unknown as readonly ['debug', 'info', 'warn', 'error'])),
  policy: opt(unknownValue()),
  backend: opt(unknownValue()),
  prediction: opt(PredictionSchema),
});
type FileConfig = Infer<typeof FileSchema>;

export interface ConfigContext {
  /** Directory relative paths are resolved against (the config file's). */
  baseDir: string;
  /** Value of ${HEFERY_RUN_DIR}; undefined when not given. */
  runDir?: string;
}

/** Validates a parsed JSON value and fills defaults. Throws ConfigError naming the field. */
export function parseConfig(value: unknown, ctx: ConfigContext): AgentConfig {
  let f: FileConfig;
  try {
    f = FileSchema.parse(value, '');
  } catch (e) {
    if (e instanceof SchemaError) throw new ConfigError(e.message);
    throw e;
  }
  const p = (field: string, v: string | undefined, dflt: string): string => resolvePath(field, v ?? dflt, ctx);
  const intervalMs = f.sampling?.intervalMs ?? DEFAULTS.intervalMs;
  const maxGapMs = f.sampling?.maxGapMs ?? null;
  if (maxGapMs !== null && maxGapMs < intervalMs) {
    throw new ConfigError(`sampling.maxGapMs: expected number >= sampling.intervalMs (${intervalMs}), got number ${maxGapMs}`);
  }
  const r = f.store?.retention;
  return {
    libvirt: {
      uri: f.libvirt?.uri ?? DEFAULTS.libvirtUri,
      statsMode: f.libvirt?.statsMode ?? 'auto',
      readOnly: f.libvirt?.readOnly ?? false,
    },
    socket: {
      path: p('socket.path', f.socket?.path, DEFAULTS.socketPath),
      group: f.socket?.group ?? DEFAULTS.socketGroup,
      maxConnections: f.socket?.maxConnections ?? DEFAULTS.maxConnections,
      maxSubscriptionsPerConnection: f.socket?.maxSubscriptionsPerConnection ?? DEFAULTS.maxSubscriptionsPerConnection,
      maxQueuedBytes: f.socket?.maxQueuedBytes ?? DEFAULTS.maxQueuedBytes,
    },
    store: {
      path: p('store.path', f.store?.path, DEFAULTS.storePath),
      retention: {
        days: r?.days === undefined ? DEFAULTS.retentionDays : r.days,
        maxRowsPerDomain: r?.maxRowsPerDomain ?? null,
        decisionDays: r?.decisionDays ?? null,
      },
      pruneIntervalMs: f.store?.pruneIntervalMs ?? DEFAULTS.pruneIntervalMs,
    },
    sampling: { intervalMs, maxGapMs },
    modelDir: p('modelDir', f.modelDir, DEFAULTS.modelDir),
    pidFile: f.pidFile === null ? null : p('pidFile', f.pidFile, DEFAULTS.pidFile),
    logLevel: f.logLevel ?? 'info',
    policy: f.policy ?? null,
    backend: f.backend ?? null,
    prediction: resolvePrediction(f.prediction, (m) => {
      throw new ConfigError(m);
    }),
  };
}

function resolvePath(field: string, v: string, ctx: ConfigContext): string {
  let out = v;
  if (out.includes('${')) {
    out = out.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      if (name !== RUN_DIR_VAR) throw new ConfigError(`${field}: unknown variable \${${name}} (only \${${RUN_DIR_VAR}} is supported)`);
      if (!ctx.runDir) throw new ConfigError(`${field}: uses \${${RUN_DIR_VAR}} but neither --run-dir nor the ${RUN_DIR_VAR} environment variable is set`);
      return ctx.runDir;
    });
    if (out.includes('${')) throw new ConfigError(`${field}: malformed variable in ${JSON.stringify(v)}`);
  }
  return isAbsolute(out) ? out : resolve(ctx.baseDir, out);
}

/** Reads and validates a config file. Errors start with the file name. */
export function loadConfig(file: string, opts: { runDir?: string; env?: NodeJS.ProcessEnv } = {}): AgentConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(`config ${abs}: cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config ${abs}: not valid JSON: ${(e as Error).message}`);
  }
  const envRunDir = (opts.env ?? process.env)[RUN_DIR_VAR];
  const runDir = opts.runDir ?? (envRunDir ? envRunDir : undefined);
  try {
    return parseConfig(json, { baseDir: dirname(abs), runDir: runDir ? resolve(runDir) : undefined });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`config ${abs}: ${e.message}`);
    throw e;
  }
}

/** The configuration used when no file is given: production defaults. */
export function defaultConfig(): AgentConfig {
  return parseConfig({}, { baseDir: process.cwd() });
}
