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
