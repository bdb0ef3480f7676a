import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RateConverter } from '../../src/sampler/rate-converter';
import { Sample } from '../../src/protocol/api';
import type { RawDomainStats } from '../../src/libvirt/types';

const T0 = 1_700_000_000_000;

function raw(over: Partial<RawDomainStats> & { at: number }): RawDomainStats {
  const { at, ...rest } = over;
  return {
    name: 'vm1',
    uuid: 'u-1',
    state: 'running',
    ts: T0 + at,
    mono: 10_000 + at,
    cpuTimeNs: 0,
    vcpus: 2,
    balloon: { currentKiB: 1_048_576, availableKiB: 1_000_000, usableKiB: 750_000, unusedKiB: 700_000, rssKiB: 500_000 },
    net: { rxBytes: 0, txBytes: 0 },
    block: { rdBytes: 0, wrBytes: 0 },
    ...rest,
  };
}

function conv(maxGapMs = 10_000) {
  const reasons: string[] = [];
  const c = new RateConverter('vm1', { maxGapMs, onReject: (r) => reasons.push(r) });
  return { c, reasons };
}

const RATES = ['cpuPct', 'netRxBps', 'netTxBps', 'diskRdBps', 'diskWrBps'] as const;

test('first sample: no rates, memory from the balloon, reset flagged', () => {
  const { c } = conv();
  const { sample, reset } = c.convert(raw({ at: 0, cpuTimeNs: 5e9 }));
  assert.equal(reset, true);
  for (const k of RATES) assert.equal(sample[k], null, k);
  assert.equal(sample.memPct, 25); // (1e6 - 750e3) / 1e6
  assert.equal(sample.ts, T0);
  assert.equal(sample.state, 'running');
  Sample.parse(sample);
});

test('second sample: cpu% over vCPUs and byte rates from deltas', () => {
  const { c } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 1e9, net: { rxBytes: 1000, txBytes: 0 }, block: { rdBytes: 0, wrBytes: 4096 } }));
  // 2 s of wall time, 2 vCPUs, 1 s of CPU -> 25 %
  const { sample, reset } = c.convert(raw({ at: 2000, cpuTimeNs: 2e9, net: { rxBytes: 3000, txBytes: 500 }, block: { rdBytes: 8192, wrBytes: 4096 } }));
  assert.equal(reset, false);
  assert.equal(sample.cpuPct, 25);
  assert.equal(sample.netRxBps, 1000);
  assert.equal(sample.netTxBps, 250);
  assert.equal(sample.diskRdBps, 4096);
  assert.equal(sample.diskWrBps, 0);
});

test('rate maths use monotonic time, not wall time', () => {
  const { c } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 0 }));
  // wall clock jumped back an hour, monotonic advanced 1 s
  const { sample } = c.convert({ ...raw({ at: 1000, cpuTimeNs: 1e9 }), ts: T0 - 3_600_000 });
  assert.equal(sample.cpuPct, 50);
});

test('cpu% is clamped to 0..100', () => {
  const { c } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 0, vcpus: 1 }));
  const { sample } = c.convert(raw({ at: 1000, cpuTimeNs: 1.2e9, vcpus: 1 }));
  assert.equal(sample.cpuPct, 100);
});

test('cpu.time going backwards (restart): null rates, then rates against the new baseline', () => {
  const { c, reasons } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 50e9, net: { rxBytes: 1e6, txBytes: 1e6 } }));
  const r = c.convert(raw({ at: 1000, cpuTimeNs: 1e9, net: { rxBytes: 10, txBytes: 10 } }));
  assert.equal(r.reset, true);
  for (const k of RATES) assert.equal(r.sample[k], null, k);
  assert.match(reasons.join('\n'), /cpu\.time went backwards/);
  const next = c.convert(raw({ at: 2000, cpuTimeNs: 2e9, net: { rxBytes: 1010, txBytes: 10 } }));
  assert.equal(next.reset, false);
  assert.equal(next.sample.cpuPct, 50);
  assert.equal(next.sample.netRxBps, 1000);
});

