// Reliability: the store's file system fills up under the running agent (a
// small tmpfs holds the store; the test fills it with a file), then space
// returns. What must hold:
//   - the agent keeps running and sampling, and holds the protected domain at
//     the safe interval while it cannot write (QEMU's x-checkpoint-delay read
//     back with virsh goes from the pinned value to the safe one);
//   - it says so: agent.status (store not writable, the SQLite error, since
//     when), the domain's protection reason, one log line, and a clear error to
//     a client whose write request (incidents.mark) cannot be stored;
//   - when space returns writes resume, the pin applies again, and the store
//     passes PRAGMA integrity_check with the samples of before and after.
// Real components: agent process, private libvirtd with a QEMU guest,
// qemu-colo, SQLite on a real tmpfs (mounted before the libvirtd's namespace
// is made, so the agent inside it sees the same file system).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCodes, type AgentStatus, type Sample } from '../../host-agent/src/protocol/api';
import { RpcFailure } from '../../host-agent/src/protocol/peer';
import type { AgentConnection } from '../../host-agent/src/rpc/client';
import { runAgentCli } from '../fixtures/agent';
import { run } from '../fixtures/libvirt';
import { uniqueId } from '../fixtures/netns';
import type { Agent } from './lib/agent';
import { privateLibvirtUnavailable, type PrivateLibvirt } from './lib/privateLibvirt';
import { startRig, type Rig } from './lib/rig';
import { sleep, waitFor, waitUntil } from '../fixtures/wait';

const skip = privateLibvirtUnavailable() ?? false;
const SAFE = 200;
const PINNED = 700;

let rig: Rig | undefined;
let lv: PrivateLibvirt;
let domain = '';
let dir = '';
let storeDir = '';
let mounted = false;
let agent: Agent;
let client: AgentConnection;
let samples: Sample[] = [];

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'hefery-rel-disk-'));
  storeDir = join(dir, 'store');
  mkdirSync(storeDir);
  // Before the libvirtd's namespace is made, so the agent in it sees this tmpfs too.
  await run('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0750', 'tmpfs', storeDir]);
  mounted = true;
  domain = `hfrt-disk-${uniqueId()}`;
  rig = await startRig({
    name: 'disk',
    dir,
    domains: [domain],
    subscribe: [domain],
    config: {
      store: { path: '${HEFERY_RUN_DIR}/store/hefery.db' },
      sampling: { intervalMs: 100 },
      policy: { protect: [domain], defaults: { safeIntervalMs: SAFE, relaxedIntervalMs: 2000, steps: [500, 1000], maxSampleAgeMs: 5000 } },
    },
  });
  ({ lv, agent, client, samples } = rig);
});

