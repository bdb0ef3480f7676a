// Reliability: libvirtd is stopped under the running agent and started again
// (the agent's own libvirtd, in a private mount namespace: lib/privateLibvirt.ts;
// the QEMU guest keeps running meanwhile, as with a real libvirtd upgrade).
// What must hold:
//   - the agent notices at once, goes fail-safe for the protected domain
//     (mode failsafe, a `failsafe` decision to the safe interval, recorded with
//     the backend's error since nothing can reach QEMU without libvirtd);
//   - it retries with growing delays, reconnects when libvirtd is back and
//     samples again; the backend drives QEMU again (a pin reaches QEMU);
//   - the outage is a gap in the history: no sample stored for it, and
//     `disconnected` / `reconnected` events in the store.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Decision, Sample } from '../../host-agent/src/protocol/api';
import type { AgentConnection } from '../../host-agent/src/rpc/client';
import { uniqueId } from '../fixtures/netns';
import type { Agent } from './lib/agent';
import { privateLibvirtUnavailable, type PrivateLibvirt } from './lib/privateLibvirt';
import { startRig, type DomainEventNote, type Rig } from './lib/rig';
import { sleep, waitFor, waitUntil } from '../fixtures/wait';

const skip = privateLibvirtUnavailable() ?? false;
const SAFE = 200;
const OUTAGE_MS = 6000;

let rig: Rig | undefined;
let lv: PrivateLibvirt;
let agent: Agent;
let client: AgentConnection;
let domain = '';
let samples: Sample[] = [];
let decisions: Decision[] = [];
let domainEvents: DomainEventNote[] = [];

before(async () => {
  if (skip) return;
  domain = `hfrt-lvd-${uniqueId()}`;
  rig = await startRig({
    name: 'libvirtd',
    domains: [domain],
    subscribe: [domain],
    config: {
      sampling: { intervalMs: 500 },
      policy: { protect: [domain], defaults: { safeIntervalMs: SAFE, relaxedIntervalMs: 2000, steps: [500, 1000], maxSampleAgeMs: 5000 } },
    },
  });
  ({ lv, agent, client, samples, decisions, events: domainEvents } = rig);
});

after(async () => {
  await rig?.close();
});

async function status() {
  return (await client.peer.call('domains.list', {})).find((d) => d.name === domain)?.protection ?? null;
}

test('libvirtd stopped and started under the agent: fail-safe at once, backoff, reconnect, gap recorded, backend drives QEMU again', { skip, timeout: 300_000 }, async () => {
  const ctx = () => agent.tail();
  await waitUntil('start-up over', async () => !!(await status()) && !/start-up/.test((await status())!.reason), 30_000, ctx);
  const pinned = await client.peer.call('interval.pin', { domain, intervalMs: 700, who: 'reliability' });
  assert.equal(pinned.applied, true);
  assert.equal(await lv.checkpointDelay(domain), 700);
  await sleep(1500);

  const killAt = Date.now();
  const before = { samples: samples.length, decisions: decisions.length };
  await lv.killLibvirtd();
  const failsafe = await waitFor('a fail-safe decision', () => decisions.slice(before.decisions).find((d) => d.kind === 'failsafe'), 20_000, ctx);
  const failsafeAfterMs = failsafe.ts - killAt;
  assert.equal(failsafe.newIntervalMs, SAFE);
  assert.equal(failsafe.applied, false, 'nothing reaches QEMU while libvirtd is down');
  assert.match(failsafe.error ?? '', /qemu-colo/);
  const during = await status();
  assert.equal(during?.mode, 'failsafe');
  assert.match(during!.reason, /stats unavailable|libvirt connection lost/);
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - killAt)));

  const restartAt = Date.now();
  await lv.startLibvirtd();
  const firstAfter = await waitFor('a sample after libvirtd is back', () => samples.find((s) => s.ts > restartAt), 90_000, ctx);
  const recoveredAfterMs = firstAfter.ts - restartAt;

  // The gap: no sample stored between the last one before the kill and the first after the restart.
  const lastBefore = samples.slice(0, before.samples).at(-1)!;
  const stored = await client.peer.call('samples.history', { domain, from: killAt - 5000, to: Date.now() });
  const inGap = stored.filter((r) => r.sample.ts > lastBefore.ts && r.sample.ts < firstAfter.ts);
  assert.deepEqual(inGap.map((r) => r.sample.ts), [], 'no sample invented for the outage');
  assert.equal(samples.filter((s) => s.ts > killAt + 1000 && s.ts < restartAt).length, 0, 'no sample streamed during the outage');
  const db = new Database(join(rig!.dir, 'hefery.db'), { readonly: true });
  const events = db.prepare("SELECT kind, ts FROM events WHERE domain = '' AND ts >= ? ORDER BY id").all(killAt - 1000) as Array<{ kind: string; ts: number }>;
  db.close();
  const down = events.find((e) => e.kind === 'disconnected');
  const up = events.find((e) => e.kind === 'reconnected');
  assert.ok(down && down.ts >= killAt && down.ts < restartAt, `disconnected event in the store during the outage: ${JSON.stringify(events)}`);
  assert.ok(up && up.ts >= restartAt, `reconnected event in the store after the restart: ${JSON.stringify(events)}`);
  assert.ok(domainEvents.some((e) => e.event === 'disconnected') && domainEvents.some((e) => e.event === 'reconnected'), 'subscribers were told');

  // Backoff: the retry delays of consecutive failures grow.
  const delays = [...agent.log().matchAll(/stats collection failed \((\d+) in a row, retry in (\d+) ms\)/g)].map((m) => Number(m[2]));
  assert.ok(delays.length >= 2, `several failed collections logged:\n${ctx()}`);
  assert.ok(delays.every((d, i) => i === 0 || d >= delays[i - 1]) && delays.at(-1)! > delays[0], `retry delays grow: ${delays.join(', ')}`);

  // The backend reaches QEMU again through the new libvirtd.
  // (Listed again and out of fail-safe: right after the restart the domain may not be listed yet, and
  // then it has no status at all, which is not "cleared".)
  await waitUntil('the stats cause cleared', async () => {
    const s = await status();
    return s !== null && s.mode !== 'failsafe';
  }, 30_000, ctx);
  const again = await client.peer.call('interval.pin', { domain, intervalMs: 500, who: 'reliability' });
  assert.equal(again.applied, true, JSON.stringify(again));
  assert.equal(await lv.checkpointDelay(domain), 500);
  console.log(`# libvirtd down ${restartAt - killAt} ms: fail-safe decision ${failsafeAfterMs} ms after the kill; first sample ${recoveredAfterMs} ms after libvirtd was back; retry delays ${delays.join(', ')} ms; gap of ${firstAfter.ts - lastBefore.ts} ms in the history, 0 samples invented`);
});
