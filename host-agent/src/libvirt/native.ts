// Loads Hefery's libvirt addon (host-agent/native, node-addon-api) and
// describes its JS surface. The addon is built by `npm run build:native`.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** One domain's typed parameters as libvirt named them ("cpu.time", "net.0.rx.bytes", ...). */
export interface NativeStatsRecord {
  name: string;
  uuid: string;
  params: Record<string, number | boolean | string>;
}

export interface NativeDomain {
  name: string;
  uuid: string;
  /** -1 when inactive. */
  id: number;
  active: boolean;
  /** virDomainState and its reason code. */
  state: number;
  reason: number;
}

/** What the addon's event thread delivers (codes are libvirt's). */
export interface NativeEvent {
  type: 'lifecycle' | 'watchdog' | 'io-error' | 'close';
  domain: string;
  uuid: string;
  /** lifecycle: virDomainEventType; watchdog / io-error: action; close: virConnectCloseReason. */
  event: number;
  /** lifecycle: the event's detail code. */
  detail: number;
  srcPath?: string;
  devAlias?: string;
  reason?: string;
}

/** Errors from the addon carry libvirt's virErrorNumber and virErrorDomain. */
export interface LibvirtError extends Error {
  code: number;
  domain: number;
}

export interface NativeConnection {
  close(): Promise<void>;
  /** Local check (no round trip): false once closed or the keepalive declared the peer dead. */
  isAlive(): boolean;
  /** virConnectGetAllDomainStats; `stats` is a mask of STATS bits (0 = all), flags are virConnectGetAllDomainStatsFlags. */
  getAllDomainStats(stats: number, flags: number): Promise<NativeStatsRecord[]>;
  /** Per-domain calls (GetInfo, MemoryStats, InterfaceStats, BlockStats) under the bulk call's key names. */
  getDomainStatsLegacy(): Promise<NativeStatsRecord[]>;
  listDomains(): Promise<NativeDomain[]>;
  /** virDomainQemuMonitorCommand with a QMP JSON command; resolves with the JSON reply. */
  qemuMonitorCommand(domain: string, command: string): Promise<string>;
  /** Lifecycle, watchdog and I/O error events plus the connection's close callback. Once per connection. */
  listen(listener: (ev: NativeEvent) => void): Promise<void>;
}

/** SO_PEERCRED (+ SO_PEERGROUPS: null on kernels without it) of a connected Unix socket's peer. */
export interface NativePeerCredentials {
  pid: number;
  uid: number;
  gid: number;
  groups: number[] | null;
}

export interface NativeAddon {
  open(uri: string, readOnly?: boolean): Promise<NativeConnection>;
  /** The peer's credentials of the connected Unix socket `fd`; throws for anything else. Absent in builds before it was added. */
  peerCredentials?: (fd: number) => NativePeerCredentials;
  /** major * 1_000_000 + minor * 1000 + release */
  libvirtVersion: number;
  STATS: { STATE: number; CPU_TOTAL: number; BALLOON: number; VCPU: number; INTERFACE: number; BLOCK: number };
}

/** libvirt's VIR_ERR_NO_SUPPORT: the driver lacks the call. */
export const VIR_ERR_NO_SUPPORT = 3;

export function isLibvirtError(e: unknown): e is LibvirtError {
  return e instanceof Error && typeof (e as Partial<LibvirtError>).code === 'number';
}

const ADDON_FILE = 'hefery_libvirt.node';
const BUILD_PATH = join('host-agent', 'native', 'build', 'Release', ADDON_FILE);

/** Where the addon may be: $HEFERY_LIBVIRT_ADDON, next to this file (bundles), or in a host-agent/native build of any parent directory. */
export function addonCandidates(fromDir: string = __dirname, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  if (env.HEFERY_LIBVIRT_ADDON) return [resolve(env.HEFERY_LIBVIRT_ADDON)];
  out.push(join(fromDir, ADDON_FILE));
  let dir = resolve(fromDir);
  for (;;) {
    out.push(join(dir, BUILD_PATH));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

let cached: NativeAddon | undefined;

/** Loads the addon once; throws a clear error when it is not built or cannot load. */
export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const candidates = addonCandidates();
  const file = candidates.find((p) => existsSync(p));
  if (!file) {
    throw new Error(`Hefery's libvirt addon is not built: run npm run build:native (looked for ${candidates[0]} and ${BUILD_PATH} in every parent directory)`);
  }
  const mod: { exports: unknown } = { exports: {} };
  try {
    process.dlopen(mod, file);
  } catch (e) {
    throw new Error(`cannot load libvirt addon ${file}: ${(e as Error).message} (rebuild it with npm run build:native)`);
  }
  const exp = mod.exports as Partial<NativeAddon> | null;
  if (!exp || typeof exp.open !== 'function' || typeof exp.STATS !== 'object') {
    throw new Error(`${file} is not Hefery's libvirt addon (no open()/STATS): run npm run build:native`);
  }
  cached = exp as NativeAddon;
  return cached;
}