after(async () => {
  await rig?.close();
  if (mounted) await run('umount', [storeDir]).catch((e: Error) => console.log(`# umount ${storeDir}: ${e.message}`));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes zeros until the file system says ENOSPC; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let total = 0;
  try {
    for (;;) total += writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return total;
}

async function protection() {
  return (await client.peer.call('domains.list', {})).find((d) => d.name === domain)?.protection ?? null;
}

test('disk full under the store: the agent keeps running at the safe interval, says why, and recovers when space returns', { skip, timeout: 300_000 }, async () => {
  const ctx = () => agent.tail();
  await waitUntil('start-up over', async () => !!(await protection()) && !/start-up/.test((await protection())!.reason), 30_000, ctx);
  assert.equal((await client.peer.call('interval.pin', { domain, intervalMs: PINNED, who: 'reliability' })).applied, true);
  assert.equal(await lv.checkpointDelay(domain), PINNED);
  assert.deepEqual((await client.peer.call('agent.status', {})).store, { writable: true, failedWrites: 0 });
  // A client watching the agent's health (as the extension does) is told of each change.
  const health: AgentStatus[] = [];
  const watcher = await agent.connect({ onNotification: (name, params) => name === 'status.event' && health.push((params as { status: AgentStatus }).status) });
  assert.equal((await watcher.peer.call('status.subscribe', {})).store.writable, true);
  await sleep(1000);

  const filler = join(storeDir, 'filler');
  const fillAt = Date.now();
  const filled = fill(filler);
  const st = await waitFor('agent.status: store not writable', async () => {
    const s = (await client.peer.call('agent.status', {})).store;
    return s.writable ? undefined : s;
  }, 30_000, ctx);
  const noticedMs = Date.now() - fillAt;
  assert.match(st.error ?? '', /full/i);
  await waitUntil('status.event: store not writable', () => health.some((h) => !h.store.writable), 10_000, ctx);
  assert.ok(st.since !== undefined && st.since >= fillAt);
  await waitUntil('x-checkpoint-delay at the safe value', async () => (await lv.checkpointDelay(domain)) === SAFE, 30_000, ctx);
  const safeMs = Date.now() - fillAt;
  const p = await protection();
  assert.equal(p?.mode, 'failsafe');
  assert.match(p!.reason, /store cannot write/);
  const cli = await runAgentCli(['status', '--socket', join(dir, 'agent.sock')]);
  assert.equal(cli.code, 1);
  assert.match(cli.stdout, /^store  NOT WRITABLE since \S+ \(\d+ failed write\(s\)\): .*full.*safe interval$/m);
  await assert.rejects(client.peer.call('incidents.mark', { domain, from: fillAt - 1000, to: fillAt, health: 'abnormal' }),
    (e: unknown) => e instanceof RpcFailure && e.code === ErrorCodes.InternalError && /cannot record the incident: .*full/i.test(e.message));
  // Still sampling and serving.
  const n = samples.length;
  await waitUntil('samples still streamed while the disk is full', () => samples.length >= n + 10, 10_000, ctx);
  await sleep(2000);

  const freeAt = Date.now();
  unlinkSync(filler);
  await waitUntil('agent.status: store writable again', async () => (await client.peer.call('agent.status', {})).store.writable, 30_000, ctx);
  const recoveredMs = Date.now() - freeAt;
  await waitUntil('status.event: store writable again', () => health.at(-1)?.store.writable === true, 10_000, ctx);
  // One event per change (of the store, or of the stats should libvirt hiccup meanwhile), not one per failed write.
  const changed = (f: (h: AgentStatus) => boolean) => health.filter((h, i) => f(h) !== (i === 0 ? true : f(health[i - 1])));
  assert.deepEqual(changed((h) => h.store.writable).map((h) => h.store.writable), [false, true]);
  assert.equal(health.length, 2 + changed((h) => h.stats.available).length, JSON.stringify(health));
  watcher.close();
  await waitUntil('the pin applies again', async () => (await lv.checkpointDelay(domain)) === PINNED, 30_000, ctx);
  const afterFree = await waitFor('samples stored after the recovery', async () => {
    const h = await client.peer.call('samples.history', { domain, from: freeAt, to: Date.now() });
    return h.length >= 5 ? h : undefined;
  }, 30_000, ctx);
  assert.ok(afterFree.length >= 5);

  const log = agent.log();
  assert.match(log, /store cannot write \(.*\): .*full.*held at its safe interval/);
  assert.match(log, /store writable again after \d+ failed write\(s\)/);
  const errorLines = (log.match(/ERROR \[store\] store: cannot write/g) ?? []).length;
  assert.ok(errorLines <= 2 + (freeAt - fillAt) / 10_000, `store errors are rate-limited in the log (${errorLines} lines)`);

  const healthy = await runAgentCli(['status', '--socket', join(dir, 'agent.sock')]);
  assert.deepEqual({ code: healthy.code, stdout: healthy.stdout }, { code: 0, stdout: 'store  ok\nstats  ok\n' });
  const code = await agent.stop();
  assert.equal(code, 0, ctx());
  const db = new Database(join(storeDir, 'hefery.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const stored = new Set((db.prepare('SELECT ts FROM samples WHERE domain = ?').all(domain) as Array<{ ts: number }>).map((r) => r.ts));
    const before = samples.filter((s) => s.ts < fillAt - 500);
    assert.deepEqual(before.filter((s) => !stored.has(s.ts)).map((s) => s.ts), [], 'samples from before the disk filled are kept');
    const outage = samples.filter((s) => s.ts >= fillAt && s.ts <= freeAt);
    const lost = outage.filter((s) => !stored.has(s.ts)).length;
    console.log(`# filled ${(filled / 1024).toFixed(0)} KiB: store error noticed after ${noticedMs} ms, QEMU at the safe interval after ${safeMs} ms; space back: writable after ${recoveredMs} ms; ${lost} of ${outage.length} samples of the ${((freeAt - fillAt) / 1000).toFixed(1)} s outage not stored (streamed live only); integrity ok`);
  } finally {
    db.close();
  }
});
