// The held-out evaluation protocol (evaluation/crossval.ts): leave one trace
// (or one fault kind) out, thresholds chosen on the training folds only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseThreshold, crossValidate, groupOf, kindOf, perTraceDetector, type CrossValidatedDetector, type FoldData } from '../../src/evaluation/crossval';
import type { Row } from '../../src/evaluation/detector';
import { crossValidatedHmm, hmmCandidates, windowIncidents } from '../../src/evaluation/hmmDetector';
import { evaluateAt, evaluateEach, parseThresholds, sweep, type ScoredTrace, type ThresholdMetrics } from '../../src/evaluation/metrics';
import type { Trace } from '../../src/evaluation/types';
import { run } from '../../src/cli/evaluate';
import { faultTrace, LIBRARY, T0 } from './fault-traces';

const SEC = 1000;
const SWEEP = parseThresholds('0:1:0.05');
const OPTS = { thresholds: SWEEP, refractoryMs: 60_000 };
/** Small and quick, still the agent's training and live predictor. */
const QUICK_HMM = { restarts: 1, maxIterations: 15 };

/** A stand-in detector (named as such) that records every fold it is trained on and scores cpu / 100. */
function spy(log: Array<{ fold: FoldData; scored: string[] }>, names: Map<readonly Row[], string>): CrossValidatedDetector {
  return {
    name: 'spy',
    train(fold) {
      const entry = { fold, scored: [] as string[] };
      log.push(entry);
      return {
        score(rows) {
          entry.scored.push(names.get(rows) ?? '?');
          return rows.map((x) => Math.min(1, (x.cpu ?? 0) / 100));
        },
      };
    },
  };
}

test('groups: one trace each (loo) or one fault kind each (kind)', () => {
  const t = faultTrace('a', 'mem', 1);
  assert.equal(groupOf('loo', t), 'a');
  assert.equal(groupOf('kind', t), 'mem');
  assert.equal(kindOf({ ...t, meta: {} }), 'mem', 'the window label when the meta has no scenario');
  assert.equal(kindOf({ ...t, meta: {}, windows: [] }), 'other');
});

test('no model ever scores a trace whose labels (or, leaving kinds out, whose kind) it was trained on', () => {
  const traces = LIBRARY();
  for (const protocol of ['loo', 'kind'] as const) {
    const log: Array<{ fold: FoldData; scored: string[] }> = [];
    const r = crossValidate(spy(log, new Map(traces.map((t) => [t.rows, t.name]))), traces, { ...OPTS, protocol });
    const groups = protocol === 'loo' ? 4 : 2;
    assert.equal(r.trainings, groups + (groups * (groups - 1)) / 2, 'outer models + one inner model per pair of groups');
    assert.equal(log.length, r.trainings);
    for (const { fold, scored } of log) {
      for (const name of scored) {
        const t = traces.find((x) => x.name === name) as Trace;
        assert.ok(!fold.labelled.includes(t), `${protocol}: ${name} scored by a model trained on its labels`);
        if (protocol === 'kind') assert.ok(fold.labelled.every((l) => kindOf(l) !== kindOf(t)), `${name} scored by a model that saw its kind`);
        // what it may know of the scored trace: its unlabelled training part
        assert.ok(fold.unlabelled.some((u) => u.length === 50 && u[0] === t.rows[0]));
      }
    }
    assert.deepEqual(r.scored.map((s) => s.trace.name), traces.map((t) => t.name), 'reported in input order');
  }
});

