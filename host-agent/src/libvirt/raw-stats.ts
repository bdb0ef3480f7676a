// Pure mapping from libvirt's typed parameters (bulk or per-domain path) to
// the sampler's RawDomainStats. Tolerates missing, negative or oddly typed
// fields: whatever is not a finite non-negative number becomes null.

import type { DomainState } from '../protocol/api';
import type { NativeStatsRecord } from './native';
import type { RawDomainStats } from './types';

const STATES: readonly DomainState[] = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended'];

/** virDomainState code -> DomainState; unknown codes are 'nostate'. */
export function domainStateFromCode(code: unknown): DomainState {
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < STATES.length ? STATES[code] : 'nostate';
}

type Params = NativeStatsRecord['params'];

function num(params: Params, key: string): number | null {
  const v = params[key];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

/**
 * Sums `PREFIX.N.<a>` and `PREFIX.N.<b>` over devices N (< PREFIX.count when
 * given). null when no device reported either counter.
 */
function sumDevices(params: Params, prefix: string, a: string, b: string): [number, number] | null {
  const count = num(params, `${prefix}.count`);
  const re = new RegExp(`^${prefix}\\.(\\d+)\\.(${a.replace('.', '\\.')}|${b.replace('.', '\\.')})$`);
  let sumA = 0;
  let sumB = 0;
  let seen = false;
  for (const key of Object.keys(params)) {
    const m = re.exec(key);
    if (!m) continue;
    if (count !== null && Number(m[1]) >= count) continue;
    const v = num(params, key);
    if (v === null) continue;
    seen = true;
    if (m[2] === a) sumA += v;
    else sumB += v;
  }
  return seen ? [sumA, sumB] : null;
}

export function toRawStats(record: NativeStatsRecord, ts: number, mono: number): RawDomainStats {
  const p: Params = record.params && typeof record.params === 'object' ? record.params : {};
  const net = sumDevices(p, 'net', 'rx.bytes', 'tx.bytes');
  const block = sumDevices(p, 'block', 'rd.bytes', 'wr.bytes');
  return {
    name: String(record.name ?? ''),
    uuid: String(record.uuid ?? ''),
    state: domainStateFromCode(p['state.state']),
    ts,
    mono,
    cpuTimeNs: num(p, 'cpu.time'),
    vcpus: num(p, 'vcpu.current'),
    balloon: {
      currentKiB: num(p, 'balloon.current'),
      availableKiB: num(p, 'balloon.available'),
      usableKiB: num(p, 'balloon.usable'),
      unusedKiB: num(p, 'balloon.unused'),
      rssKiB: num(p, 'balloon.rss'),
    },
    net: net ? { rxBytes: net[0], txBytes: net[1] } : null,
    block: block ? { rdBytes: block[0], wrBytes: block[1] } : null,
  };
}
