// Fuzz: absurd statistics on their way to risk and policy.
//   libvirt's typed parameters (any type, NaN, Infinity, negative, 2^64,
//   counters going backwards, odd names, duplicates) -> toRawStats ->
//   DomainRates: every Sample validates against the wire schema (no NaN,
//   no negative rate, names Hefery can carry), or the domain is skipped with
//   a reason. A trained model's predictor fed arbitrary samples: risk is null
//   or a valid Risk. And the daemon: a predictor that answers NaN (or 1.5)
//   gives risk null, logged, stored as null, and the policy goes fail-safe.
// Bounded runs (fast-check numRuns) so CI stays quick.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseConfig } from '../../src/config';
import { Daemon } from '../../src/daemon';
import { trainModel } from '../../src/hmm/train';
import { LibvirtStatsSource, toRawStats, type NativeStatsRecord } from '../../src/libvirt';
import { memoryLogger } from '../../src/log';
import { createProtection } from '../../src/policy';
import { HmmPredictor } from '../../src/predictor/hmmPredictor';
import type { RiskPredictor } from '../../src/predictor/types';
import { DOMAIN_NAME, Risk, Sample, type DomainState } from '../../src/protocol/api';
import { connectAgent } from '../../src/rpc/client';
import { DomainRates } from '../../src/sampler/domain-rates';
import { syntheticHistory } from '../hmm/helpers';
import { waitFor } from '../../../test/fixtures/wait';

const weird = fc.oneof(
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, -0, 0, 2 ** 64, 2 ** 53 + 1, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.integer({ min: 0, max: 1e12 }),
  fc.string({ maxLength: 8 }),
  fc.boolean(),
);
const KEYS = ['state.state', 'cpu.time', 'vcpu.current', 'balloon.current', 'balloon.available', 'balloon.usable', 'balloon.rss',
  'net.count', 'net.0.rx.bytes', 'net.0.tx.bytes', 'net.1.rx.bytes', 'block.count', 'block.0.rd.bytes', 'block.0.wr.bytes', 'block.7.wr.bytes'];
const name = fc.oneof(fc.constantFrom('vm1', 'vm2', 'web-1', 'a;rm -rf /', '', 'x'.repeat(80), '$(touch pwned)', 'ok.name+1'), fc.string({ maxLength: 20 }));

test('fuzz: any libvirt parameters, any sequence: every Sample validates, every name is one the wire carries', () => {
  fc.assert(fc.property(
    fc.array(fc.record({
      dtMs: fc.oneof(fc.integer({ min: -50, max: 30_000 }), fc.constant(Number.NaN)),
      records: fc.array(fc.record({ name, uuid: fc.constantFrom('u1', 'u2'), params: fc.dictionary(fc.constantFrom(...KEYS), weird) }), { maxLength: 4 }),
    }), { minLength: 1, maxLength: 8 }),
    (ticks) => {
      const reasons: string[] = [];
      const rates = new DomainRates({ maxGapMs: 10_000, onReject: (r) => reasons.push(r) });
      let mono = 1000;
      let ts = 1_700_000_000_000;
      for (const tick of ticks) {
        mono += tick.dtMs;
        ts += 1000;
        const raws = tick.records.map((r) => toRawStats(r as NativeStatsRecord, ts, mono));
        const batch = rates.convert(raws, ts);
        for (const { sample } of batch.samples) {
          Sample.parse(sample, 'sample');
          assert.match(sample.domain, DOMAIN_NAME);
        }
      }
      assert.ok(reasons.every((r) => typeof r === 'string' && r.length > 10), 'every rejection says why');
    },
  ), { numRuns: 300 });
});

test('fuzz: a trained model\'s predictor given any sample values answers null or a valid Risk, never NaN', () => {
  const { model } = trainModel([{ domain: 'vm', samples: syntheticHistory(1500, 7).samples }], { restarts: 1, maxIterations: 30, now: 1 });
  const metric = fc.oneof(fc.constant(null), weird.filter((v): v is number => typeof v === 'number'));
  const state = fc.constantFrom<DomainState>('running', 'paused', 'blocked', 'shutoff', 'crashed', 'vanished', 'nostate');
  fc.assert(fc.property(
    fc.constantFrom<'forward' | 'viterbi-window'>('forward', 'viterbi-window'),
    fc.array(fc.record({ state, cpuPct: metric, memPct: metric, netRxBps: metric, netTxBps: metric, diskRdBps: metric, diskWrBps: metric }), { minLength: 1, maxLength: 60 }),
    (method, rows) => {
      const p = new HmmPredictor(model, { method, windowLength: 5 });
      rows.forEach((r, i) => {
        const risk = p.observe({ domain: 'vm', ts: 1000 * i, ...r } as Sample);
        if (risk !== null) Risk.parse(risk, 'risk');
      });
    },
  ), { numRuns: 200 });
});

/** A stand-in for a broken predictor (the real one never answers NaN: see the fuzz above). */
class BrokenPredictor implements RiskPredictor {
  private n = 0;
  observe(s: Sample) {
    const bad = [Number.NaN, 1.5, -0.25, Number.POSITIVE_INFINITY][this.n++ % 4];
    return { ts: s.ts, next: bad, horizon: bad };
  }
  reset(): void {}
}

test('the daemon turns a predictor\'s NaN or out-of-range risk into null: logged, stored as null, and the policy goes fail-safe', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-fuzz-daemon-'));
  const log = memoryLogger('debug');
  const config = parseConfig({
    libvirt: { uri: 'test:///default' }, socket: { path: join(dir, 'agent.sock') }, store: { path: join(dir, 'h.db') }, pidFile: null,
    sampling: { intervalMs: 100 }, policy: { protect: ['*'], defaults: { safeIntervalMs: 100, relaxedIntervalMs: 1000, maxSampleAgeMs: 5000 } },
  }, { baseDir: dir });
  const daemon = await Daemon.start(config, {
    log,
    openSource: (c) => LibvirtStatsSource.open(c.libvirt.uri),
    predictorFor: () => new BrokenPredictor(),
    protection: (ctx) => createProtection(ctx, { libvirtUri: config.libvirt.uri, samplingIntervalMs: 100 }),
  });
  t.after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const seen: Array<{ risk: unknown }> = [];
  const c = await connectAgent(join(dir, 'agent.sock'), { onNotification: (n, p) => n === 'samples.event' && seen.push(p as { risk: unknown }) });
  t.after(() => c.close());
  await c.peer.call('samples.subscribe', {});
  await waitFor('six samples (none dropped by the client\'s validation)', () => seen.length >= 6);
  assert.ok(seen.every((x) => x.risk === null), 'no invalid risk on the wire');
  const rows = daemon.store.history('test', 0, Date.now());
  assert.ok(rows.length >= 6 && rows.every((r) => r.risk === null), 'stored as null');
  const d = (await c.peer.call('domains.list', {})).find((x) => x.name === 'test');
  assert.equal(d?.protection?.mode, 'failsafe');
  assert.match(d!.protection!.reason, /no risk/);
  assert.ok(log.lines.some((l) => /ERROR predictor of test failed: risk\.next: expected finite number, got NaN/.test(l)), log.lines.join('\n'));
  assert.ok(log.lines.some((l) => /risk\.next: expected number <= 1, got number 1\.5/.test(l)));
});
