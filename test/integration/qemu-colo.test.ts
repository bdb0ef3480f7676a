// Integration: the qemu-colo backend on a real QEMU guest (TCG) under a real
// libvirtd. It sets COLO's checkpoint interval, the migration parameter
// x-checkpoint-delay, through libvirt's QMP pass-through and reads it back;
// the test reads it once more, independently, with `virsh
// qemu-monitor-command`. (COLO replication itself is not started: the
// parameter is what the agent drives, and QEMU applies it at once.)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { QemuColoBackend } from '../../host-agent/src/backends/qemu-colo';
import { memoryLogger } from '../../host-agent/src/log';
import { startLibvirt, virsh, type LibvirtServices } from '../fixtures/libvirt';
import { createTestNet, type TestNet } from '../fixtures/netns';
import { bootGuest, type TestGuest } from '../fixtures/guest';

let services: LibvirtServices | undefined;
let net: TestNet | undefined;
let guest: TestGuest | undefined;
let colo: QemuColoBackend | undefined;
const log = memoryLogger();

/** x-checkpoint-delay as QEMU reports it to virsh (not through Hefery's code). */
async function delayViaVirsh(domain: string): Promise<number> {
  const out = await virsh('qemu-monitor-command', domain, '{"execute":"query-migrate-parameters"}');
  const v = (JSON.parse(out) as { return: Record<string, unknown> }).return['x-checkpoint-delay'];
  assert.equal(typeof v, 'number', out);
  return v as number;
}

before(async () => {
  services = await startLibvirt();
  net = await createTestNet();
  guest = await bootGuest({ net });
  console.log(`# guest ${guest.name} answered after ${guest.bootSeconds.toFixed(1)} s`);
  colo = await QemuColoBackend.open({ type: 'qemu-colo', uri: services.uri }, log);
});

after(async () => {
  await colo?.close();
  await guest?.destroy();
  await net?.destroy();
  await services?.stop();
});

test('sets x-checkpoint-delay with migrate-set-parameters and reads it back from QEMU', async () => {
  const name = guest!.name;
  const before = await delayViaVirsh(name);
  assert.equal(before, 20000, "QEMU's default checkpoint delay");
  assert.equal(colo!.current(name), null);
  const r = await colo!.setInterval(name, 137);
  assert.deepEqual(r, { applied: true, intervalMs: 137, note: 'x-checkpoint-delay set and read back from QEMU' });
  assert.equal(await delayViaVirsh(name), 137);
  assert.equal(await colo!.readDelay(name), 137);
  assert.equal(colo!.current(name), 137);
  // Changes take effect at once, each one confirmed.
  for (const ms of [1, 5000, 200]) {
    await colo!.setInterval(name, ms);
    assert.equal(await delayViaVirsh(name), ms);
  }
});

test('concurrent changes of one domain are applied in order; the last one stays', async () => {
  const name = guest!.name;
  const results = await Promise.all([300, 400, 500, 600].map((ms) => colo!.setInterval(name, ms)));
  assert.deepEqual(results.map((r) => r.intervalMs), [300, 400, 500, 600], 'each read back its own value');
  assert.equal(await delayViaVirsh(name), 600);
});

test('bad input and a missing domain are refused with a clear error, nothing changed', async () => {
  const name = guest!.name;
  await colo!.setInterval(name, 250);
  await assert.rejects(colo!.setInterval(name, 0), /x-checkpoint-delay must be a whole number of ms in 1\.\.4294967295, got 0/);
  await assert.rejects(colo!.setInterval(name, 12.5), /whole number of ms/);
  await assert.rejects(colo!.setInterval('x; reboot', 100), /refusing domain name "x; reboot"/);
  await assert.rejects(colo!.setInterval('hefery-no-such-domain', 100), /qemu-colo hefery-no-such-domain: migrate-set-parameters failed: .*[Dd]omain not found/);
  assert.equal(await delayViaVirsh(name), 250);
});

test('after the domain is gone the backend reports the failure', async () => {
  const name = guest!.name;
  await guest!.destroy();
  await assert.rejects(colo!.setInterval(name, 300), new RegExp(`qemu-colo ${name}: migrate-set-parameters failed: .*(not found|not running)`));
  await colo!.release(name);
  assert.equal(colo!.current(name), null);
});
