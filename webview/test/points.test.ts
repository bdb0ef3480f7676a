import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawnValues, metricColumns, PointSeries, riskColumns } from '../src/lib/points';
import type { SamplePoint } from '../src/shared/messages';

function pt(ts: number, risk: number | null = 0.1, cpu: number | null = 5): SamplePoint {
  return {
    sample: { domain: 'vm1', ts, state: 'running', cpuPct: cpu, memPct: 40, netRxBps: 100, netTxBps: 50, diskRdBps: null, diskWrBps: null },
    risk,
  };
}

test('PointSeries keeps one point per timestamp, in time order, whatever order they arrive in', () => {
  const s = new PointSeries(60_000);
  assert.equal(s.add([pt(3000), pt(1000), pt(2000)]), 3);
  // The same points again (backfill after the stream, or a reconnect's catch-up) add nothing.
  assert.equal(s.add([pt(2000), pt(3000)]), 0);
  assert.equal(s.add([pt(4000), pt(2500)]), 2);
  assert.deepEqual(s.all.map((p) => p.sample.ts), [1000, 2000, 2500, 3000, 4000]);
});

test('PointSeries replaces a duplicate with the newer copy (e.g. the risk filled in)', () => {
  const s = new PointSeries(60_000);
  s.add([pt(1000, null), pt(2000, null)]);
  s.add([pt(1000, 0.7)]);
  assert.equal(s.size, 2);
  assert.equal(s.all[0].risk, 0.7);
});

test('PointSeries drops points older than its window behind the newest', () => {
  const s = new PointSeries(10_000);
  s.add([pt(0), pt(5_000), pt(10_000)]);
  assert.equal(s.size, 3);
  s.add([pt(15_001)]);
  assert.deepEqual(s.all.map((p) => p.sample.ts), [10_000, 15_001]);
  assert.equal(s.newestTs, 15_001);
});

test('chart columns: x in seconds; metrics summed per direction, null when both are missing', () => {
  const pts = [pt(1000, 0.2, 10), pt(2000, null, null)];
  assert.deepEqual(riskColumns(pts), [[1, 2], [0.2, null]]);
  const m = metricColumns(pts);
  assert.deepEqual(m[0], [1, 2]);
  assert.deepEqual(m[1], [10, null]);
  assert.deepEqual(m[3], [150, 150]);
  assert.deepEqual(m[4], [null, null]);
  assert.equal(drawnValues(m), 1 + 2 + 2);
});
