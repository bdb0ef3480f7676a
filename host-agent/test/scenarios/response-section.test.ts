// The response-time section of the results page (scripts/response-section.ts):
// the recorded lane file is checked, and the page shows what it holds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_EXPERIMENT, parseResponseReport, responseSection, SCRIPTED_EXPERIMENT } from '../../../scripts/response-section';

const table = (h: string[], rows: string[][]) => [h.join('|'), ...rows.map((r) => r.join('|'))].join('\n');

const period = (requests: number, perSecond: number, meanLatencyMs: number) => ({ requests, perSecond, meanLatencyMs });
const segments = (intervalMs: number | null) => ['stable', 'warning', 'fault'].map((name) => ({ name, intervalMs }));

function recorded() {
  return {
    when: '2026-11-25T13:39:58.499Z',
    knobs: { shortMs: 200, relaxedMs: 5000 },
    runs: [
      { mode: 'fixed', segments: segments(200) },
      { mode: 'adaptive', segments: segments(5000), tighten: { gapMs: 31_000, inEffectBeforeFaultS: 44.2 } },
      { mode: 'adaptive', segments: segments(5000), tighten: { gapMs: 80_000, inEffectBeforeFaultS: -5 } },
    ],
    byMode: {
      fixed: { runs: 2, stable: period(60, 0.67, 3505.6), warning: period(152, 1.01, 3305.7), fault: period(93, 1.55, 2254.8), total: period(305, 1.02, 3024.6), checkpoints: 118 },
      adaptive: { runs: 2, stable: period(464, 5.15, 1078.8), warning: period(608, 4.05, 985.4), fault: period(141, 2.35, 1679.2), total: period(1213, 4.04, 1101.8), checkpoints: 86 },
    },
    ratios: { stableLatencyFixedOverAdaptive: 3.25, totalLatencyFixedOverAdaptive: 2.75, newRatioFromALaterLane: 1.5 },
  };
}

test('the section shows every mode and period, the ratios (known ones in words, others by key), checkpoints and each tighten; the plot is written', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-response-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = parseResponseReport(recorded(), 'response.json');
  assert.deepEqual(report.periods, ['stable', 'warning', 'fault']);
  const md = responseSection(report, SCRIPTED_EXPERIMENT, { outDir: dir, table, source: 'response.json' }).join('\n');
  assert.match(md, /^fixed\|stable\|60\|0\.67\|3506$/m);
  assert.match(md, /^adaptive\|\*\*whole run\*\*\|1213\|4\.04\|1102$/m);
  assert.match(md, /^mean latency while stable, fixed \/ adaptive\|3\.25$/m);
  assert.match(md, /^newRatioFromALaterLane\|1\.50$/m);
  assert.match(md, /^fixed\|2\|118$/m);
  assert.match(md, /^1\|adaptive\|31\.0 s\|44\.2 s$/m);
  assert.match(md, /^2\|adaptive\|80\.0 s\|-5\.0 s$/m);
  assert.match(md, /Settings: shortMs 200, relaxedMs 5000\./);
  const svg = readFileSync(join(dir, 'response-time.svg'), 'utf8');
  assert.match(svg, /^<svg /);
  assert.match(svg, />Mean response time per period \(ms\)</);
  assert.match(md, /^- \*\*adaptive\*\*: a scripted schedule, not the agent/m);
  for (const mode of ['fixed', 'adaptive']) assert.match(svg, new RegExp(`>${mode}<`), `legend names ${mode}`);
});

