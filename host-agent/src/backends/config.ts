// The agent config's `backend` section, validated field by field so a
// mistake names its path, e.g. `backend.minRestartIntervalMs: expected
// integer >= 0, got string "10s"`. One shape per backend `type`:
//
//   { "type": "dry-run" }
//   { "type": "qemu-colo", "uri": "qemu:///system" }
//   { "type": "xen-remus", "destination": "backup-host", "fence": ["ssh", "backup-host", "xl", "destroy", "{domain}--incoming"], ... }
//
// Absent section: dry-run.

import { ConfigError, number } from '../config';
import { DOMAIN_NAME } from '../protocol/api';
import { arr, nullable, obj, oneOf, opt, record, Schema, SchemaError, str } from '../protocol/schema';

export const BACKEND_TYPES = ['dry-run', 'qemu-colo', 'xen-remus'] as const;
export type BackendType = (typeof BACKEND_TYPES)[number];

export interface DryRunConfig {
  type: 'dry-run';
}

export interface QemuColoConfig {
  type: 'qemu-colo';
  /** libvirt URI of the QEMU driver (default: the agent's libvirt.uri). */
  uri: string;
}

export interface XenRemusConfig {
  type: 'xen-remus';
  /** The xl executable: an absolute path, or a name looked up in PATH (never through a shell). */
  xl: string;
  /** Extra `xl remus` options, placed after `-i MS` and before the domain, e.g. ["-F", "-n", "-d", "-s", ""]. */
  args: string[];
  /** Host argument of `xl remus` for every domain (xl runs it in `sh -c` on its side, so shell syntax is refused). null: only `destinations`. */
  destination: string | null;
  /** Per-domain host arguments, by exact domain name; they win over `destination`. */
  destinations: Record<string, string>;
  /**
   * Run before replication of a domain is stopped (interval change = restart): stops the
   * secondary's copy so it does not fail over when the primary's stream ends, e.g.
   * ["ssh", "backup", "xl", "destroy", "{domain}--incoming"]. `{domain}` is replaced by the
   * validated domain name; argv, never a shell. null: no fencing (documented split-brain risk).
   */
  fence: string[] | null;
  /** Minimum time between two restarts of one domain's replication, ms. */
  minRestartIntervalMs: number;
  /** A new `xl remus` counts as replicating once it stayed up this long (or printed readyPattern), ms. */
  settleMs: number;
  /** Regular expression matched against xl's output lines: the first checkpoint happened. null: settleMs only. */
  readyPattern: string | null;
  /** Longest wait for readyPattern, ms. */
  readyTimeoutMs: number;
  /** Wait for xl to exit after fencing, then after SIGTERM, ms each. */
  stopTimeoutMs: number;
  /** Longest run of the fence command (it may ssh to the secondary), ms. */
  fenceTimeoutMs: number;
  /** Backoff of the automatic restart after xl died unexpectedly, ms. */
  retry: { initialMs: number; maxMs: number };
  /** Where `<domain>.json` (pid, argv) and `<domain>.log` (xl's output) live, so a restarted agent adopts running replication. */
  stateDir: string;
  /** Shortest interval passed to `-i`, ms. */
  minIntervalMs: number;
}

export type BackendConfig = DryRunConfig | QemuColoConfig | XenRemusConfig;

export interface BackendDefaults {
  /** The agent's libvirt URI (qemu-colo default). */
  libvirtUri: string;
}

export const XEN_REMUS_DEFAULTS = {
  xl: 'xl',
  minRestartIntervalMs: 30_000,
  settleMs: 3000,
  readyTimeoutMs: 120_000,
  stopTimeoutMs: 10_000,
  fenceTimeoutMs: 30_000,
  retry: { initialMs: 1000, maxMs: 60_000 },
  stateDir: '/var/lib/hefery/remus',
  minIntervalMs: 20,
} as const;

/**
 * Characters xl's `sh -c` would interpret are refused in a destination: it is a
 * host name, user@host, or (with `-s ''`) a plain receive command line.
 */
export const DESTINATION = /^[A-Za-z0-9@%+=:,./\[\]_ -]{1,1024}$/;

const argvItem = () => str({ max: 4096, pattern: /^[^\0]*$/ });
const ms = (min = 0) => number({ min, int: true });

const TypeOnly = obj({ type: oneOf(BACKEND_TYPES) }, { allowExtra: true });

const DryRunSchema = obj({ type: oneOf(['dry-run'] as const), $comment: opt(str()) });

const QemuColoSchema = obj({
  type: oneOf(['qemu-colo'] as const),
  $comment: opt(str()),
  uri: opt(str({ min: 1, max: 1024 })),
});

