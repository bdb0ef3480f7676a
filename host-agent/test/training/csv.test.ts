import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSamplesCsv } from '../../src/training/csv';

test('CSV samples: timestamp formats, any subset of metrics, empty cells missing, extra columns ignored', () => {
  const c = parseSamplesCsv('timestamp,cpu,net,label\n1000,5,10,x\n2026-01-01 00:00:00,,20,y\n\n2026-01-01T00:00:01Z,7,,z\n', 'a.csv', 'vm1');
  assert.deepEqual(c.metrics, ['cpu', 'net']);
  assert.deepEqual(c.timestamps, ['1000', '2026-01-01 00:00:00', '2026-01-01T00:00:01Z']);
  assert.deepEqual(c.samples.map((s) => [s.ts, s.cpuPct, s.netRxBps, s.memPct, s.diskWrBps]), [
    [1000, 5, 10, null, null], [Date.UTC(2026, 0, 1), null, 20, null, null], [Date.UTC(2026, 0, 1, 0, 0, 1), 7, null, null, null],
  ]);
  assert.equal(c.samples[0].domain, 'vm1');
  assert.equal(parseSamplesCsv('ts,disk\n5,1\n', 'b.csv').samples[0].diskWrBps, 1);
});

const BAD: Array<[string, string, string]> = [
  ['', 'empty', 'a.csv: empty file (expected a header: timestamp plus any of cpu, mem, net, disk)'],
  ['time,cpu\n1,2\n', 'no timestamp column', 'a.csv:1: the header needs a "timestamp" (or "ts") column, got "time,cpu"'],
  ['timestamp,gpu\n1,2\n', 'no metric column', 'a.csv:1: the header has none of the metric columns cpu, mem, net, disk'],
  ['timestamp,cpu\n', 'no rows', 'a.csv: no data rows after the header'],
  ['timestamp,cpu\n1,2\n2,abc\n', 'a non-number', 'a.csv:3: cpu "abc" is not a number'],
  ['timestamp,cpu\n1,2\n2,120\n', 'a percentage above 100', 'a.csv:3: cpu 120 is not a percentage in 0..100'],
  ['timestamp,net\n1,-5\n', 'a negative rate', 'a.csv:2: net -5 is negative (bytes/s)'],
  ['timestamp,cpu\n1,2\n2,3,4\n', 'a row with too many cells', 'a.csv:3: 3 cells, the header has 2'],
  ['timestamp,cpu\n5,2\n\n4,3\n', 'time going backwards (line numbers count blank lines)', "a.csv:4: timestamp 4 is before the previous row's"],
  ['timestamp,cpu\nyesterday,2\n', 'a bad timestamp', 'a.csv:2: timestamp: "yesterday" is not a time (ms since the epoch or a date string)'],
];
for (const [text, what, message] of BAD) {
  test(`CSV with ${what}: an error naming the line`, () => {
    assert.throws(() => parseSamplesCsv(text, 'a.csv'), (e: Error) => e.name === 'CsvError' && e.message === message);
  });
}
