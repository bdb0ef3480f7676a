// The xen-remus backend against a FAKE xl (fake-xl.ts): Xen cannot run here,
// so a stand-in executable records the argv and lifetime of every `xl remus`
// and fence the backend runs. The real xl runs in the nested Xen lane.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config';
import { parseBackendConfig, type XenRemusConfig } from '../../src/backends/config';
import type { BackendFault } from '../../src/backends/types';
import { XenRemusBackend, type RemusRestart } from '../../src/backends/xen-remus';
import { memoryLogger } from '../../src/log';
import { makeFakeXl, type FakeXl } from './fake-xl';
import { sleep, waitFor } from '../../../test/fixtures/wait';


interface Rig {
  fake: FakeXl;
  stateDir: string;
  cfg: XenRemusConfig;
  log: ReturnType<typeof memoryLogger>;
  remus: XenRemusBackend;
  done(): Promise<void>;
}

function rig(over: Record<string, unknown> = {}): Rig {
  const fake = makeFakeXl();
  const stateDir = mkdtempSync(join(tmpdir(), 'hefery-remus-state-'));
  const cfg = parseBackendConfig({
    type: 'xen-remus',
    xl: fake.xl,
    args: ['-F', '-n'],
    destination: 'backup-host',
    fence: [fake.xl, 'destroy', '{domain}--incoming'],
    minRestartIntervalMs: 0,
    // Deterministic readiness: the fake prints this line 50 ms after it started.
    readyPattern: '^fake-xl: replicating',
    readyTimeoutMs: 10_000,
    settleMs: 0,
    stopTimeoutMs: 2000,
    retry: { initialMs: 100, maxMs: 400 },
    stateDir,
    ...over,
  }, { libvirtUri: 'xen:///system' }) as XenRemusConfig;
  const log = memoryLogger();
  const remus = new XenRemusBackend(cfg, log);
  return {
    fake, stateDir, cfg, log, remus,
    async done() {
      await remus.close({ leaveRunning: false });
      fake.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

const starts = (f: FakeXl) => f.records().filter((r) => r.ev === 'start');
const exits = (f: FakeXl) => f.records().filter((r) => r.ev === 'exit');

test('start spawns `xl remus -i MS [args] DOMAIN HOST` with exactly that argv, no shell', async () => {
  const r = rig();
  try {
    const res = await r.remus.start('vm1', 200);
    assert.equal(res.applied, true);
    assert.equal(res.intervalMs, 200);
    assert.match(res.note, /xl remus started/);
    const s = starts(r.fake);
    assert.equal(s.length, 1);
    assert.deepEqual(s[0].argv, ['remus', '-i', '200', '-F', '-n', 'vm1', 'backup-host']);
    assert.deepEqual(r.remus.argv('vm1', 200), s[0].argv);
    assert.equal(r.remus.current('vm1'), 200);
    const state = JSON.parse(readFileSync(join(r.stateDir, 'vm1.json'), 'utf8')) as { pid: number; argv: string[] };
    assert.equal(state.pid, s[0].pid);
    assert.deepEqual(state.argv, [r.fake.xl, ...s[0].argv]);
    const logText = readFileSync(join(r.stateDir, 'vm1.log'), 'utf8');
    assert.match(logText, /hefery: .*xl remus -i 200 -F -n vm1 backup-host/);
    // Asking for what already runs changes nothing.
    const again = await r.remus.setInterval('vm1', 200);
    assert.equal(again.applied, true);
    assert.match(again.note, /already replicating/);
    assert.equal(starts(r.fake).length, 1);
  } finally {
    await r.done();
  }
});

test('a domain name with shell metacharacters is refused before anything is spawned', async () => {
  const r = rig();
  try {
    for (const bad of ['vm1; touch /tmp/pwned', '$(reboot)', 'vm1`id`', '-i', 'a b', '../etc', '']) {
      await assert.rejects(r.remus.setInterval(bad, 100), /refusing domain name/, bad);
    }
    assert.throws(() => r.remus.argv('x|y', 100), /refusing domain name/);
    await sleep(100);
    assert.deepEqual(r.fake.records(), [], 'nothing ran');
  } finally {
    await r.done();
  }
});

test('an interval change fences the secondary, lets the old xl exit, then starts the new one; the gap is measured', async () => {
  const r = rig();
  const restarts: RemusRestart[] = [];
  r.remus.onRestart((x) => restarts.push(x));
  try {
    await r.remus.start('vm1', 200);
    const res = await r.remus.setInterval('vm1', 100);
    assert.equal(res.applied, true);
    assert.equal(res.intervalMs, 100);
    assert.match(res.note, /xl remus restarted \(unprotected gap \d+ ms\)/);
    const rec = r.fake.records();
    const kinds = rec.map((x) => `${x.ev}:${x.ev === 'start' ? x.argv[2] : x.ev === 'fence' ? x.argv.join(' ') : x.how}`);
    assert.deepEqual(kinds, ['start:200', 'fence:destroy vm1--incoming', 'exit:fenced', 'start:100']);
    const [s1, , e1, s2] = rec;
    assert.equal(e1.pid, s1.pid);
    assert.ok(s2.t >= e1.t, 'the new xl starts only after the old one exited');
    assert.deepEqual(s2.argv, ['remus', '-i', '100', '-F', '-n', 'vm1', 'backup-host']);
    assert.equal(restarts.length, 2);
    assert.deepEqual({ ...restarts[1], gapMs: 0, waitedMs: 0 }, { domain: 'vm1', fromMs: 200, toMs: 100, gapMs: 0, waitedMs: 0 });
    assert.ok(restarts[1].gapMs >= 50, `the gap includes the new xl's start-up, got ${restarts[1].gapMs}`);
    assert.ok(r.log.lines.some((l) => /replication restarted 200 -> 100 ms, unprotected gap \d+ ms/.test(l)), r.log.lines.join('\n'));
    assert.equal(r.remus.current('vm1'), 100);
  } finally {
    await r.done();
  }
});

test('restarts are rate-limited; a newer request replaces a waiting one, so only one restart happens', async () => {
  const r = rig({ minRestartIntervalMs: 1500 });
  try {
    const t0 = Date.now();
    await r.remus.start('vm1', 200);
    const first = r.remus.setInterval('vm1', 1000); // relax: must wait for the limit
    await waitFor('the 1000 ms request to wait for the limit', () => r.log.lines.some((l) => /1000 ms waits \d+ ms for the restart rate limit/.test(l)));
    const second = r.remus.setInterval('vm1', 50); // tighten before the limit expired
    const a = await first;
    assert.equal(a.applied, false);
    assert.equal(a.intervalMs, 200);
    assert.match(a.note, /superseded by a request for 50 ms/);
    const b = await second;
    assert.equal(b.applied, true);
    assert.match(b.note, /waited \d+ ms for the restart limit/);
    const s = starts(r.fake);
    assert.deepEqual(s.map((x) => x.argv[2]), ['200', '50'], 'the 1000 ms request never ran');
    // The restart began (fence) no earlier than minRestartIntervalMs after the first start.
    const fence = r.fake.records().find((x) => x.ev === 'fence')!;
    assert.ok(fence.t - t0 >= 1500, `restart after ${fence.t - t0} ms`);
    assert.ok(r.log.lines.some((l) => /1000 ms waits \d+ ms for the restart rate limit/.test(l)));
    // bypassRateLimit (agent shutdown) does not wait.
    await r.remus.setInterval('vm1', 100, { bypassRateLimit: true });
    assert.ok(!r.log.lines.some((l) => /100 ms waits/.test(l)), 'bypass did not wait for the limit');
    assert.deepEqual(starts(r.fake).map((x) => x.argv[2]), ['200', '50', '100']);
  } finally {
    await r.done();
  }
});

test('xl dying unexpectedly is reported as a fault and restarted with backoff; the recovery is reported', async () => {
  const r = rig();
  const faults: BackendFault[] = [];
  r.remus.onFault((f) => faults.push(f));
  try {
    r.fake.setMode('vm1', 'die:400');
    await r.remus.start('vm1', 300);
    await waitFor('the fault', () => faults.length >= 1);
    assert.match(faults[0].error!.message, /xl remus \(pid \d+\) exit code 1 after [\d.]+ s; replication stopped: .*Backup failed\? resuming domain at primary/);
    assert.equal(r.remus.current('vm1'), null, 'nothing replicates after the crash');
    r.fake.setMode('vm1', null); // the next one stays up
    await waitFor('the automatic restart', () => starts(r.fake).length >= 2);
    await waitFor('the recovery', () => faults.some((f) => f.error === null));
    assert.deepEqual(starts(r.fake).map((x) => x.argv[2]), ['300', '300'], 'restarted at its own interval');
    assert.equal(r.remus.current('vm1'), 300);
    assert.ok(r.log.lines.some((l) => /restarting xl remus at 300 ms in 100 ms \(attempt 1\)/.test(l)), r.log.lines.join('\n'));
  } finally {
    await r.done();
  }
});

test('a crash loop backs off exponentially up to retry.maxMs, and one fault is reported, not one per crash', async () => {
  const r = rig();
  const faults: BackendFault[] = [];
  r.remus.onFault((f) => faults.push(f));
  try {
    r.fake.setMode('vm1', 'die:150');
    await r.remus.start('vm1', 300);
    r.fake.setMode('vm1', 'fail');
    await waitFor('four restart attempts', () => starts(r.fake).length >= 5, 15_000);
    const delays = r.log.lines.map((l) => /in (\d+) ms \(attempt (\d+)\)/.exec(l)).filter(Boolean).map((m) => Number(m![1]));
    assert.deepEqual(delays.slice(0, 4), [100, 200, 400, 400]);
    assert.equal(faults.length, 1);
    await r.remus.stop('vm1');
    const n = starts(r.fake).length;
    await sleep(600);
    assert.equal(starts(r.fake).length, n, 'stop ends the retries');
  } finally {
    await r.done();
  }
});

test('xl that exits before replicating rejects the request with its output', async () => {
  const r = rig();
  try {
    r.fake.setMode('vm1', 'fail');
    await assert.rejects(r.remus.start('vm1', 200), /xl remus exit code 1 before replicating: .*fake: domain vm1 cannot be suspended/);
    assert.equal(r.remus.current('vm1'), null);
    assert.equal(existsSync(join(r.stateDir, 'vm1.json')), false);
  } finally {
    await r.done();
  }
});

test('a failing fence leaves the old replication running and rejects the change', async () => {
  const r = rig();
  try {
    await r.remus.start('vm1', 200);
    r.fake.setFenceFails(true);
    await assert.rejects(r.remus.setInterval('vm1', 100), /interval not changed, replication continues at 200 ms: fence command .* failed \(exit code 1\): libxl: error: fake fence failure/);
    assert.equal(r.remus.current('vm1'), 200);
    assert.equal(exits(r.fake).length, 0, 'the running xl was not stopped');
    r.fake.setFenceFails(false);
  } finally {
    await r.done();
  }
});

test('an xl that ignores the fence and SIGTERM is SIGKILLed', async () => {
  const r = rig({ stopTimeoutMs: 300 });
  try {
    r.fake.setMode('vm1', 'stubborn');
    await r.remus.start('vm1', 200);
    const pid = starts(r.fake)[0].pid;
    await r.remus.stop('vm1');
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.ok(r.log.lines.some((l) => /ignored SIGTERM: SIGKILL/.test(l)));
    assert.equal(r.remus.current('vm1'), null);
  } finally {
    await r.done();
  }
});

test('without readyPattern, xl counts as replicating once it stayed up settleMs; a readyPattern that never shows times out', async () => {
  const r = rig({ readyPattern: null, settleMs: 1500 });
  try {
    const t0 = Date.now();
    await r.remus.start('vm1', 200);
    assert.ok(Date.now() - t0 >= 1500, 'waited for settleMs');
    assert.equal(r.remus.current('vm1'), 200);
    r.fake.setMode('vm2', 'fail');
    await assert.rejects(r.remus.start('vm2', 200), /xl remus exit code 1 before replicating/);
  } finally {
    await r.done();
  }
  const q = rig({ readyPattern: '^never printed', readyTimeoutMs: 800 });
  try {
    await assert.rejects(q.remus.start('vm1', 200), /no output line matched readyPattern \/\^never printed\/ within 800 ms/);
    assert.equal(q.remus.current('vm1'), null);
    await waitFor('the unready xl to be stopped', () => exits(q.fake).length === 1);
  } finally {
    await q.done();
  }
});

test('close() leaves xl replicating; a new backend adopts it without a restart, and stop() ends it', async () => {
  const r = rig();
  try {
    await r.remus.start('vm1', 250);
    const pid = starts(r.fake)[0].pid;
    await r.remus.close();
    process.kill(pid, 0); // still alive
    const next = new XenRemusBackend(r.cfg, r.log);
    const res = await next.setInterval('vm1', 250);
    assert.equal(res.applied, true);
    assert.match(res.note, /already replicating at 250 ms/);
    assert.equal(starts(r.fake).length, 1, 'no second xl');
    assert.ok(r.log.lines.some((l) => new RegExp(`adopted xl remus pid ${pid} replicating at 250 ms`).test(l)));
    await next.stop('vm1');
    await waitFor('xl to exit', () => exits(r.fake).length === 1);
    assert.equal(exits(r.fake)[0].how, 'fenced');
    assert.equal(existsSync(join(r.stateDir, 'vm1.json')), false);
    await next.close();
  } finally {
    await r.done();
  }
});

test('a stale state file (its xl is gone): the receiver it may have left on the secondary is fenced before the new start', async () => {
  const r = rig();
  try {
    // What an agent killed with its xl leaves: a state file naming a dead pid.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(r.stateDir, 'vm1.json'), JSON.stringify({ pid: dead, intervalMs: 200, argv: [r.fake.xl, ...r.remus.argv('vm1', 200)], startedAt: new Date().toISOString() }));
    const res = await r.remus.setInterval('vm1', 500);
    assert.equal(res.applied, true);
    assert.deepEqual(r.fake.records().map((x) => `${x.ev}:${x.argv.join(' ')}`), ['fence:destroy vm1--incoming', 'start:remus -i 500 -F -n vm1 backup-host'], 'fenced, then started');
    assert.ok(r.log.lines.some((l) => /stale state file .* removed/.test(l)) && r.log.lines.some((l) => /fenced what the previous xl remus may have left/.test(l)), r.log.lines.join('\n'));
  } finally {
    await r.done();
  }
  // The fence finding nothing (xl destroy fails) does not stop the start.
  const q = rig();
  try {
    q.fake.setFenceFails(true);
    writeFileSync(join(q.stateDir, 'vm1.json'), JSON.stringify({ pid: spawnSync(process.execPath, ['-e', '0']).pid, intervalMs: 200, argv: [], startedAt: '' }));
    assert.equal((await q.remus.setInterval('vm1', 200)).applied, true);
    assert.ok(q.log.lines.some((l) => /nothing fenced before the start \(fence command .* failed/.test(l)), q.log.lines.join('\n'));
    // A plain first start (no stale state) runs no fence.
    const fences = q.fake.records().filter((x) => x.ev === 'fence').length;
    q.fake.setFenceFails(false);
    await q.remus.setInterval('vm2', 200);
    assert.equal(q.fake.records().filter((x) => x.ev === 'fence').length, fences);
  } finally {
    await q.done();
  }
});

test('close({ leaveRunning: false }) stops an adopted xl too (fenced, exited)', async () => {
  const r = rig();
  try {
    await r.remus.start('vm1', 250);
    await r.remus.close();
    const next = new XenRemusBackend(r.cfg, r.log);
    await next.setInterval('vm1', 250); // adopts
    await next.close({ leaveRunning: false });
    const ex = exits(r.fake);
    assert.equal(ex.length, 1);
    assert.equal(ex[0].how, 'fenced');
    await waitFor('the xl process to be gone', () => {
      try {
        process.kill(ex[0].pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  } finally {
    await r.done();
  }
});

test('a missing xl executable is a clear error', async () => {
  const r = rig({ xl: '/nonexistent/xl' });
  try {
    await assert.rejects(r.remus.start('vm1', 200), /cannot run \/nonexistent\/xl: spawn \/nonexistent\/xl ENOENT/);
  } finally {
    await r.done();
  }
});

test('backend config: wrong or dangerous values name the field', () => {
  const base = { type: 'xen-remus', destination: 'backup', fence: ['xl', 'destroy', '{domain}--incoming'] };
  const err = (v: unknown): string => {
    try {
      parseBackendConfig(v, { libvirtUri: 'qemu:///system' });
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.message;
    }
    assert.fail('expected a ConfigError');
  };
  assert.equal(err({ type: 'remus' }), 'backend.type: expected one of dry-run, qemu-colo, xen-remus, got string "remus"');
  assert.equal(err({ ...base, fence: undefined }), 'backend.fence: expected array, got undefined');
  assert.equal(err({ ...base, minRestartIntervalMs: '10s' }), 'backend.minRestartIntervalMs: expected integer >= 0, got string "10s"');
  assert.match(err({ ...base, destination: 'backup; rm -rf /' }), /^backend\.destination: expected string matching/);
  assert.match(err({ ...base, destination: '$(id)' }), /^backend\.destination: expected string matching/);
  assert.equal(err({ ...base, args: ['-i', '100'] }), 'backend.args[0]: "-i" is not allowed: the backend sets -i (the interval) itself');
  assert.equal(err({ ...base, args: ['-Fi100'] }), 'backend.args[0]: "-Fi100" is not allowed: the backend sets -i (the interval) itself');
  assert.match(err({ ...base, args: ['-c'] }), /backend\.args\[0\]: "-c" is not allowed: -c\/-p switch xl to COLO/);
  assert.match(err({ ...base, args: ['guest'] }), /backend\.args\[0\]: "guest" is not an xl remus option/);
  assert.match(err({ ...base, args: ['-s'] }), /backend\.args\[0\]: "-s" needs a value after -s/);
  assert.match(err({ ...base, args: ['-x'] }), /unknown xl remus option -x/);
  assert.equal(err({ ...base, destination: null }), 'backend.destination: required (the `xl remus` host argument) unless backend.destinations names one per domain');
  assert.equal(err({ ...base, destinations: { 'bad name': 'h' } }), `backend.destinations.bad name: not a valid domain name (expected /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/)`);
  assert.equal(err({ ...base, retry: { initialMs: 5000, maxMs: 100 } }), 'backend.retry.maxMs: expected >= backend.retry.initialMs (5000), got number 100');
  assert.equal(err({ ...base, readyPattern: '(' }).startsWith('backend.readyPattern: not a valid regular expression'), true);
  assert.equal(err({ ...base, colour: 'red' }), 'backend.colour: expected no such field, got string "red"');
  // Valid: -s with its (empty) value and -d, the nested lane's form.
  const ok = parseBackendConfig({ ...base, args: ['-F', '-n', '-d', '-s', ''], destination: 'xl migrate-receive -r -e' }, { libvirtUri: '' }) as XenRemusConfig;
  assert.deepEqual(ok.args, ['-F', '-n', '-d', '-s', '']);
  assert.equal(ok.minRestartIntervalMs, 30_000);
  assert.deepEqual(parseBackendConfig(null, { libvirtUri: 'x' }), { type: 'dry-run' });
  assert.deepEqual(parseBackendConfig({ type: 'qemu-colo' }, { libvirtUri: 'qemu:///system' }), { type: 'qemu-colo', uri: 'qemu:///system' });
});