test('a single counter going backwards nulls that field only', () => {
  const { c, reasons } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 0, net: { rxBytes: 5000, txBytes: 0 } }));
  const { sample, reset } = c.convert(raw({ at: 1000, cpuTimeNs: 1e9, net: { rxBytes: 100, txBytes: 200 } }));
  assert.equal(reset, false);
  assert.equal(sample.netRxBps, null);
  assert.equal(sample.netTxBps, 200);
  assert.equal(sample.cpuPct, 50);
  assert.match(reasons.join('\n'), /net\.rx\.bytes went backwards/);
  assert.equal(c.convert(raw({ at: 2000, cpuTimeNs: 2e9, net: { rxBytes: 600, txBytes: 200 } })).sample.netRxBps, 500);
});

test('a gap longer than maxGapMs gives no rate and a new baseline', () => {
  const { c, reasons } = conv(5000);
  c.convert(raw({ at: 0, cpuTimeNs: 0 }));
  const gap = c.convert(raw({ at: 60_000, cpuTimeNs: 30e9 }));
  assert.equal(gap.reset, true);
  assert.equal(gap.sample.cpuPct, null);
  assert.match(reasons.join('\n'), /60000 ms since the previous collection/);
  assert.equal(c.convert(raw({ at: 61_000, cpuTimeNs: 31e9 })).sample.cpuPct, 50);
});

test('monotonic time not advancing gives no rate', () => {
  const { c } = conv();
  c.convert(raw({ at: 1000, cpuTimeNs: 0 }));
  const { sample, reset } = c.convert(raw({ at: 1000, cpuTimeNs: 1e9 }));
  assert.equal(reset, true);
  assert.equal(sample.cpuPct, null);
});

test('NaN, Infinity, negative and absurd inputs are rejected per field with a reason', () => {
  const { c, reasons } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 0, net: { rxBytes: 0, txBytes: 0 }, block: { rdBytes: 0, wrBytes: 0 } }));
  const { sample } = c.convert(raw({
    at: 1000,
    cpuTimeNs: Number.NaN,
    vcpus: 2,
    net: { rxBytes: Number.POSITIVE_INFINITY, txBytes: -5 },
    block: { rdBytes: 1e15, wrBytes: 2048 }, // 1 PB in a second: absurd
    balloon: { currentKiB: null, availableKiB: Number.NaN, usableKiB: 5, unusedKiB: null, rssKiB: null },
  }));
  assert.equal(sample.cpuPct, null);
  assert.equal(sample.netRxBps, null);
  assert.equal(sample.netTxBps, null);
  assert.equal(sample.diskRdBps, null);
  assert.equal(sample.diskWrBps, 2048);
  assert.equal(sample.memPct, null);
  Sample.parse(sample);
  const all = reasons.join('\n');
  assert.match(all, /cpu\.time = NaN/);
  assert.match(all, /net\.rx\.bytes = Infinity/);
  assert.match(all, /net\.tx\.bytes = -5/);
  assert.match(all, /block\.rd\.bytes rate .* implausible/);
  assert.match(all, /balloon\.available = NaN/);
});

test('invalid vcpus rejects cpu% only', () => {
  const { c, reasons } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 0, vcpus: 0 }));
  const { sample } = c.convert(raw({ at: 1000, cpuTimeNs: 1e9, vcpus: 0, net: { rxBytes: 100, txBytes: 0 } }));
  assert.equal(sample.cpuPct, null);
  assert.equal(sample.netRxBps, 100);
  assert.match(reasons.join('\n'), /vcpu\.current 0/);
});

