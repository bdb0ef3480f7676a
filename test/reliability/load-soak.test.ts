// The shortened soak for CI (2 minutes; the full 10-minute run is
// `npm run bench:load -- --minutes 10`, figures in results/load.md).
//
// 200 domains' worth of samples per second through the agent's whole real
// pipeline (sampler, predictor with a trained model, policy with the dry-run
// backend, SQLite store, RPC server; only the stats source is SYNTHETIC:
// libvirt cannot give 200 domains here) to 5 extension clients subscribed at
// once over the real Unix socket. Asserted: no sample dropped, duplicated or
// reordered at any client; the store holds one row per domain per collection;
// the agent's memory does not grow after the warm-up. Latency and CPU are
// printed (benchmark figures, not assertions).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runLoad } from '../../host-agent/bench/soak';

/** Live heap growth allowed after the warm-up: ~40 bytes kept per sample at 200 samples/s would exceed it. */
const HEAP_SLOPE_MAX_MIB_PER_MIN = 0.5;
/** Resident memory growth allowed after the warm-up (the store's page cache is warm by then). */
const RSS_SLOPE_MAX_MIB_PER_MIN = 2;

test('soak: 200 domains/s to 5 subscribed clients for 2 minutes, nothing dropped, store complete, memory flat', { timeout: 600_000 }, async () => {
  const r = await runLoad({ minutes: 2, domains: 200, clients: 5, warmupS: 40, progress: (l) => console.log(`# ${l}`) });
  for (const line of formatReport(r)) console.log(`# ${line}`);

  assert.ok(r.collectionRate >= 0.9, `the agent kept sampling 200 domains about once a second: ${r.collectionRate.toFixed(3)} collections/s`);
  for (const c of r.perClient) {
    const what = `client ${c.client}${c.problems.length ? `: ${c.problems.join('; ')}` : ''}`;
    assert.ok(c.collections >= 100, `${what}: ${c.collections} collections in its window`);
    assert.equal(c.missing, 0, `${what}: samples missing`);
    assert.equal(c.duplicatesOrReordered, 0, `${what}: samples duplicated or out of order`);
    assert.equal(c.unknownTs, 0, `${what}: samples of no collection`);
    assert.equal(c.withRisk, c.received, `${what}: every sample carried the trained model's risk`);
    assert.equal(c.withProtection, c.received, `${what}: every sample carried the policy's protection status`);
  }
  assert.deepEqual(r.store.domainsWithWrongCount, [], 'every domain has one stored row per collection (plus the prefill)');
  assert.equal(r.store.rows, r.store.expectedRows, 'store rows');
  assert.ok(r.store.decisions > 0, 'the policy made checkpoint decisions (recorded in the audit log)');

  assert.ok(r.heapSlopeMiBPerMin < HEAP_SLOPE_MAX_MIB_PER_MIN,
    `the agent's live heap grows by ${r.heapSlopeMiBPerMin.toFixed(3)} MiB/min after the ${r.warmupS} s warm-up (bound ${HEAP_SLOPE_MAX_MIB_PER_MIN}): something keeps ~${Math.round((r.heapSlopeMiBPerMin * 1024 * 1024) / 60 / r.samplesPerSecond)} bytes per sample`);
  assert.ok(r.rssSlopeMiBPerMin < RSS_SLOPE_MAX_MIB_PER_MIN,
    `the agent's resident memory grows by ${r.rssSlopeMiBPerMin.toFixed(3)} MiB/min after the ${r.warmupS} s warm-up (bound ${RSS_SLOPE_MAX_MIB_PER_MIN}; heap ${r.heapSlopeMiBPerMin.toFixed(3)} MiB/min, store files ${r.storeSlopeMiBPerMin.toFixed(3)} MiB/min)`);
});
