import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HmmDetector, rowToSample, type HmmBackend } from '../../src/evaluation/hmmDetector';
import type { Sample } from '../../src/protocol/api';
import type { RiskPredictor } from '../../src/predictor/types';

// A stand-in backend (named as such): the real one is the HMM, not written yet.
// "Training" remembers the training mean cpu; the "predictor" says risk =
// cpu / 100 once it has seen two samples, null before, and null for a row without cpu.
function fakeBackend(log: { trained: Sample[][]; made: number }): HmmBackend {
  return {
    train(samples) {
      log.trained.push(samples);
      return () => {
        log.made++;
        let seen = 0;
        const p: RiskPredictor = {
          observe(s) {
            seen++;
            if (seen < 2 || s.cpuPct === null) return null;
            return { ts: s.ts, next: s.cpuPct / 100 };
          },
          reset() {
            seen = 0;
          },
        };
        return p;
      };
    },
  };
}

test('rows become agent samples: percent clamped, rates non-negative, missing metrics null', () => {
  assert.deepEqual(rowToSample({ ts: 1000.4, cpu: 120, mem: null, net: 5, disk: -1 }, 'vm1'), {
    domain: 'vm1', ts: 1000, state: 'running', cpuPct: 100, memPct: null, netRxBps: 5, netTxBps: 0, diskRdBps: 0, diskWrBps: 0,
  });
  assert.equal(rowToSample({ ts: 1 }).netTxBps, null);
});

test('the HMM adapter trains on the training rows, scores with a fresh predictor, and holds the last risk when it has none', () => {
  const log = { trained: [] as Sample[][], made: 0 };
  const d = new HmmDetector(fakeBackend(log));
  assert.throws(() => d.score([{ ts: 1 }]), /score\(\) before fit\(\)/);
  d.fit([{ ts: 1, cpu: 10 }, { ts: 2, cpu: 20 }]);
  assert.equal(log.trained[0].length, 2);
  const rows = [{ ts: 3, cpu: 50 }, { ts: 4, cpu: 40 }, { ts: 5 }, { ts: 6, cpu: 90 }];
  assert.deepEqual(d.score(rows), [0, 0.4, 0.4, 0.9]);
  assert.equal(d.unknownRows, 2);
  assert.deepEqual(d.score(rows), [0, 0.4, 0.4, 0.9], 'a fresh predictor per call');
  assert.equal(log.made, 2);
});

test('the real hmm detector (agent training + live predictor): causal scores in [0, 1], high in the abnormal episodes', async () => {
  const { detectorFactories } = await import('../../src/evaluation/run');
  const { syntheticHistory } = await import('../hmm/helpers');
  const make = (await detectorFactories(['hmm'])).get('hmm')!;
  const toRow = (s: Sample) => ({ ts: s.ts, cpu: s.cpuPct, mem: s.memPct, net: s.netRxBps, disk: s.diskWrBps });
  const train = syntheticHistory(2000, 31).samples.map(toRow);
  const test = syntheticHistory(1500, 32);
  const rows = test.samples.map(toRow);
  const d = make();
  d.fit(train);
  const scores = d.score(rows);
  assert.equal(scores.length, rows.length);
  assert.ok(scores.every((x) => x >= 0 && x <= 1));
  const mean = (pick: boolean) => { const xs = scores.filter((_, i) => test.abnormal[i] === pick); return xs.reduce((a, b) => a + b, 0) / xs.length; };
  assert.ok(mean(true) > 0.8 && mean(false) < 0.05, `${mean(true)} vs ${mean(false)}`);
  assert.deepEqual(d.score(rows.slice(0, 700)), scores.slice(0, 700), 'causal, and scoring leaves the fitted state alone');
});
