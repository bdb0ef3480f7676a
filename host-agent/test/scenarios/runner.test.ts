// The scenario runner's other pure parts: the catalog, its command line, the
// domain XML it boots, the workload rhythm and the teardown order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainXml } from '../../../test/fixtures/guest';
import { describeTrigger, parseScenarioList, SCENARIOS, triggerQuery, variantFor } from '../../../scripts/scenarios/catalog';
import { scenarioDomainXml } from '../../../scripts/scenarios/guest';
import { parseRunArgs, plannedRuns } from '../../../scripts/scenarios/run';
import { Aborted, sleep, Teardown } from '../../../scripts/scenarios/teardown';
import { seededRandom } from '../../src/hmm/train';
import { backgroundJob } from '../../../scripts/scenarios/workload';

test('the catalog: the seven faults, each with at least two variants and a failure signal', () => {
  assert.deepEqual(SCENARIOS.map((s) => s.name), ['mem-leak', 'cpu-runaway', 'disk-fill', 'net-flood', 'fork-bomb', 'hang', 'crash']);
  for (const s of SCENARIOS) {
    assert.ok(s.variants.length >= 2, s.name);
    assert.ok(s.variants.every((v) => v.failure.length > 0), s.name);
    assert.notEqual(variantFor(s, 0).name, variantFor(s, 1).name, `${s.name}: repeats 1 and 2 differ`);
    assert.equal(variantFor(s, s.variants.length), variantFor(s, 0), 'variants cycle');
  }
  assert.equal(SCENARIOS.find((s) => s.name === 'disk-fill')?.hostDiskMiB, 40);
});

