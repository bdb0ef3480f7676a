// Pure mapping from the addon's raw events (libvirt codes) to DomainEvent.

import type { NativeEvent } from './native';
import type { DomainEvent, DomainEventKind } from './types';

// virDomainEventType -> kind and detail names (libvirt-domain.h order).
const LIFECYCLE: ReadonlyArray<{ kind: DomainEventKind | null; details: readonly string[] }> = [
  { kind: 'defined', details: ['added', 'updated', 'renamed', 'from-snapshot'] },
  { kind: 'undefined', details: ['removed', 'renamed'] },
  { kind: 'started', details: ['booted', 'migrated', 'restored', 'from-snapshot', 'wakeup', 'recreated'] },
  { kind: 'suspended', details: ['paused', 'migrated', 'ioerror', 'watchdog', 'restored', 'from-snapshot', 'api-error', 'postcopy', 'postcopy-failed'] },
  { kind: 'resumed', details: ['unpaused', 'migrated', 'from-snapshot', 'postcopy', 'postcopy-failed'] },
  { kind: 'stopped', details: ['shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from-snapshot', 'recreated'] },
  // SHUTDOWN only says the guest finished shutting down; a STOPPED event follows.
  { kind: null, details: ['finished', 'guest', 'host'] },
  { kind: 'suspended', details: ['memory', 'disk'] },
  { kind: 'crashed', details: ['panicked', 'crashloaded'] },
];
const WATCHDOG_ACTIONS = ['none', 'pause', 'reset', 'poweroff', 'shutdown', 'debug', 'inject-nmi'];
const IO_ERROR_ACTIONS = ['none', 'pause', 'report'];
const CLOSE_REASONS = ['error', 'eof', 'keepalive', 'client'];

function name(list: readonly string[], code: number, what: string): string {
  return Number.isInteger(code) && code >= 0 && code < list.length ? list[code] : `${what} ${code}`;
}

/** null for events Hefery does not act on (e.g. SHUTDOWN, which a STOPPED follows). */
export function toDomainEvent(ev: NativeEvent, ts: number): DomainEvent | null {
  switch (ev.type) {
    case 'lifecycle': {
      const entry = LIFECYCLE[ev.event];
      if (!entry) return null;
      let kind = entry.kind;
      if (kind === null) return null;
      // A domain stopped because it crashed is a crash, not an orderly stop.
      if (kind === 'stopped' && ev.detail === 2) kind = 'crashed';
      return { domain: ev.domain, uuid: ev.uuid, kind, detail: name(entry.details, ev.detail, 'detail'), ts };
    }
    case 'watchdog':
      return { domain: ev.domain, uuid: ev.uuid, kind: 'watchdog', detail: name(WATCHDOG_ACTIONS, ev.event, 'action'), ts };
    case 'io-error': {
      const parts = [name(IO_ERROR_ACTIONS, ev.event, 'action'), ev.devAlias, ev.srcPath, ev.reason].filter((s) => s);
      return { domain: ev.domain, uuid: ev.uuid, kind: 'io-error', detail: parts.join(' '), ts };
    }
    case 'close':
      return { domain: '', uuid: '', kind: 'disconnected', detail: name(CLOSE_REASONS, ev.event, 'reason'), ts };
    default:
      return null;
  }
}
