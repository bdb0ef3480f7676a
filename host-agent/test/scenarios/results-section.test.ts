// The scenario part of the results page (scripts/scenarios/results-section.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScoredTrace } from '../../src/evaluation/metrics';
import type { DetectorReport } from '../../src/evaluation/run';
import type { Trace } from '../../src/evaluation/types';
import { kindOf, kindsIn, perKindRows, scenarioSection, tracePanels } from '../../../scripts/scenarios/results-section';

const T0 = 1_800_000_000_000;

/** 60 rows at 1 s; a fault window 40..50 s (failure at 45 s); trains on the first 10 rows. */
function trace(name: string, scenario: string | null): Trace {
  const rows = Array.from({ length: 60 }, (_, i) => ({ ts: T0 + i * 1000, cpu: i >= 40 ? 90 : 10, mem: 30, net: 1000, disk: 0 }));
  return { name, rows, windows: [{ start: T0 + 40_000, failure: T0 + 45_000, end: T0 + 50_000, label: scenario ?? 'x' }], trainUntil: 10, meta: scenario ? { scenario, variant: 'v1', failureSignal: 'outage' } : {} };
}

/** A detector that alarms from row `from` of every trace on. */
function scored(traces: Trace[], from: number): ScoredTrace[] {
  return traces.map((t) => ({ trace: t, scores: t.rows.map((_, i) => (i >= from ? 1 : 0)) }));
}

const table = (h: string[], rows: string[][]) => [h.join('|'), ...rows.map((r) => r.join('|'))].join('\n');

test('fault kinds: from the meta, else the window label; catalog order first', () => {
  const ts = [trace('b', 'crash'), trace('a', 'mem-leak'), trace('c', null), trace('d', 'zzz')];
  assert.equal(kindOf(ts[2]), 'x');
  assert.deepEqual(kindsIn(ts), ['mem-leak', 'crash', 'x', 'zzz']);
});

test('per-kind rows: each kind scored on its own traces, then all together', () => {
  const ts = [trace('m1', 'mem-leak'), trace('m2', 'mem-leak'), trace('h1', 'hang')];
  const early = scored(ts, 20); // alarm at 20 s: before the window, an FP; the window still gets its TP (score above θ at its start)
  const rows = perKindRows(early, 0.5, { refractoryMs: 3_600_000, minWarningMs: 0 }, ['mem-leak', 'hang']);
  assert.deepEqual(rows.map((r) => r.slice(0, 2)), [['mem-leak', '2'], ['hang', '1'], ['**all**', '3']]);
  assert.deepEqual(rows.map((r) => r[5]), ['2/2/0', '1/1/0', '3/3/0']);
  const inTime = perKindRows(scored(ts, 42), 0.5, { refractoryMs: 60_000, minWarningMs: 0 }, ['mem-leak']);
  assert.equal(inTime[0][5], '2/0/0');
  assert.equal(inTime[0][8], '3 s', 'lead time: failure (45 s) - first alarm (42 s)');
});

test('trace panels: x in seconds from the fault, the prediction period shaded, the failure marked, one panel per detector', () => {
  const t = trace('m1', 'mem-leak');
  const report = { detector: 'ewma', best: { threshold: 0.7 }, scored: scored([t], 42) } as unknown as DetectorReport;
  const panels = tracePanels(t, [report], { ewma: '#2ca02c' });
  assert.equal(panels.length, 5);
  assert.deepEqual(panels[0].xDomain, [-40, 19]);
  assert.deepEqual(panels[0].bands, [[0, 5]]);
  assert.deepEqual(panels[0].series[1].points, [[5, 0], [5, 100]], 'failure marker at +5 s');
  assert.match(panels[0].title ?? '', /m1 \(v1\), training before -30 s/);
  assert.deepEqual(panels[4].hLines, [{ y: 0.7, label: 'best-F1 threshold 0.70' }]);
  assert.deepEqual(panels[4].series[0].points[42], [2, 1]);
});

test('the section: library table, a per-kind table per detector, one plot per kind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-results-section-'));
  try {
    const ts = [trace('m1', 'mem-leak'), trace('h1', 'hang')];
    const report = { detector: 'ewma', best: { threshold: 0.5 }, scored: scored(ts, 42) } as unknown as DetectorReport;
    const md = scenarioSection({ traces: ts, reports: [report], opts: { refractoryMs: 60_000, minWarningMs: 0 }, outDir: dir, colors: {}, table }).join('\n');
    assert.match(md, /m1\|mem-leak\|v1\|60\|40 s\|5 s\|outage/);
    assert.match(md, /### ewma per fault kind, at its best threshold 0\.50/);
    assert.match(md, /!\[m1: .*\]\(scenario-mem-leak\.svg\)/);
    assert.match(md, /!\[h1: .*\]\(scenario-hang\.svg\)/);
    assert.match(readFileSync(join(dir, 'scenario-hang.svg'), 'utf8'), /^<svg /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
