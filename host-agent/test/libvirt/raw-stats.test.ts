import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toRawStats, domainStateFromCode } from '../../src/libvirt/raw-stats';
import type { NativeStatsRecord } from '../../src/libvirt/native';

// Shaped like a real virConnectGetAllDomainStats record of a running QEMU
// guest (1 vCPU, virtio balloon with stats period 1, one NIC, one disk).
const running: NativeStatsRecord = {
  name: 'hefery-t1',
  uuid: '0b0c8f8e-3a55-4a9f-9c1e-54a1b1f0e6aa',
  params: {
    'state.state': 1, 'state.reason': 1,
    'cpu.time': 6710000000, 'cpu.user': 5220000000, 'cpu.system': 1490000000,
    'balloon.current': 131072, 'balloon.maximum': 131072,
    'balloon.swap_in': 0, 'balloon.swap_out': 0, 'balloon.major_fault': 0, 'balloon.minor_fault': 1660,
    'balloon.unused': 53388, 'balloon.available': 82032, 'balloon.usable': 59060,
    'balloon.last-update': 1795552120, 'balloon.disk_caches': 2516, 'balloon.rss': 208348,
    'vcpu.current': 1, 'vcpu.maximum': 1, 'vcpu.0.state': 1, 'vcpu.0.time': 6500000000, 'vcpu.0.wait': 0,
    'net.count': 1, 'net.0.name': 'vnet0', 'net.0.rx.bytes': 3336, 'net.0.rx.pkts': 40, 'net.0.rx.errs': 0,
    'net.0.rx.drop': 0, 'net.0.tx.bytes': 1672, 'net.0.tx.pkts': 20, 'net.0.tx.errs': 0, 'net.0.tx.drop': 0,
    'block.count': 1, 'block.0.name': 'vda', 'block.0.path': '/tmp/x/disk.qcow2',
    'block.0.rd.reqs': 25, 'block.0.rd.bytes': 12800, 'block.0.rd.times': 1000,
    'block.0.wr.reqs': 8, 'block.0.wr.bytes': 8388608, 'block.0.wr.times': 2000,
    'block.0.fl.reqs': 1, 'block.0.fl.times': 10, 'block.0.allocation': 8585216,
    'block.0.capacity': 67108864, 'block.0.physical': 8585216,
  },
};

test('maps a running QEMU record field by field', () => {
  const r = toRawStats(running, 1700000000000, 1234.5);
  assert.deepEqual(r, {
    name: 'hefery-t1',
    uuid: '0b0c8f8e-3a55-4a9f-9c1e-54a1b1f0e6aa',
    state: 'running',
    ts: 1700000000000,
    mono: 1234.5,
    cpuTimeNs: 6710000000,
    vcpus: 1,
    balloon: { currentKiB: 131072, availableKiB: 82032, usableKiB: 59060, unusedKiB: 53388, rssKiB: 208348 },
    net: { rxBytes: 3336, txBytes: 1672 },
    block: { rdBytes: 12800, wrBytes: 8388608 },
  });
});

test('sums counters over several NICs and disks', () => {
  const r = toRawStats({
    name: 'two', uuid: 'u',
    params: {
      'state.state': 1,
      'net.count': 2, 'net.0.rx.bytes': 100, 'net.0.tx.bytes': 10, 'net.1.rx.bytes': 200, 'net.1.tx.bytes': 20,
      'block.count': 2, 'block.0.rd.bytes': 1, 'block.0.wr.bytes': 2, 'block.1.rd.bytes': 30, 'block.1.wr.bytes': 40,
    },
  }, 0, 0);
  assert.deepEqual(r.net, { rxBytes: 300, txBytes: 30 });
  assert.deepEqual(r.block, { rdBytes: 31, wrBytes: 42 });
});

test('a shut-off domain (state only, as libvirt reports inactive ones) has nulls, not zeros', () => {
  const r = toRawStats({ name: 'off', uuid: 'u2', params: { 'state.state': 5, 'state.reason': 2 } }, 5, 6);
  assert.equal(r.state, 'shutoff');
  assert.equal(r.cpuTimeNs, null);
  assert.equal(r.vcpus, null);
  assert.deepEqual(r.balloon, { currentKiB: null, availableKiB: null, usableKiB: null, unusedKiB: null, rssKiB: null });
  assert.equal(r.net, null);
  assert.equal(r.block, null);
});

test('no balloon driver in the guest: only current/maximum, the rest null', () => {
  const r = toRawStats({ name: 'nb', uuid: 'u', params: { 'state.state': 1, 'balloon.current': 1048576, 'balloon.maximum': 1048576 } }, 0, 0);
  assert.equal(r.balloon.currentKiB, 1048576);
  assert.equal(r.balloon.availableKiB, null);
  assert.equal(r.balloon.usableKiB, null);
});

test('odd values are dropped: negative, NaN, strings, booleans, out-of-range devices', () => {
  const r = toRawStats({
    name: 'odd', uuid: 'u',
    params: {
      'state.state': 42,
      'cpu.time': -1,
      'vcpu.current': Number.NaN,
      'balloon.available': '82032',
      'balloon.usable': true,
      'net.count': 1, 'net.0.rx.bytes': 10, 'net.0.tx.bytes': -5, 'net.1.rx.bytes': 999,
      'block.count': 0, 'block.0.wr.bytes': 7,
    },
  }, 0, 0);
  assert.equal(r.state, 'nostate');
  assert.equal(r.cpuTimeNs, null);
  assert.equal(r.vcpus, null);
  assert.equal(r.balloon.availableKiB, null);
  assert.equal(r.balloon.usableKiB, null);
  assert.deepEqual(r.net, { rxBytes: 10, txBytes: 0 }, 'index 1 is beyond net.count, tx is negative');
  assert.equal(r.block, null, 'block.count 0 hides stray device keys');
});

test('without a count field, every numbered device counts (per-domain path of old drivers)', () => {
  const r = toRawStats({ name: 'x', uuid: 'u', params: { 'net.0.rx.bytes': 5, 'net.3.rx.bytes': 6, 'net.3.tx.bytes': 1 } }, 0, 0);
  assert.deepEqual(r.net, { rxBytes: 11, txBytes: 1 });
});

test('a record without params does not throw', () => {
  const r = toRawStats({ name: 'bare', uuid: 'u' } as unknown as NativeStatsRecord, 1, 2);
  assert.equal(r.state, 'nostate');
  assert.equal(r.net, null);
});

test('state codes follow virDomainState', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, -1, 1.5, '1'].map(domainStateFromCode),
    ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'nostate', 'nostate', 'nostate', 'nostate']);
});