test("the scored trace's labels cannot influence its own scores or its threshold (the real HMM, both protocols)", () => {
  const traces = LIBRARY();
  // mem-1 relabelled: its window moved to the normal period and a second one added
  const relabelled = traces.map((t) => (t.name !== 'mem-1' ? t : { ...t, windows: [{ start: T0 + 60 * SEC, failure: T0 + 70 * SEC, end: T0 + 75 * SEC, label: 'mem' }, { start: T0 + 90 * SEC, end: T0 + 95 * SEC, label: 'mem' }] }));
  for (const protocol of ['loo', 'kind'] as const) {
    const a = crossValidate(crossValidatedHmm({ train: QUICK_HMM }), traces, { ...OPTS, protocol });
    const b = crossValidate(crossValidatedHmm({ train: QUICK_HMM }), relabelled, { ...OPTS, protocol });
    const scoresOf = (r: typeof a) => r.scored.find((s) => s.trace.name === 'mem-1')?.scores;
    assert.deepEqual(scoresOf(b), scoresOf(a), `${protocol}: held-out scores of mem-1 unchanged`);
    const foldOf = (r: typeof a) => r.folds.find((f) => f.traces.includes('mem-1'));
    assert.equal(foldOf(b)?.threshold, foldOf(a)?.threshold, `${protocol}: mem-1's threshold unchanged`);
    // ...while the other traces' models did learn from mem-1's labels
    const other = (r: typeof a) => r.scored.find((s) => s.trace.name === 'cpu-1')?.scores;
    assert.notDeepEqual(other(b), other(a), `${protocol}: cpu-1's model trains on mem-1's labels`);
  }
});

test('the threshold of a fold is chosen on the other groups only, and the held-out counts use it', () => {
  const traces = LIBRARY();
  const det = perTraceDetector('cpu', () => ({ name: 'cpu', fit() {}, score: (rows) => rows.map((x) => Math.min(1, (x.cpu ?? 0) / 100)) }));
  const r = crossValidate(det, traces, { ...OPTS, protocol: 'loo' });
  for (const f of r.folds) {
    const others: ScoredTrace[] = r.scored.filter((s) => !f.traces.includes(s.trace.name));
    assert.equal(f.threshold, chooseThreshold(sweep(others, SWEEP, OPTS))?.threshold, f.group);
  }
  const each = r.folds.map((f) => evaluateAt(r.scored.filter((s) => f.traces.includes(s.trace.name)), f.threshold, OPTS));
  assert.equal(r.heldOut.tp, each.reduce((s, m) => s + m.tp, 0));
  assert.equal(r.heldOut.fp, each.reduce((s, m) => s + m.fp, 0));
  assert.equal(r.best?.f1, Math.max(...r.sweep.map((m) => m.f1)), 'in-sample best on the same scores');
});

test('the real HMM under the protocol predicts the faults of a kind it has seen, ahead of the failure', () => {
  const r = crossValidate(crossValidatedHmm({ train: QUICK_HMM }), LIBRARY(), { ...OPTS, protocol: 'loo' });
  assert.ok(r.heldOut.tp >= 3, JSON.stringify(r.heldOut));
  assert.ok((r.heldOut.leadTimeMedianMs ?? 0) >= 10 * SEC, `lead ${r.heldOut.leadTimeMedianMs}`);
  for (const s of r.scored) assert.ok(s.scores.every((x) => x >= 0 && x <= 1));
});

test('variants: each fold picks the candidate with the best inner F1, trained once per fold when they share a training', () => {
  const candidates = hmmCandidates({ train: QUICK_HMM });
  assert.deepEqual(candidates.map((c) => c.name), ['hmm', 'hmm/horizon', 'hmm/healthy-thresholds', 'hmm/healthy-thresholds/horizon']);
  const r = crossValidate(candidates, LIBRARY(), { ...OPTS, protocol: 'kind', name: 'hmm-select' });
  assert.equal(r.detector, 'hmm-select');
  for (const f of r.folds) assert.ok(candidates.some((c) => c.name === f.chosen), f.chosen);
  assert.equal(r.trainings, 4 * 1 + 2, 'four candidates per inner pair, then one outer model per fold');
});

