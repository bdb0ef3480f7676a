// Contract between the libvirt binding (native addon + wrapper) and the
// sampler. Raw counters exactly as libvirt reports them, summed over a
// domain's devices; the sampler turns them into rates.

import type { DomainState } from '../protocol/api';

export interface RawDomainStats {
  name: string;
  uuid: string;
  state: DomainState;
  /** Wall-clock time of collection, ms since the epoch. */
  ts: number;
  /** Monotonic time of collection, ms (performance.now()-like), for rate maths. */
  mono: number;
  /** cpu.time: total guest CPU time, ns. */
  cpuTimeNs: number | null;
  /** vcpu.current */
  vcpus: number | null;
  /** balloon.* in KiB; any may be missing when the guest has no balloon driver. */
  balloon: {
    currentKiB: number | null;
    availableKiB: number | null;
    usableKiB: number | null;
    unusedKiB: number | null;
    rssKiB: number | null;
  };
  /** Sums over net.N.rx.bytes / tx.bytes; null when the domain has no interface stats. */
  net: { rxBytes: number; txBytes: number } | null;
  /** Sums over block.N.rd.bytes / wr.bytes; null when no block stats. */
  block: { rdBytes: number; wrBytes: number } | null;
}

export type DomainEventKind =
  | 'started' | 'stopped' | 'crashed' | 'suspended' | 'resumed' | 'defined' | 'undefined'
  | 'watchdog' | 'io-error' | 'reconnected' | 'disconnected';

export interface DomainEvent {
  domain: string;
  uuid: string;
  kind: DomainEventKind;
  /** libvirt's detail code or action, for the log. */
  detail: string;
  ts: number;
}

export interface StatsSource {
  /** One bulk collection of every domain (running or not). Rejects on connection loss. */
  collect(): Promise<RawDomainStats[]>;
  /** Lifecycle / watchdog / I/O error events. */
  onEvent(listener: (ev: DomainEvent) => void): void;
  close(): Promise<void>;
}

/** Pass-through to a QEMU domain's QMP monitor (libvirt-qemu). */
export interface QemuMonitor {
  /** Sends one QMP command (a JSON string) and returns the JSON reply string. */
  command(domain: string, qmpJson: string): Promise<string>;
}
