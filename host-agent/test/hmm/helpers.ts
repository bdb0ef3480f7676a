// Shared by the HMM tests: a deterministic PRNG, random models, sampling.
import type { Hmm } from '../../src/hmm/core';
import { seededRandom } from '../../src/hmm/train';
import type { Sample } from '../../src/protocol/api';

/** Deterministic PRNG (mulberry32, the one training uses) so every run sees the same models. */
export const rng = seededRandom;

export function randomRow(r: () => number, k: number): number[] {
  const row = Array.from({ length: k }, () => 0.05 + r());
  const s = row.reduce((x, y) => x + y, 0);
  return row.map((x) => x / s);
}

export interface ModelParams {
  pi: number[];
  a: number[][];
  b: number[][];
}

export function randomModel(seed: number, n: number, m: number): ModelParams {
  const r = rng(seed);
  return { pi: randomRow(r, n), a: Array.from({ length: n }, () => randomRow(r, n)), b: Array.from({ length: n }, () => randomRow(r, m)) };
}

/** A sequence of T symbols drawn from the model. */
export function sample(h: Hmm, T: number, seed: number): number[] {
  const r = rng(seed);
  const pick = (p: ArrayLike<number>, off: number, k: number) => {
    let u = r();
    for (let i = 0; i < k; i++) {
      u -= p[off + i];
      if (u <= 0) return i;
    }
    return k - 1;
  };
  const out: number[] = [];
  let q = pick(h.pi, 0, h.n);
  for (let t = 0; t < T; t++) {
    out.push(pick(h.b, q * h.m, h.m));
    q = pick(h.a, q * h.n, h.n);
  }
  return out;
}

export const relClose = (x: number, y: number, tol: number) => Math.abs(x - y) <= tol * Math.max(1, Math.abs(y));

/** Every row of a flat rows x cols matrix sums to 1 (within 1e-9) with entries in [0, 1]. */
export function assertStochastic(x: ArrayLike<number>, rows: number, cols: number, what: string): void {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = x[i * cols + j];
      if (!(v >= 0 && v <= 1)) throw new Error(`${what}[${i}][${j}] = ${v} is not a probability`);
      s += v;
    }
    if (Math.abs(s - 1) > 1e-9) throw new Error(`${what} row ${i} sums to ${s}`);
  }
}

/** A running domain's sample with the given metrics (net as rx, disk as write; the other half 0); absent = missing. */
export function mkSample(v: { cpu?: number | null; mem?: number | null; net?: number | null; disk?: number | null }, ts = 0): Sample {
  const or = (x: number | null | undefined) => (x === undefined ? null : x);
  return {
    domain: 'vm', ts, state: 'running', cpuPct: or(v.cpu), memPct: or(v.mem),
    netRxBps: or(v.net), netTxBps: v.net === undefined || v.net === null ? null : 0,
    diskRdBps: v.disk === undefined || v.disk === null ? null : 0, diskWrBps: or(v.disk),
  };
}

export interface Synthetic {
  samples: Sample[];
  /** true for the samples inside an abnormal episode. */
  abnormal: boolean[];
  /** The episodes as [first ts, last ts]. */
  episodes: Array<[number, number]>;
}

/**
 * A domain's history at 1 sample/s: a normal regime (cpu 20-30 %, modest
 * net and disk) with abnormal episodes of `episodeLength` samples (cpu
 * 90-95 %, memory up, net x100, disk busy) starting with probability
 * `rate` per sample.
 */
export function syntheticHistory(T: number, seed: number, o: { rate?: number; episodeLength?: number; start?: number; domain?: string } = {}): Synthetic {
  const r = rng(seed);
  const rate = o.rate ?? 0.002;
  const len = o.episodeLength ?? 60;
  const start = o.start ?? 1_700_000_000_000;
  const samples: Sample[] = [];
  const abnormal: boolean[] = [];
  const episodes: Array<[number, number]> = [];
  let left = 0;
  for (let t = 0; t < T; t++) {
    const ts = start + t * 1000;
    if (left === 0 && t > 10 && r() < rate) {
      left = len;
      episodes.push([ts, ts + (len - 1) * 1000]);
    }
    const a = left > 0;
    if (left > 0) left--;
    const s = mkSample({
      cpu: a ? 90 + 5 * r() : 20 + 10 * r(),
      mem: a ? 80 + r() : 40 + 5 * r(),
      net: a ? 1e5 * (1 + r()) : 1000 * (1 + r()),
      disk: a ? 1e6 * r() : r() < 0.5 ? 0 : 1000 * r(),
    }, ts);
    if (o.domain) s.domain = o.domain;
    samples.push(s);
    abnormal.push(a);
  }
  return { samples, abnormal, episodes };
}
