// Sampler and DomainRates against a scripted in-process StatsSource (a test
// double of the libvirt source: it lets the test decide when collections
// fail or stall). The real libvirt source is exercised in
// test/integration/agent-daemon.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainRates } from '../../src/sampler/domain-rates';
import { Sampler } from '../../src/sampler/sampler';
import type { RawDomainStats } from '../../src/libvirt/types';
import { memoryLogger } from '../../src/log';
import { sleep, waitFor } from '../../../test/fixtures/wait';
import { ScriptedSourceBase } from '../helpers/scripted-source';


function raw(name: string, at: number, over: Partial<RawDomainStats> = {}): RawDomainStats {
  return {
    name, uuid: `uuid-${name}`, state: 'running', ts: 1_700_000_000_000 + at, mono: at,
    cpuTimeNs: at * 1e6, vcpus: 1,
    balloon: { currentKiB: null, availableKiB: null, usableKiB: null, unusedKiB: null, rssKiB: null },
    net: null, block: null, ...over,
  };
}

/** Scripted source: each collect() runs the next step (or the last one forever). */
class ScriptedSource extends ScriptedSourceBase {
  calls = 0;
  concurrent = 0;
  maxConcurrent = 0;
  constructor(private readonly step: (n: number) => Promise<RawDomainStats[]>) {
    super();
  }
  async collect(): Promise<RawDomainStats[]> {
    const n = this.calls++;
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      return await this.step(n);
    } finally {
      this.concurrent--;
    }
  }
}

test('DomainRates: appear, vanish with one final sample, converter dropped, re-appear is new', () => {
  const rates = new DomainRates();
  const W = 1_700_000_000_000;
  const b1 = rates.convert([raw('a', 0), raw('b', 0)], W);
  assert.deepEqual(b1.appeared, ['a', 'b']);
  assert.equal(b1.samples.length, 2);
  const b2 = rates.convert([raw('a', 1000)], W + 2000);
  assert.deepEqual(b2.vanished, ['b']);
  const vb = b2.samples.find((s) => s.sample.domain === 'b');
  assert.equal(vb?.sample.state, 'vanished');
  assert.equal(vb?.sample.ts, W + 2000);
  assert.deepEqual(rates.domains, ['a']);
  const b3 = rates.convert([raw('a', 2000)], W + 3000);
  assert.equal(b3.samples.length, 1, 'no second vanished sample');
  const b4 = rates.convert([raw('a', 3000), raw('b', 3000)], W + 4000);
  assert.deepEqual(b4.appeared, ['b']);
  assert.equal(b4.samples.find((s) => s.sample.domain === 'b')?.reset, true);
});

test('DomainRates: unusable names are skipped with one reason, bad states become nostate', () => {
  const reasons: string[] = [];
  const rates = new DomainRates({ onReject: (r) => reasons.push(r) });
  const bad = raw('has space', 0);
  const b = rates.convert([bad, raw('ok', 0, { state: 'exploded' as RawDomainStats['state'] })], 1);
  rates.convert([bad], 2);
  assert.deepEqual(b.samples.map((s) => s.sample.domain), ['ok']);
  assert.equal(b.samples[0].sample.state, 'nostate');
  assert.equal(reasons.filter((r) => r.includes('has space')).length, 1);
  assert.ok(reasons.some((r) => r.includes('ok.state')));
});

test('Sampler: collections never overlap even when one takes longer than the interval', async () => {
  const src = new ScriptedSource(async (n) => {
    await sleep(n === 1 ? 120 : 5);
    return [raw('a', n * 30)];
  });
  const batches: number[] = [];
  const s = new Sampler(src, { intervalMs: 30 });
  s.onBatch((b) => batches.push(b.ts));
  s.start();
  await waitFor('five collections, one of them slow', () => src.calls >= 5);
  await s.stop();
  assert.equal(src.maxConcurrent, 1);
  assert.equal(batches.length, src.calls);
  const n = src.calls;
  await sleep(100);
  assert.equal(src.calls, n, 'no collection after stop()');
});

test('Sampler: failures are reported, retried with backoff, then recovery is announced', async () => {
  const failUntil = 3;
  const src = new ScriptedSource(async (n) => {
    if (n < failUntil) throw new Error(`libvirt went away (${n})`);
    return [raw('a', n * 10)];
  });
  const log = memoryLogger();
  const s = new Sampler(src, { intervalMs: 10, backoffInitialMs: 20, backoffMaxMs: 50, log });
  const failures: Array<{ consecutive: number; retryInMs: number; msg: string }> = [];
  let recovered = 0;
  const batches: number[] = [];
  s.onFailure((f) => failures.push({ consecutive: f.consecutive, retryInMs: f.retryInMs, msg: f.error.message }));
  s.onRecovered(() => recovered++);
  s.onBatch((b) => batches.push(b.samples.length));
  s.start();
  await waitFor('two batches after the failures', () => batches.length >= 2);
  await s.stop();
  assert.deepEqual(failures.map((f) => f.consecutive), [1, 2, 3]);
  assert.deepEqual(failures.map((f) => f.retryInMs), [20, 40, 50]);
  assert.match(failures[0].msg, /libvirt went away/);
  assert.equal(recovered, 1);
  assert.ok(batches.length >= 2);
  assert.equal(s.consecutiveFailures, 0);
  assert.ok(log.lines.some((l) => /stats collection failed \(1 in a row/.test(l)));
});

test('Sampler: the reconnect hook replaces a failing source and its events are forwarded', async () => {
  const dead = new ScriptedSource(async () => {
    throw new Error('connection lost');
  });
  const alive = new ScriptedSource(async (n) => [raw('a', n * 10)]);
  let reconnects = 0;
  const s = new Sampler(dead, {
    intervalMs: 10, backoffInitialMs: 5, backoffMaxMs: 5, reconnectAfter: 2,
    reconnect: async () => {
      reconnects++;
      return alive;
    },
  });
  const events: string[] = [];
  s.onEvent((ev) => events.push(`${ev.kind}:${ev.domain}`));
  for (let i = 0; i < 2; i++) assert.equal(await s.tick(), null);
  assert.equal(reconnects, 1);
  assert.equal(dead.closed, true, 'the replaced source is closed');
  assert.equal(s.currentSource, alive);
  const b = await s.tick();
  assert.equal(b?.samples.length, 1);
  dead.emit({ domain: 'a', uuid: '', kind: 'crashed', detail: 'late', ts: 1 });
  alive.emit({ domain: 'a', uuid: '', kind: 'started', detail: 'booted', ts: 2 });
  assert.deepEqual(events, ['started:a'], 'events of the replaced source are ignored');
});

test('Sampler: a throwing listener does not stop the others', async () => {
  const src = new ScriptedSource(async () => [raw('a', 1)]);
  const log = memoryLogger();
  const s = new Sampler(src, { intervalMs: 1000, log });
  let second = 0;
  s.onBatch(() => {
    throw new Error('listener bug');
  });
  s.onBatch(() => second++);
  await s.tick();
  assert.equal(second, 1);
  assert.ok(log.lines.some((l) => l.includes('listener bug')));
});

test('Sampler: a bad interval is refused', () => {
  const src = new ScriptedSource(async () => []);
  assert.throws(() => new Sampler(src, { intervalMs: 0 }), /intervalMs must be > 0/);
});