test('memory falls back to rss/current without balloon stats, null with neither', () => {
  const { c } = conv();
  const noBalloon = { currentKiB: 1000, availableKiB: null, usableKiB: null, unusedKiB: null, rssKiB: 400 };
  assert.equal(c.convert(raw({ at: 0, balloon: noBalloon })).sample.memPct, 40);
  const over = { ...noBalloon, rssKiB: 1200 }; // QEMU overhead above the balloon size
  assert.equal(c.convert(raw({ at: 1000, balloon: over })).sample.memPct, 100);
  const none = { currentKiB: null, availableKiB: null, usableKiB: null, unusedKiB: null, rssKiB: null };
  assert.equal(c.convert(raw({ at: 2000, balloon: none })).sample.memPct, null);
});

test('a shut-off domain has no rates; starting again restarts the baseline', () => {
  const { c } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 10e9 }));
  const off = c.convert(raw({ at: 1000, state: 'shutoff', cpuTimeNs: null, net: null, block: null }));
  assert.equal(off.reset, true);
  assert.equal(off.sample.state, 'shutoff');
  assert.equal(off.sample.memPct, null);
  const on = c.convert(raw({ at: 2000, cpuTimeNs: 20e9 }));
  assert.equal(on.reset, true, 'first sample after start has no baseline');
  assert.equal(on.sample.cpuPct, null);
  assert.equal(c.convert(raw({ at: 3000, cpuTimeNs: 21e9 })).sample.cpuPct, 50);
});

test('a redefined domain (new uuid) restarts the baseline', () => {
  const { c, reasons } = conv();
  c.convert(raw({ at: 0, cpuTimeNs: 1e9 }));
  const r = c.convert(raw({ at: 1000, cpuTimeNs: 3e9, uuid: 'u-2' }));
  assert.equal(r.reset, true);
  assert.equal(r.sample.cpuPct, null);
  assert.match(reasons.join('\n'), /uuid changed/);
});

test('vanish emits one final sample with state vanished and no values', () => {
  const { c } = conv();
  c.convert(raw({ at: 0 }));
  const s = c.vanish(T0 + 1000);
  assert.deepEqual(s, { domain: 'vm1', ts: T0 + 1000, state: 'vanished', cpuPct: null, memPct: null, netRxBps: null, netTxBps: null, diskRdBps: null, diskWrBps: null });
  Sample.parse(s);
});

test('a domain name the wire cannot carry is refused at construction', () => {
  assert.throws(() => new RateConverter('bad name; rm -rf'), /does not match/);
});

test('property: whatever the counters, every Sample validates against the wire schema', () => {
  const num = fc.oneof(
    fc.double({ noNaN: false }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 2 ** 63),
    fc.nat(),
    fc.constant(null),
  );
  const rawArb = fc.record({
    dt: fc.oneof(fc.integer({ min: -100, max: 20_000 }), fc.constant(Number.NaN)),
    cpuTimeNs: num,
    vcpus: fc.oneof(fc.integer({ min: -2, max: 64 }), fc.constant(null)),
    a: num, b: num, c: num, d: num, e: num, f: num, g: num,
    state: fc.constantFrom('running', 'paused', 'shutoff', 'crashed', 'blocked') as fc.Arbitrary<RawDomainStats['state']>,
  });
  fc.assert(fc.property(fc.array(rawArb, { minLength: 1, maxLength: 12 }), (steps) => {
    const c = new RateConverter('vm1', { maxGapMs: 10_000 });
    let mono = 0;
    for (const s of steps) {
      mono += s.dt;
      const r = c.convert({
        name: 'vm1', uuid: 'u', state: s.state, ts: T0 + Math.abs(mono || 0), mono,
        cpuTimeNs: s.cpuTimeNs, vcpus: s.vcpus,
        balloon: { currentKiB: s.a, availableKiB: s.b, usableKiB: s.c, unusedKiB: null, rssKiB: s.d },
        net: s.e === null ? null : { rxBytes: s.e, txBytes: s.f ?? 0 },
        block: s.g === null ? null : { rdBytes: s.g, wrBytes: 0 },
      });
      Sample.parse(r.sample);
    }
  }), { numRuns: 500 });
});
