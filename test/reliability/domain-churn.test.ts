// Reliability: domains disappear and change names under the sampling agent.
//   - Transient guests destroyed at random moments against a 100 ms sampling
//     loop (so some destroys land while a collection is in flight): the
//     agent keeps running, logs each one clearly, sends a final `vanished`
//     sample and event, releases it from protection, and goes on sampling the
//     others.
//   - A persistent guest stopped, renamed (`virsh domrename` works on an
//     inactive domain) and started under its new name: the old name's
//     history and audit log stay under the old name, the new name starts its
//     own.
// A destroy that lands inside the bulk stats call (libvirt then fails the
// whole call) must not make stats "unavailable" for every domain.
// Real components: agent process, private libvirtd, QEMU guests, qemu-colo.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sample } from '../../host-agent/src/protocol/api';
import type { AgentConnection } from '../../host-agent/src/rpc/client';
import { uniqueId } from '../fixtures/netns';
import type { Agent } from './lib/agent';
import { privateLibvirtUnavailable, type PrivateLibvirt } from './lib/privateLibvirt';
import { startRig, type DomainEventNote, type Rig } from './lib/rig';
import { sleep, waitFor, waitUntil } from '../fixtures/wait';

const skip = privateLibvirtUnavailable() ?? false;
const id = uniqueId();
const STAYS = `hfrt-stay-${id}`;

let rig: Rig | undefined;
let lv: PrivateLibvirt;
let agent: Agent;
let client: AgentConnection;
let samples: Sample[] = [];
let events: DomainEventNote[] = [];

before(async () => {
  if (skip) return;
  rig = await startRig({
    name: 'churn',
    domains: [STAYS],
    config: {
      sampling: { intervalMs: 100 },
      logLevel: 'debug',
      policy: { protect: ['hfrt-*'], defaults: { safeIntervalMs: 200, relaxedIntervalMs: 2000, maxSampleAgeMs: 5000 } },
    },
  });
  ({ lv, agent, client, samples, events } = rig);
});

after(async () => {
  await rig?.close();
});

const seen = (name: string, state?: string) => samples.some((s) => s.domain === name && (state === undefined || s.state === state));

test('guests destroyed at random moments of the sampling loop: no crash, a clear log line, a final vanished sample, others keep being sampled', { skip, timeout: 300_000 }, async () => {
  const ctx = () => agent.tail();
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    const name = `hfrt-gone${i}-${id}`;
    const dom = await lv.createDomain(name);
    names.push(name);
    // The first one goes before the agent may even have seen it; the others after a random part of a sampling period.
    if (i > 0) await waitUntil(`${name} sampled`, () => seen(name, 'running'), 30_000, ctx);
    await sleep(Math.floor(Math.random() * 100));
    await dom.destroy();
  }
  for (const name of names.slice(1)) {
    await waitUntil(`${name}: vanished sample`, () => seen(name, 'vanished'), 30_000, ctx);
    assert.ok(events.some((e) => e.domain === name && e.event === 'vanished'), `${name}: vanished event`);
    assert.match(agent.log(), new RegExp(`INFO  domain ${name} vanished`));
  }
  const n = samples.filter((s) => s.domain === STAYS).length;
  await waitUntil('the remaining guest still sampled', () => samples.filter((s) => s.domain === STAYS).length >= n + 10, 10_000, ctx);
  assert.equal(agent.child.exitCode, null, 'the agent is running');
  assert.doesNotMatch(agent.log(), /uncaught|unhandled|TypeError|listener failed/i);
  // A destroy during the bulk stats call is not "stats unavailable" for everyone (which would put every protected domain in fail-safe).
  assert.doesNotMatch(agent.log(), /stats collection failed|stats unavailable/);
  const list = await client.peer.call('domains.list', {});
  assert.deepEqual(list.map((d) => d.name).filter((x) => names.includes(x)), [], 'destroyed guests are gone from domains.list');
  const problems = agent.log().split('\n').filter((l) => / (WARN|ERROR) /.test(l));
  for (const l of problems) console.log(`#   agent: ${l.slice(0, 220)}`);
  console.log(`# ${names.length} guests destroyed during 100 ms sampling (the first at once after its creation): agent up, vanished sample + event + log line for each, ${STAYS} sampled throughout; ${problems.length} warning/error line(s) above`);
});

test('a guest renamed while stopped: the old name keeps its history and audit log, the new name starts its own', { skip, timeout: 300_000 }, async () => {
  const ctx = () => agent.tail();
  const oldName = `hfrt-old-${id}`;
  const newName = `hfrt-new-${id}`;
  const dom = await lv.createDomain(oldName, { persistent: true });
  await waitUntil(`${oldName} sampled`, () => samples.filter((s) => s.domain === oldName && s.state === 'running').length >= 5, 30_000, ctx);
  await dom.destroy();
  await waitUntil(`${oldName} shut off`, () => seen(oldName, 'shutoff'), 30_000, ctx);
  const oldSeen = samples.filter((s) => s.domain === oldName).length;
  const renamedAt = Date.now();
  await lv.virsh('domrename', oldName, newName);
  await lv.virsh('start', newName);
  await waitUntil(`${newName} sampled`, () => seen(newName, 'running'), 30_000, ctx);
  await waitUntil(`${oldName} vanished`, () => seen(oldName, 'vanished'), 30_000, ctx);

  const oldHistory = await client.peer.call('samples.history', { domain: oldName, from: 0, to: Date.now() });
  const newHistory = await client.peer.call('samples.history', { domain: newName, from: 0, to: Date.now() });
  assert.ok(oldHistory.length >= oldSeen, `the old name keeps its samples (${oldHistory.length} stored, ${oldSeen} seen)`);
  assert.ok(oldHistory.every((r) => r.sample.domain === oldName));
  assert.ok(newHistory.length > 0 && newHistory.every((r) => r.sample.ts >= renamedAt), 'the new name has only samples from after the rename');
  const oldDecisions = await client.peer.call('decisions.list', { domain: oldName, from: 0, to: Date.now() });
  assert.ok(oldDecisions.some((d) => d.kind === 'startup'), 'the old name keeps its audit log');
  const newDecisions = await waitFor('the new name\'s start-up decision', async () => {
    const ds = await client.peer.call('decisions.list', { domain: newName, from: 0, to: Date.now() });
    return ds.length ? ds : undefined;
  }, 30_000, ctx);
  assert.equal(newDecisions[0].kind, 'startup', 'the new name is protected afresh, from the safe interval');
  assert.ok(events.some((e) => e.domain === oldName && e.event === 'vanished') && events.some((e) => e.domain === newName && e.event === 'appeared'));
  assert.deepEqual((await client.peer.call('domains.list', {})).filter((d) => d.name === oldName || d.name === newName).map((d) => d.name), [newName]);
  console.log(`# renamed ${oldName} -> ${newName}: ${oldHistory.length} samples and ${oldDecisions.length} decisions kept under the old name; the new one started at the safe interval`);
});
