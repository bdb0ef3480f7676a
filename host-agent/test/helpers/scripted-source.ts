// What every scripted StatsSource of the tests (a test double of the libvirt
// source: the test decides what a collection returns, when it fails or
// stalls) shares: the event listeners, emit() to raise a libvirt event, and
// close(). Subclasses script collect().

import type { DomainEvent, RawDomainStats, StatsSource } from '../../src/libvirt/types';

export abstract class ScriptedSourceBase implements StatsSource {
  closed = false;
  private listeners: Array<(ev: DomainEvent) => void> = [];

  abstract collect(): Promise<RawDomainStats[]>;

  onEvent(l: (ev: DomainEvent) => void): void {
    this.listeners.push(l);
  }

  /** Raises a libvirt event to whoever listens (the sampler, the daemon). */
  emit(ev: DomainEvent): void {
    for (const l of this.listeners) l(ev);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
