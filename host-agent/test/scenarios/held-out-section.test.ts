// The held-out part of the results page (scripts/scenarios/held-out-section.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossValidate, kindOf, perTraceDetector, type CrossValidationReport, type Protocol } from '../../src/evaluation/crossval';
import type { Detector } from '../../src/evaluation/detector';
import { evaluateEach, parseThresholds } from '../../src/evaluation/metrics';
import { comparison, heldOutItems, heldOutPlots, heldOutSection, perKindTable } from '../../../scripts/scenarios/held-out-section';
import { LIBRARY } from '../evaluation/fault-traces';

const OPTS = { refractoryMs: 60_000, minWarningMs: 0 };
const table = (h: string[], rows: string[][]) => [h.join('|'), ...rows.map((r) => r.join('|'))].join('\n');

/** Stand-in detectors (named as such): "hmm" scores memory, a baseline scores cpu. */
const by = (name: string, metric: 'cpu' | 'mem', scale: number) => perTraceDetector(name, (): Detector => ({ name, fit() {}, score: (rows) => rows.map((r) => Math.min(1, (r[metric] ?? 0) / scale)) }));

function reports(): Map<Protocol, CrossValidationReport[]> {
  const traces = LIBRARY();
  const out = new Map<Protocol, CrossValidationReport[]>();
  for (const protocol of ['loo', 'kind'] as const) {
    out.set(protocol, [by('hmm', 'mem', 100), by('threshold', 'cpu', 100)].map((d) => crossValidate(d, traces, { ...OPTS, protocol, thresholds: parseThresholds('0:1:0.05') })));
  }
  return out;
}

test('per fault kind: one row per kind plus all, one column per detector, each trace at its fold threshold', () => {
  const r = reports();
  const o = { traces: LIBRARY(), reports: r, kinds: ['cpu', 'mem'], opts: OPTS, raise: 0.5, table };
  const lines = perKindTable(o, r.get('loo') as CrossValidationReport[]).split('\n');
  assert.equal(lines[0], 'fault|hmm|threshold');
  assert.deepEqual(lines.slice(1).map((l) => l.split('|')[0]), ['cpu', 'mem', '**all**']);
  const loo = (r.get('loo') as CrossValidationReport[])[0];
  assert.ok(lines[3].includes(`(${loo.heldOut.tp}/${loo.heldOut.fp}/${loo.heldOut.fn})`), lines[3]);
});

test('the comparison is written from the figures: F1, false alarms, lead, kinds ahead and behind', () => {
  const r = reports();
  const o = { traces: LIBRARY(), reports: r, kinds: ['cpu', 'mem'], opts: OPTS, raise: 0.5, table };
  const [hmm, thr] = r.get('loo') as CrossValidationReport[];
  const text = comparison(o, 'loo', r.get('loo') as CrossValidationReport[]);
  assert.ok(text.includes(`held-out F1 is ${hmm.heldOut.f1.toFixed(3)} against ${thr.heldOut.f1.toFixed(3)} for the best baseline (\`threshold\`)`), text);
  const f1 = (rep: CrossValidationReport, k: string) => evaluateEach(heldOutItems(rep, (t) => kindOf(t) === k), OPTS).f1;
  const behind = ['cpu', 'mem'].filter((k) => f1(hmm, k) < f1(thr, k));
  const ahead = ['cpu', 'mem'].filter((k) => f1(hmm, k) > f1(thr, k));
  assert.ok(behind.length > 0, 'the memory scorer is behind on the cpu faults');
  assert.ok(text.includes(`ahead of every baseline on ${ahead.length ? ahead.join(', ') : 'none'}`), text);
  for (const k of behind) assert.ok(text.includes(`${k} (${f1(hmm, k).toFixed(2)} vs ${f1(thr, k).toFixed(2)})`), text);
});

test('the section: both protocols, the why, per-kind tables, the raise line; plots at each fold threshold', () => {
  const r = reports();
  const md = heldOutSection({ traces: LIBRARY(), reports: r, kinds: ['cpu', 'mem'], opts: OPTS, raise: 0.5, table }).join('\n');
  for (const h of ['### Leave-one-trace-out', '### Leave-one-fault-kind-out', '**Why.**', '#### Per fault kind, leave-one-trace-out', '#### Per fault kind, leave-one-fault-kind-out', "#### At the policy's raise line (risk 0.5)"]) assert.ok(md.includes(h), h);
  const loo = r.get('loo') as CrossValidationReport[];
  const plots = heldOutPlots(loo);
  for (const t of LIBRARY().slice(0, 1)) {
    const trace = loo[0].scored.find((s) => s.trace.name === t.name)?.trace;
    assert.ok(trace);
    assert.equal(plots[0].threshold(trace), loo[0].folds.find((f) => f.traces.includes(t.name))?.threshold);
  }
});
