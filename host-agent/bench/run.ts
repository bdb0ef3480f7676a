// Benchmarks of the HMM core. Prints figures; asserts nothing.
//   npm run bench [-- --quick]
// 1. ns per forward-filter step, 9 states (a step is ~2 N^2 + 2 N = ~180 flops)
// 2. Baum-Welch seconds per iteration on 1,000,000 observations (100,000 with
//    --quick), beside Debian's pomegranate on the same data in the same run
// 3. CPU share of filtering 100 domains at one sample a second

import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { baumWelch, ForwardFilter, makeHmm, type Hmm } from '../src/hmm/core';

const quick = process.argv.includes('--quick');
const N = 9;
const M = 12;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const r = rng(42);
const row = (k: number) => { const x = Array.from({ length: k }, () => 0.05 + r()); const s = x.reduce((a, b) => a + b, 0); return x.map((v) => v / s); };
const params = { pi: row(N), a: Array.from({ length: N }, () => row(N)), b: Array.from({ length: N }, () => row(M)) };
const h: Hmm = makeHmm(params.pi, params.a, params.b);
const risky = Array.from({ length: N }, (_, i) => i >= 3);

function observations(T: number): number[] {
  return Array.from({ length: T }, () => Math.floor(r() * M));
}

// 1. filter step
{
  const f = new ForwardFilter(h, risky);
  const obs = observations(1 << 16);
  const steps = quick ? 1_000_000 : 5_000_000;
  for (let i = 0; i < 100_000; i++) f.step(obs[i & 0xffff]); // warm-up
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < steps; i++) { f.step(obs[i & 0xffff]); if ((i & 1023) === 0) sink += f.risk(1); }
  const ns = ((performance.now() - t0) * 1e6) / steps;
  console.log(`forward filter step (9 states, ~180 flops): ${ns.toFixed(1)} ns/step  (${sink > 0 ? 'ok' : '?'})`);
}

// 2. Baum-Welch per iteration, ours and the reference
{
  const T = quick ? 100_000 : 1_000_000;
  const seq = observations(T);
  const t0 = performance.now();
  const iters = 3;
  baumWelch(h, [seq], { maxIterations: iters, tolerance: -Infinity });
  const ours = (performance.now() - t0) / 1000 / iters;
  console.log(`Baum-Welch, ${T} observations: hefery ${ours.toFixed(3)} s/iteration`);
  const dir = mkdtempSync(join(tmpdir(), 'hefery-bench-'));
  try {
    const input = join(dir, 'in.json');
    writeFileSync(input, JSON.stringify({ ...params, seqs: [seq] }));
    const script = `
import json, sys, time, numpy
from pomegranate import DiscreteDistribution, HiddenMarkovModel
req = json.load(open(sys.argv[1]))
m = len(req["b"][0])
d = [DiscreteDistribution({k: r[k] for k in range(m)}) for r in req["b"]]
model = HiddenMarkovModel.from_matrix(numpy.array(req["a"]), d, numpy.array(req["pi"]), merge="None")
seqs = [numpy.array(s) for s in req["seqs"]]
t = time.time()
model.fit(seqs, algorithm="baum-welch", max_iterations=1, min_iterations=1, stop_threshold=0, use_pseudocount=False, verbose=False, n_jobs=1)
print((time.time() - t) / 2)
`;
    const ref = Number(execFileSync('/usr/bin/python3', ['-c', script, input], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim());
    console.log(`Baum-Welch, ${T} observations: pomegranate ${ref.toFixed(3)} s/iteration (fit with max_iterations=1 runs 2 re-estimations)`);
    console.log(`  ratio pomegranate / hefery: ${(ref / ours).toFixed(2)}x`);
  } catch (e) {
    console.log(`pomegranate reference not run: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// 3. 100 domains at 1 sample/s: CPU for the filter path over simulated seconds
{
  const domains = Array.from({ length: 100 }, () => new ForwardFilter(h, risky));
  const seconds = quick ? 3_600 : 36_000;
  const obs = observations(seconds);
  const c0 = process.cpuUsage();
  for (let s = 0; s < seconds; s++) for (const f of domains) { f.step(obs[s]); f.risk(1); f.risk(5); }
  const c = process.cpuUsage(c0);
  const cpuSecondsPerSecond = (c.user + c.system) / 1e6 / seconds;
  console.log(`100 domains at 1 sample/s (filter + 1- and 5-step risk): ${(cpuSecondsPerSecond * 100).toFixed(4)}% of one core`);
  console.log('  (the HMM path only; sampling, storage and RPC are measured by the agent load benchmark, not yet written)');
}