test('scenario lists: names in order without repeats, "all", and a clear error for an unknown one', () => {
  assert.deepEqual(parseScenarioList('crash, mem-leak,crash').map((s) => s.name), ['crash', 'mem-leak']);
  assert.equal(parseScenarioList('all').length, SCENARIOS.length);
  assert.throws(() => parseScenarioList('crash,meltdown'), /unknown scenario "meltdown" \(known: mem-leak, cpu-runaway/);
  assert.throws(() => parseScenarioList(' , '), /empty list/);
});

test('triggers: the CGI query and a readable description', () => {
  assert.equal(triggerQuery({ kb: 512, ms: 1000.4 }), 'kb=512&ms=1000');
  assert.equal(describeTrigger({ kind: 'cgi', path: '/cgi-bin/crash', params: {} }), 'GET /cgi-bin/crash');
  assert.equal(describeTrigger({ kind: 'cgi', path: '/cgi-bin/leak', params: { kb: 512, ms: 1000 } }), 'GET /cgi-bin/leak?kb=512&ms=1000');
  assert.equal(describeTrigger({ kind: 'flood', path: '/', conc: 4, factor: 2, stepS: 8, maxConc: 64 }), 'HTTP flood of /: 4 connections, x2 every 8 s (at most 64)');
});

test('run arguments: defaults, durations, and errors naming the option', () => {
  const a = parseRunArgs(['--scenarios', 'crash,hang', '--out', 'traces']);
  assert.deepEqual([a.repeat, a.from, a.normalMs, a.afterMs, a.outageMs, a.probeTimeoutMs, a.trainFraction, a.seed], [1, 1, 120_000, 20_000, 10_000, 3000, 0.5, 1]);
  assert.match(a.outDir, /\/traces$/);
  const b = parseRunArgs(['--scenarios', 'all', '--out', '/tmp/t', '--repeat', '2', '--from', '2', '--normal', '3m', '--outage', '15s', '--train', '0.25', '--seed', '7']);
  assert.deepEqual([b.repeat, b.from, b.normalMs, b.outageMs, b.trainFraction, b.seed], [2, 2, 180_000, 15_000, 0.25, 7]);
  assert.throws(() => parseRunArgs(['--out', 'x']), /--scenarios is required/);
  assert.throws(() => parseRunArgs(['--scenarios', 'crash']), /--out is required/);
  assert.throws(() => parseRunArgs(['--scenarios', 'crash', '--out', 'x', '--normal', 'soon']), /--normal: expected a duration/);
  assert.throws(() => parseRunArgs(['--scenarios', 'crash', '--out', 'x', '--normal', '5s']), /--normal: at least 10s/);
  assert.throws(() => parseRunArgs(['--scenarios', 'crash', '--out', 'x', '--repeat', '0']), /--repeat: expected a whole number >= 1/);
  assert.throws(() => parseRunArgs(['--scenarios', 'crash', '--out', 'x', '--train', '1']), /--train: expected a number in \[0, 1\)/);
  assert.throws(() => parseRunArgs(['--scenarios', 'crash', '--out', 'x', '--probe-timeout', '20s']), /--probe-timeout must be shorter than --outage/);
  assert.throws(() => parseRunArgs(['--scenarios', 'crash', '--out', 'x', '--bogus']), /bogus/);
});

test('planned runs: scenario by scenario, repeats from --from', () => {
  const runs = plannedRuns(parseRunArgs(['--scenarios', 'hang,crash', '--out', 'x', '--repeat', '2', '--from', '3']));
  assert.deepEqual(runs.map((r) => `${r.scenario.name}-${r.repeat + 1}`), ['hang-3', 'hang-4', 'crash-3', 'crash-4']);
});

test('the scenario domain: the fixture XML plus ACPI and an ISA pvpanic device; the disk can move', () => {
  const base = domainXml({ name: 'g', memoryMiB: 128, overlay: '/tmp/a/disk.qcow2', bridge: 'br0', consoleLog: '/tmp/a/console.log' });
  const xml = scenarioDomainXml(base);
  assert.match(xml, /<\/os>\s*<features>\s*<acpi\/>\s*<\/features>/);
  assert.match(xml, /<panic model='isa'>\s*<address type='isa' iobase='0x505'\/>\s*<\/panic>\s*<\/devices>/);
  assert.match(xml, /<on_crash>destroy<\/on_crash>/, 'a panic destroys the domain (libvirt reports crashed)');
  assert.match(xml, /<source file='\/tmp\/a\/disk.qcow2'\/>/);
  const moved = scenarioDomainXml(base, { diskPath: "/mnt/small/it's.qcow2" });
  assert.match(moved, /<source file='\/mnt\/small\/it&apos;s.qcow2'\/>/);
  assert.doesNotMatch(moved, /\/tmp\/a\/disk.qcow2/);
  assert.match(moved, /<source path='\/tmp\/a\/console.log'\/>/, 'the console stays where it was');
  assert.throws(() => scenarioDomainXml('<domain></domain>'), /expected one <\/os>, found 0/);
});

test('the workload rhythm is reproducible from its seed and cycles through the four jobs', () => {
  const jobsOf = (seed: number) => {
    const r = seededRandom(seed);
    return Array.from({ length: 12 }, (_, k) => backgroundJob(k, r).path);
  };
  assert.deepEqual(jobsOf(42), jobsOf(42));
  assert.notDeepEqual(jobsOf(42), jobsOf(43));
  const rnd = seededRandom(1);
  const jobs = [0, 1, 2, 3, 4].map((k) => backgroundJob(k, rnd).path);
  assert.match(jobs[0], /^\/cgi-bin\/cpu\?secs=[2-5]$/);
  assert.match(jobs[1], /^\/cgi-bin\/disk\?mb=[1-3]$/);
  assert.match(jobs[2], /^\/cgi-bin\/mem\?mb=\d+&secs=[4-8]$/);
  assert.match(jobs[3], /^\/cgi-bin\/blob\?kb=\d+$/);
  assert.match(jobs[4], /^\/cgi-bin\/cpu/);
});

test('teardown: newest first, once, past failing and stuck steps', async () => {
  const done: string[] = [];
  const logs: string[] = [];
  const td = new Teardown((m) => logs.push(m), 50);
  td.add('net', () => done.push('net'));
  td.add('guest', () => {
    throw new Error('virsh said no');
  });
  td.add('agent', () => new Promise(() => undefined)); // never ends
  td.add('worker', async () => {
    done.push('worker');
  });
  await Promise.all([td.run(), td.run()]);
  await td.run();
  assert.deepEqual(done, ['worker', 'net']);
  assert.deepEqual(logs, ['teardown: agent: still not done after 0.05 s, going on', 'teardown: guest: virsh said no']);
});

test('sleep resolves, or rejects with Aborted at once when aborted', async () => {
  await sleep(1);
  const ac = new AbortController();
  const p = sleep(60_000, ac.signal);
  ac.abort();
  await assert.rejects(p, Aborted);
  await assert.rejects(sleep(1, ac.signal), Aborted);
});
