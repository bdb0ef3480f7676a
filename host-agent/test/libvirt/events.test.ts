import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toDomainEvent } from '../../src/libvirt/events';
import type { NativeEvent } from '../../src/libvirt/native';

const base = { domain: 'g1', uuid: 'u1', event: 0, detail: 0 };
const ev = (e: Partial<NativeEvent>): NativeEvent => ({ ...base, type: 'lifecycle', ...e });

test('lifecycle codes map to kinds with named details', () => {
  assert.deepEqual(toDomainEvent(ev({ event: 2, detail: 0 }), 7), { domain: 'g1', uuid: 'u1', kind: 'started', detail: 'booted', ts: 7 });
  assert.equal(toDomainEvent(ev({ event: 5, detail: 1 }), 0)?.kind, 'stopped');
  assert.equal(toDomainEvent(ev({ event: 5, detail: 1 }), 0)?.detail, 'destroyed');
  assert.equal(toDomainEvent(ev({ event: 3, detail: 2 }), 0)?.detail, 'ioerror');
  assert.equal(toDomainEvent(ev({ event: 4 }), 0)?.kind, 'resumed');
  assert.equal(toDomainEvent(ev({ event: 0 }), 0)?.kind, 'defined');
  assert.equal(toDomainEvent(ev({ event: 1 }), 0)?.kind, 'undefined');
  assert.equal(toDomainEvent(ev({ event: 7 }), 0)?.kind, 'suspended');
  assert.equal(toDomainEvent(ev({ event: 8, detail: 0 }), 0)?.kind, 'crashed');
});

test('a stop because of a crash is a crash', () => {
  const e = toDomainEvent(ev({ event: 5, detail: 2 }), 0);
  assert.equal(e?.kind, 'crashed');
  assert.equal(e?.detail, 'crashed');
});

test('SHUTDOWN (always followed by STOPPED) and unknown types are ignored', () => {
  assert.equal(toDomainEvent(ev({ event: 6 }), 0), null);
  assert.equal(toDomainEvent(ev({ event: 99 }), 0), null);
});

test('unknown detail codes are kept as numbers', () => {
  assert.equal(toDomainEvent(ev({ event: 5, detail: 77 }), 0)?.detail, 'detail 77');
});

test('watchdog, io-error and close events', () => {
  assert.deepEqual(toDomainEvent(ev({ type: 'watchdog', event: 2 }), 1), { domain: 'g1', uuid: 'u1', kind: 'watchdog', detail: 'reset', ts: 1 });
  const io = toDomainEvent(ev({ type: 'io-error', event: 1, devAlias: 'virtio-disk0', srcPath: '/d.qcow2', reason: 'enospc' }), 2);
  assert.equal(io?.kind, 'io-error');
  assert.equal(io?.detail, 'pause virtio-disk0 /d.qcow2 enospc');
  assert.deepEqual(toDomainEvent(ev({ type: 'close', domain: '', uuid: '', event: 2 }), 3), { domain: '', uuid: '', kind: 'disconnected', detail: 'keepalive', ts: 3 });
});
