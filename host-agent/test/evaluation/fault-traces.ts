// Scenario-like labelled traces for the evaluation tests.
import type { Row } from '../../src/evaluation/detector';
import type { Trace } from '../../src/evaluation/types';
import { rng } from '../hmm/helpers';

export const T0 = Date.UTC(2026, 0, 1);
const SEC = 1000;

/**
 * A scenario-like trace at 1 sample/s: 100 s of normal work with short
 * bursts (cpu or memory for 2-4 s), then a fault that lasts 30 s before the
 * failure (cpu pinned, or memory climbing), then 20 s of the failed VM.
 * Trains on its first 50 rows.
 */
export function faultTrace(name: string, kind: 'cpu' | 'mem', seed: number): Trace {
  const r = rng(seed);
  const rows: Row[] = [];
  let burst = 0;
  let burstKind: 'cpu' | 'mem' = 'cpu';
  for (let i = 0; i < 150; i++) {
    if (burst === 0 && r() < 0.08) {
      burst = 2 + Math.floor(3 * r());
      burstKind = r() < 0.5 ? 'cpu' : 'mem';
    }
    const inBurst = burst > 0 && i < 100;
    if (burst > 0) burst--;
    let cpu = 3 + 4 * r();
    let mem = 29 + r();
    if (inBurst && burstKind === 'cpu') cpu = 60 + 40 * r();
    if (inBurst && burstKind === 'mem') mem = 40 + 10 * r();
    if (i >= 100 && kind === 'cpu') cpu = 85 + 15 * r();
    if (i >= 100 && kind === 'mem') mem = Math.min(95, 30 + 2 * (i - 100) + r());
    rows.push({ ts: T0 + i * SEC, cpu, mem, net: 1000 + 500 * r(), disk: r() < 0.9 ? 0 : 3e6 * r() });
  }
  return { name, rows, windows: [{ start: T0 + 100 * SEC, failure: T0 + 130 * SEC, end: T0 + 149 * SEC, label: kind }], trainUntil: 50, meta: { scenario: kind } };
}

export const LIBRARY = (): Trace[] => [faultTrace('cpu-1', 'cpu', 1), faultTrace('cpu-2', 'cpu', 2), faultTrace('mem-1', 'mem', 3), faultTrace('mem-2', 'mem', 4)];