const XenRemusSchema = obj({
  type: oneOf(['xen-remus'] as const),
  $comment: opt(str()),
  xl: opt(str({ min: 1, max: 4096, pattern: /^[^\0]+$/ })),
  args: opt(arr(argvItem(), { max: 32 })),
  destination: opt(nullable(str({ pattern: DESTINATION }))),
  destinations: opt(record(str({ pattern: DESTINATION }), { maxKeys: 10_000 })),
  fence: nullable(arr(argvItem(), { min: 1, max: 64 })),
  minRestartIntervalMs: opt(ms()),
  settleMs: opt(ms()),
  readyPattern: opt(nullable(str({ min: 1, max: 1024 }))),
  readyTimeoutMs: opt(ms(1)),
  stopTimeoutMs: opt(ms(1)),
  fenceTimeoutMs: opt(ms(1)),
  retry: opt(obj({ initialMs: opt(ms(1)), maxMs: opt(ms(1)) })),
  stateDir: opt(str({ min: 1, max: 4096 })),
  minIntervalMs: opt(ms(1)),
});

function parse<T>(schema: Schema<T>, value: unknown): T {
  try {
    return schema.parse(value, 'backend');
  } catch (e) {
    if (e instanceof SchemaError) throw new ConfigError(e.message);
    throw e;
  }
}

/** Validates the config's `backend` section (null/undefined: dry-run). Throws ConfigError naming the field. */
export function parseBackendConfig(value: unknown, defaults: BackendDefaults): BackendConfig {
  if (value === null || value === undefined) return { type: 'dry-run' };
  const { type } = parse(TypeOnly, value);
  switch (type) {
    case 'dry-run':
      parse(DryRunSchema, value);
      return { type };
    case 'qemu-colo':
      return { type, uri: parse(QemuColoSchema, value).uri ?? defaults.libvirtUri };
    case 'xen-remus':
      return xenRemus(parse(XenRemusSchema, value));
  }
}

function xenRemus(v: ReturnType<typeof XenRemusSchema.parse>): XenRemusConfig {
  const D = XEN_REMUS_DEFAULTS;
  const args = v.args ?? [];
  checkRemusArgs(args);
  const destinations = v.destinations ?? {};
  for (const name of Object.keys(destinations)) {
    if (!DOMAIN_NAME.test(name)) throw new ConfigError(`backend.destinations.${name}: not a valid domain name (expected ${DOMAIN_NAME})`);
  }
  const destination = v.destination ?? null;
  if (destination === null && Object.keys(destinations).length === 0) {
    throw new ConfigError('backend.destination: required (the `xl remus` host argument) unless backend.destinations names one per domain');
  }
  if (v.readyPattern) {
    try {
      new RegExp(v.readyPattern);
    } catch (e) {
      throw new ConfigError(`backend.readyPattern: not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const retry = { initialMs: v.retry?.initialMs ?? D.retry.initialMs, maxMs: v.retry?.maxMs ?? D.retry.maxMs };
  if (retry.maxMs < retry.initialMs) throw new ConfigError(`backend.retry.maxMs: expected >= backend.retry.initialMs (${retry.initialMs}), got number ${retry.maxMs}`);
  return {
    type: 'xen-remus',
    xl: v.xl ?? D.xl,
    args,
    destination,
    destinations,
    fence: v.fence,
    minRestartIntervalMs: v.minRestartIntervalMs ?? D.minRestartIntervalMs,
    settleMs: v.settleMs ?? D.settleMs,
    readyPattern: v.readyPattern ?? null,
    readyTimeoutMs: v.readyTimeoutMs ?? D.readyTimeoutMs,
    stopTimeoutMs: v.stopTimeoutMs ?? D.stopTimeoutMs,
    fenceTimeoutMs: v.fenceTimeoutMs ?? D.fenceTimeoutMs,
    retry,
    stateDir: v.stateDir ?? D.stateDir,
    minIntervalMs: v.minIntervalMs ?? D.minIntervalMs,
  };
}

/**
 * `xl remus` options (getopt "Fbundi:s:N:ecp") an operator may add: -F -u -n -d -e and
 * -s CMD / -N SCRIPT. Refused: -i (the backend's), -c/-p (COLO: no interval), -b
 * (blackhole: checkpoints go nowhere), positional words (domain and host are the backend's).
 */
function checkRemusArgs(args: readonly string[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const at = i;
    const bad = (why: string) => new ConfigError(`backend.args[${at}]: "${a}" ${why}`);
    if (!a.startsWith('-') || a === '-' || a.startsWith('--')) throw bad('is not an xl remus option (the backend adds the domain and host itself)');
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      if (c === 's' || c === 'N') {
        if (j === a.length - 1) i++; // the value is the next item
        if (i >= args.length) throw bad(`needs a value after -${c}`);
        break;
      }
      if (c === 'i') throw bad('is not allowed: the backend sets -i (the interval) itself');
      if (c === 'c' || c === 'p') throw bad('is not allowed: -c/-p switch xl to COLO, which has no checkpoint interval');
      if (c === 'b') throw bad('is not allowed: -b (blackhole) replicates to nowhere');
      if (!'Funde'.includes(c)) throw bad(`has an unknown xl remus option -${c}`);
    }
  }
}
