// Integration: the failure-scenario runner (scripts/scenarios/) on the real
// test guest under a real libvirtd/QEMU (TCG), with the real agent daemon
// recording it. Two short scenarios (a fast CPU runaway, a sudden crash) and
// Ctrl-C in the middle of a run. A few minutes in all.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readJsonlTraceFile } from '../../host-agent/src/evaluation/traces';
import type { Trace } from '../../host-agent/src/evaluation/types';
import { startLibvirt, REPO_ROOT, type LibvirtServices } from '../fixtures/libvirt';
import type { Scenario } from '../../scripts/scenarios/catalog';
import { recordScenario, type RecordOptions, type RecordResult } from '../../scripts/scenarios/record';
import { waitUntil } from '../fixtures/wait';

const execFileP = promisify(execFile);
const ADDON = join(REPO_ROOT, 'host-agent', 'native', 'build', 'Release', 'hefery_libvirt.node');
const skip = existsSync(ADDON) ? false : `the libvirt addon is not built (${ADDON} missing): run npm run build:native`;

let services: LibvirtServices | undefined;
let outDir = '';
const logs: string[] = [];

before(async () => {
  if (skip) return;
  services = await startLibvirt();
  outDir = mkdtempSync(join(tmpdir(), 'hefery-scenarios-it-'));
});

after(async () => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  await services?.stop();
});

const NORMAL_MS = 20_000;

function options(scenario: Scenario): RecordOptions {
  return {
    scenario, repeat: 0, outDir, normalMs: NORMAL_MS, afterMs: 5000, outageMs: 8000, probeTimeoutMs: 3000,
    trainFraction: 0.5, seed: 7, log: (m) => logs.push(m),
  };
}

async function domainExists(name: string): Promise<boolean> {
  const r = await execFileP('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name']);
  return r.stdout.split('\n').map((s) => s.trim()).includes(name);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
function cpuBetween(t: Trace, from: number, to: number): number[] {
  return t.rows.filter((r) => r.ts >= from && r.ts < to && typeof r.cpu === 'number').map((r) => r.cpu as number);
}

/** What every recorded trace must satisfy: it parses, has the run's window at the injection, rows span the run. */
function checkTrace(r: RecordResult): Trace {
  const t = readJsonlTraceFile(r.path);
  assert.equal(t.name, r.name);
  assert.deepEqual(t.windows, [r.window]);
  const w = r.window;
  // The fault is injected after the normal period (plus the trigger's own latency).
  const injectedAfter = w.start - r.normalStart;
  assert.ok(injectedAfter >= NORMAL_MS && injectedAfter < NORMAL_MS + 15_000, `fault started ${injectedAfter} ms after the normal period began`);
  assert.ok(w.failure !== undefined && w.failure >= w.start && w.failure <= w.end, JSON.stringify(w));
  // Rows: the agent's 1-s samples from before the normal period to the end.
  assert.ok(t.rows[0].ts <= r.normalStart + 1000, 'samples from the start of the normal period');
  assert.ok(t.rows.every((x, i) => i === 0 || x.ts > t.rows[i - 1].ts), 'ascending');
  const span = (t.rows[t.rows.length - 1].ts - t.rows[0].ts) / 1000;
  assert.ok(t.rows.length >= 0.8 * span, `${t.rows.length} rows over ${span} s: about one a second`);
  // trainUntil: the first half of the normal period only trains.
  assert.equal(t.trainUntil, t.rows.findIndex((x) => x.ts >= r.trainUntil));
  assert.ok(Math.abs(r.trainUntil - (r.normalStart + NORMAL_MS / 2)) < 2000);
  assert.equal(t.meta?.scenario, r.meta.scenario);
  assert.equal(t.meta?.domain, r.domain);
  return t;
}