test('chooseThreshold takes the middle of the widest best-F1 plateau; evaluateEach pools per-trace thresholds', () => {
  const row = (threshold: number, f1: number) => ({ threshold, f1 }) as ThresholdMetrics;
  assert.equal(chooseThreshold([row(0.1, 0.5), row(0.2, 0.8), row(0.3, 0.8), row(0.4, 0.8), row(0.5, 0.6), row(0.6, 0.8)])?.threshold, 0.3);
  assert.equal(chooseThreshold([row(0.1, 0.8), row(0.2, 0.5), row(0.3, 0.8)])?.threshold, 0.3, 'equal runs: the higher');
  assert.equal(chooseThreshold([]), null);
  const [a, b] = LIBRARY().slice(0, 2).map((trace) => ({ trace, scores: trace.rows.map((x) => (x.cpu ?? 0) / 100) }));
  const m = evaluateEach([{ st: a, threshold: 0.5 }, { st: b, threshold: 0.99 }], OPTS);
  const ma = evaluateAt([a], 0.5, OPTS);
  const mb = evaluateAt([b], 0.99, OPTS);
  assert.deepEqual([m.tp, m.fp, m.fn], [ma.tp + mb.tp, ma.fp + mb.fp, ma.fn + mb.fn]);
  assert.ok(Number.isNaN(m.threshold), 'no single threshold');
});

test('fault windows become the incidents the agent would store', () => {
  assert.deepEqual(windowIncidents([{ start: 10, failure: 20, end: 30 }, { start: 40, end: 50 }, { start: 60, failure: 60, end: 70 }]), [
    { from: 10, to: 19, health: 'abnormal' }, { from: 20, to: 30, health: 'failed' }, { from: 40, to: 50, health: 'abnormal' }, { from: 60, to: 70, health: 'failed' },
  ]);
});

test('one group is not enough to hold anything out', () => {
  const t = LIBRARY();
  assert.throws(() => crossValidate(perTraceDetector('x', () => ({ name: 'x', fit() {}, score: (rows) => rows.map(() => 0) })), [t[0], t[1]], { ...OPTS, protocol: 'kind' }), /leave-one-fault-kind-out needs traces of at least two groups, got 1 \(cpu\)/);
});

function jsonl(t: Trace): string {
  return [JSON.stringify({ kind: 'meta', name: t.name, scenario: t.meta?.scenario, trainUntil: t.rows[t.trainUntil ?? 0].ts }), ...t.rows.map((r) => JSON.stringify({ kind: 'sample', ...r })), ...t.windows.map((w) => JSON.stringify({ kind: 'fault', ...w }))].join('\n') + '\n';
}

test('hefery-agent evaluate --protocol loo,kind reports held-out metrics per fold and writes the JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-cv-'));
  try {
    for (const t of LIBRARY()) writeFileSync(join(dir, `${t.name}.jsonl`), jsonl(t));
    const json = join(dir, 'out.json');
    assert.equal(await run(['--traces', dir, '--protocol', 'loo,kind', '--detectors', 'threshold,ewma', '--refractory', '1m', '--json', json]), 0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { thresholds: number[]; protocols: string[]; detectors: Array<{ detector: string; protocol: string; heldOut: { tp: number; fn: number }; folds: Array<{ group: string; threshold: number; heldOut: { tp: number } }> }> };
    assert.equal(doc.thresholds.length, 101, 'a fine sweep by default');
    assert.deepEqual(doc.detectors.map((d) => `${d.protocol}:${d.detector}`), ['loo:threshold', 'loo:ewma', 'kind:threshold', 'kind:ewma']);
    const loo = doc.detectors[0];
    assert.deepEqual(loo.folds.map((f) => f.group), ['cpu-1', 'cpu-2', 'mem-1', 'mem-2']);
    assert.equal(loo.heldOut.tp + loo.heldOut.fn, 4);
    assert.equal(loo.folds.reduce((s, f) => s + f.heldOut.tp, 0), loo.heldOut.tp);
    assert.deepEqual(doc.detectors[2].folds.map((f) => f.group), ['cpu', 'mem']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hefery-agent evaluate refuses a bad protocol', async () => {
  await assert.rejects(run(['--nab', 'x', '--protocol', 'loo']), { name: 'UsageError', message: /--protocol needs --traces/ });
  await assert.rejects(run(['--traces', 'x', '--protocol', 'kfold']), { name: 'UsageError', message: /--protocol: expected loo, kind/ });
});