test('the closed-loop experiment (agent.json): stable and fault periods, and what the agent did in each run', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-response-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const seg = ['stable', 'fault'].map((name) => ({ name }));
  const fault = (inEffect: number | null) => ({ stableSamplesAboveRaise: '0 of 60', firstRiskAboveRaiseS: 9.5, tightenRestartGapS: 40.2, tightenRequestedS: 10.1, maxRisk: 0.97, tightenedInEffectS: inEffect, tightenedBeforeFailureS: inEffect === null ? null : 120 - inEffect, intervalDuringFaultMs: [5000, 200] });
  const report = parseResponseReport({
    when: 'w', knobs: { safeMs: 200 },
    runs: [{ mode: 'fixed', segments: seg }, { mode: 'adaptive', relaxedAfterS: 75.3, segments: seg, fault: fault(50.3) }, { mode: 'adaptive', relaxedAfterS: null, segments: seg, fault: fault(null) }],
    byMode: {
      fixed: { runs: 1, stable: period(50, 0.8, 3000), fault: period(30, 0.25, 9000), total: period(80, 0.44, 5250), checkpoints: 500, stableCheckpoints: 200 },
      adaptive: { runs: 2, stable: period(400, 3.3, 900), fault: period(60, 0.25, 7000), total: period(460, 1.5, 1700), checkpoints: 300, stableCheckpoints: 40 },
    },
    ratios: { faultLatencyFixedOverAdaptive: 1.29 },
  }, 'agent.json');
  const md = responseSection(report, AGENT_EXPERIMENT, { outDir: dir, table, source: 'agent.json' }).join('\n');
  assert.match(md, /^## Response time: fixed Remus against the interval Hefery's agent decides/m);
  assert.match(md, /^- \*\*adaptive\*\*: the agent deciding/m);
  assert.match(md, /^adaptive\|fault\|60\|0\.25\|7000$/m);
  assert.match(md, /^mean latency during the fault, fixed \/ adaptive\|1\.29$/m);
  assert.match(md, /^1\|75\.3 s\|0 of 60\|9\.5 s\|10\.1 s\|40\.2 s\|50\.3 s\|69\.7 s\|0\.97$/m);
  assert.match(md, /^2\|did not relax\|0 of 60\|9\.5 s\|10\.1 s\|40\.2 s\|never\|never\|0\.97$/m);
  assert.match(readFileSync(join(dir, 'response-time-agent.svg'), 'utf8'), />Throughput per period \(requests\/s\)</);
});

test('a recorded file of another shape is an error naming the field', () => {
  const bad = recorded() as Record<string, unknown>;
  assert.throws(() => parseResponseReport({ ...bad, byMode: { fixed: { ...recorded().byMode.fixed, warning: { requests: 'many' } } } }, 'r.json'),
    /r\.json: byMode\.fixed\.warning: expected \{requests, perSecond, meanLatencyMs\} numbers/);
  assert.throws(() => parseResponseReport({ ...bad, runs: [] }, 'r.json'), /r\.json: runs: expected a non-empty array/);
  assert.throws(() => parseResponseReport([], 'r.json'), /r\.json: expected a JSON object/);
  assert.throws(() => parseResponseReport({ ...bad, byMode: { fixed: { ...recorded().byMode.fixed, checkpoints: null } } }, 'r.json'), /byMode\.fixed: checkpoints, runs: expected numbers/);
});

test('a recorded file without sums (its lane run stopped at an assertion): the sums and ratios are added up from its runs, and the page says so', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-response-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const seg = (name: string, seconds: number, requests: number, mean: number, checkpoints: number) => ({ name, wrk: { seconds, requests, perSecond: requests / seconds, latencyMs: { mean } }, checkpoints, applied: checkpoints });
  const report = parseResponseReport({
    when: 'w',
    runs: [
      { mode: 'fixed', segments: [seg('stable', 60, 120, 2000, 300), seg('fault', 120, 240, 2000, 600)] },
      { mode: 'adaptive', segments: [seg('stable', 60, 600, 300, 12), seg('fault', 120, 960, 500, 50)] },
      { mode: 'adaptive', segments: [seg('stable', 60, 600, 500, 12), seg('fault', 120, 1200, 400, 50)] },
    ],
  }, 'agent.json');
  assert.equal(report.derived, true);
  const adaptive = report.modes.get('adaptive')!;
  assert.deepEqual(adaptive.periods.get('stable'), { requests: 1200, perSecond: 10, meanLatencyMs: 400 }, 'requests over seconds, request-weighted mean latency');
  assert.equal(adaptive.checkpoints, 124);
  assert.equal(report.ratios.get('stableLatencyFixedOverAdaptive'), 5);
  assert.equal(report.ratios.get('stableThroughputAdaptiveOverFixed'), 5);
  assert.equal(report.ratios.get('checkpointsFixedOverAdaptive'), 7.26);
  const md = responseSection(report, AGENT_EXPERIMENT, { outDir: dir, table, source: 'agent.json' }).join('\n');
  assert.match(md, /added up here from its runs/);
  assert.throws(() => parseResponseReport({ runs: [{ mode: 'fixed', segments: [{ name: 'stable', wrk: {} }] }] }, 'a.json'), /a\.json: runs\[0\]\.segments\[0\]: expected \{name, wrk/);
});