test('cpu runaway: the window starts at the injection, the CPU rises, the httpd outage is the failure', { skip, timeout: 360_000 }, async () => {
  const scenario: Scenario = {
    name: 'cpu-runaway', label: 'cpu-runaway', summary: 'test: a fast runaway', maxWaitS: 150,
    variants: [{ name: 'every 2 s (test)', trigger: { kind: 'cgi', path: '/cgi-bin/runaway', params: { every: 2, max: 24 } }, failure: ['outage'] }],
  };
  const r = await recordScenario(options(scenario));
  const t = checkTrace(r);
  assert.equal(r.failure?.signal, 'outage', logs.join('\n'));
  const w = r.window;
  // The outage: every probe from the failure time for 8 s went unanswered; before the fault, none did for long.
  const during = r.probes.filter((p) => p.sentAt >= (w.failure as number) && p.sentAt < (w.failure as number) + 8000);
  assert.ok(during.length >= 7 && during.every((p) => p.ok === false), JSON.stringify(during));
  assert.ok(r.probes.filter((p) => p.sentAt < w.start).some((p) => p.ok === true), 'httpd answered during the normal period');
  // The agent saw the runaway: CPU well above the normal period's.
  const normalCpu = mean(cpuBetween(t, r.normalStart, w.start));
  const faultCpu = mean(cpuBetween(t, w.start + 4000, w.failure as number));
  assert.ok(faultCpu > normalCpu + 15, `CPU ${normalCpu.toFixed(1)} % before the fault, ${faultCpu.toFixed(1)} % during it`);
  assert.equal(await domainExists(r.domain), false, 'the guest is gone after the run');
});

test('crash: pvpanic reports the panic, the agent records the crashed event as an incident, the window ends there', { skip, timeout: 300_000 }, async () => {
  const scenario: Scenario = {
    name: 'crash', label: 'crash', summary: 'test: a sudden panic', maxWaitS: 60,
    variants: [{ name: 'sudden panic', trigger: { kind: 'cgi', path: '/cgi-bin/crash', params: {} }, failure: ['crashed'] }],
  };
  const r = await recordScenario(options(scenario));
  const t = checkTrace(r);
  assert.equal(r.failure?.signal, 'crashed', logs.join('\n'));
  const w = r.window;
  // The CGI panics the kernel 1 s after answering.
  assert.ok((w.failure as number) - w.start < 10_000, `crash ${(w.failure as number) - w.start} ms after the trigger`);
  const crashed = r.events.find((e) => e.kind === 'crashed');
  assert.ok(crashed, JSON.stringify(r.events));
  assert.equal(crashed.ts, w.failure);
  assert.match(crashed.detail, /panicked|crashed/);
  const incident = r.incidents.find((i) => i.health === 'failed' && i.source === 'event');
  assert.ok(incident, `incidents: ${JSON.stringify(r.incidents)}`);
  assert.match(incident.note ?? '', /^crashed: /);
  assert.ok(Math.abs(incident.from - (w.failure as number)) < 1000);
  // No running sample after the crash: the domain is gone.
  const running = t.rows.filter((x) => x.ts > (w.failure as number) + 2000 && x.cpu !== undefined);
  assert.deepEqual(running, []);
  assert.equal(t.meta?.failureSignal, 'crashed');
  assert.equal(await domainExists(r.domain), false);
});

test('Ctrl-C during a run removes the guest, the agent, the worker and the run directory', { skip, timeout: 240_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'scenarios', 'run.ts'), '--scenarios', 'hang', '--out', outDir, '--normal', '10m'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  await waitUntil('the run to reach its normal period', () => {
    assert.equal(child.exitCode, null, `the run ended before its normal period:\n${out}`);
    return /normal period/.test(out);
  }, 150_000, () => out);
  const m = /booting (\S+) .*run directory (\S+), namespace (\S+)/.exec(out);
  assert.ok(m, out);
  const [, domain, runDir, ns] = m;
  assert.equal(await domainExists(domain), true);
  const { stdout: before } = await execFileP('ps', ['-eo', 'args']);
  assert.match(before, new RegExp(`${runDir}/agent.json`), 'the agent runs');
  child.kill('SIGINT');
  assert.equal(await exited, 130, out);
  assert.match(out, /SIGINT: stopping the current run/);
  assert.equal(await domainExists(domain), false, 'domain destroyed');
  assert.equal(existsSync(runDir), false, 'run directory removed');
  const { stdout: namespaces } = await execFileP('ip', ['netns', 'list']);
  assert.doesNotMatch(namespaces, new RegExp(`^${ns}\\b`, 'm'), 'test namespace removed');
  const { stdout: procs } = await execFileP('ps', ['-eo', 'args']);
  assert.doesNotMatch(procs, new RegExp(`${runDir}|netns-worker.ts ${ns}`), 'no agent or netns worker left');
  assert.equal(existsSync(join(outDir, 'hang-1.jsonl.gz')), false, 'no trace of an aborted run');
});
