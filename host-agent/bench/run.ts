// Benchmarks of the HMM. Prints figures; asserts nothing.
//   npm run bench [-- --quick]
// The model is a real 9-state model trained by the agent's own training on a
// synthetic domain history with all four metrics (3 levels each: 81 symbols,
// 256 observation codes).
// 1. ns per forward-filter step for one domain: the core filter step alone,
//    and the real predictor path (discretize + marginalise + filter + risk)
// 2. Baum-Welch seconds per iteration on 1,000,000 observations (100,000 with
//    --quick): the agent's training E/M step, core.ts's textbook one, and
//    Debian's pomegranate on the same data and initial model, in the same run
// 3. CPU share of 100 domains at one sample a second through the real predictor

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { baumWelch, ForwardFilter } from '../src/hmm/core';
import { Alphabet } from '../src/hmm/discretize';
import { fitCoded } from '../src/hmm/em';
import { riskyStates, toHmm } from '../src/hmm/model';
import { trainModel } from '../src/hmm/train';
import { HmmPredictor } from '../src/predictor/hmmPredictor';
import type { Sample } from '../src/protocol/api';
import { syntheticHistory } from '../test/hmm/helpers';

const quick = process.argv.includes('--quick');

const history = syntheticHistory(20_000, 42);
const { model } = trainModel([{ domain: 'bench', samples: history.samples }], { restarts: 1, maxIterations: 30 });
const h = toHmm(model);
const alphabet = new Alphabet(model.discretization);
console.log(`model: ${h.n} states, ${h.m} symbols, ${alphabet.codes} observation codes (trained on ${history.samples.length} synthetic samples)`);

/** Samples with a missing metric now and then, as the live sampler gives them. */
function liveSamples(T: number, seed: number): Sample[] {
  const s = syntheticHistory(T, seed).samples;
  for (let i = 0; i < s.length; i += 97) s[i] = { ...s[i], memPct: null };
  return s;
}

// 1. filter step
{
  const samples = liveSamples(1 << 16, 7);
  const codes = samples.map((s) => alphabet.encode(s));
  const coded = { n: h.n, m: alphabet.codes, pi: h.pi, a: h.a, b: alphabet.emissionByCode(h.n, h.b) };
  const f = new ForwardFilter(coded, riskyStates(model));
  const steps = quick ? 1_000_000 : 5_000_000;
  for (let i = 0; i < 100_000; i++) f.step(codes[i & 0xffff]); // warm-up
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) f.step(codes[i & 0xffff]);
  const core = ((performance.now() - t0) * 1e6) / steps;
  console.log(`forward filter step, core (9 states: ~2 N^2 + 3 N = ~190 flops): ${core.toFixed(1)} ns/step`);
  const p = new HmmPredictor(model);
  for (let i = 0; i < 100_000; i++) p.observe(samples[i & 0xffff]);
  let sink = 0;
  t0 = performance.now();
  for (let i = 0; i < steps; i++) sink += p.observe(samples[i & 0xffff])?.next ?? 0;
  const full = ((performance.now() - t0) * 1e6) / steps;
  console.log(`forward filter step, real predictor path (discretize 4 metrics + marginalise + filter + 1- and ${p.horizonSteps}-step risk + state): ${full.toFixed(1)} ns/step  (${sink > 0 ? 'ok' : '?'})`);
}

// 2. Baum-Welch per iteration: ours (training path and core) and the reference
{
  const T = quick ? 100_000 : 1_000_000;
  const samples = syntheticHistory(T, 9).samples;
  const codes = Int32Array.from(samples, (s) => alphabet.encode(s));
  const symbols = Array.from(codes, (c) => alphabet.symbolOf(c));
  const iters = 3;
  let t0 = performance.now();
  fitCoded(h, alphabet, [{ codes }], { maxIterations: iters, tolerance: -Infinity });
  const ours = (performance.now() - t0) / 1000 / (iters + 1);
  console.log(`Baum-Welch, ${T} observations, 9 states x 81 symbols: hefery training (em.ts) ${ours.toFixed(3)} s/iteration`);
  t0 = performance.now();
  baumWelch(h, [symbols], { maxIterations: iters, tolerance: -Infinity });
  const core = (performance.now() - t0) / 1000 / (iters + 1);
  console.log(`Baum-Welch, ${T} observations: hefery core.ts (textbook) ${core.toFixed(3)} s/iteration`);
  const dir = mkdtempSync(join(tmpdir(), 'hefery-bench-'));
  try {
    const input = join(dir, 'in.json');
    writeFileSync(input, JSON.stringify({ pi: model.pi, a: model.transition, b: model.emission, seqs: [symbols] }));
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
    console.log(`  ratio pomegranate / hefery training: ${(ref / ours).toFixed(2)}x`);
  } catch (e) {
    console.log(`pomegranate reference not run: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// 3. 100 domains at 1 sample/s through the real predictor
{
  const domains = Array.from({ length: 100 }, () => new HmmPredictor(model));
  const seconds = quick ? 3_600 : 36_000;
  const samples = liveSamples(seconds, 11);
  const c0 = process.cpuUsage();
  for (let s = 0; s < seconds; s++) for (const p of domains) p.observe(samples[s]);
  const c = process.cpuUsage(c0);
  const cpuSecondsPerSecond = (c.user + c.system) / 1e6 / seconds;
  console.log(`100 domains at 1 sample/s through the real predictor: ${(cpuSecondsPerSecond * 100).toFixed(4)}% of one core`);
  console.log('  (the prediction path only; sampling, storage and RPC are not in this figure)');
}
