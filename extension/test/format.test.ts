// What the tree, status bar and commands show, and what users may type.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agentProblemDetails, agentProblems, domainContext, domainDescription, formatClock, formatInterval, formatPercent, hostDescription, modeText, parseClockTime, parseInterval,
  pinChoices, pinPresets, riskLevel,
} from '../src/core/format';
import type { DomainView, HostView } from '../src/core/hostsModel';
import type { HostSpec } from '../src/core/hostConfig';

const domain = (over: Partial<DomainView> = {}): DomainView => ({
  hostId: 'h', name: 'web1', uuid: 'u', state: 'running', hasModel: true,
  latest: { domain: 'web1', ts: 0, state: 'running', cpuPct: 12.34, memPct: 5.55, netRxBps: 0, netTxBps: 0, diskRdBps: 0, diskWrBps: 0 },
  risk: { ts: 0, next: 0.031 },
  protection: { mode: 'auto', intervalMs: 250, backend: 'dry-run', reason: '' },
  ...over,
});

test('numbers', () => {
  assert.equal(formatPercent(12.34), '12%');
  assert.equal(formatPercent(5.55), '5.5%');
  assert.equal(formatPercent(null), '–');
  assert.equal(formatInterval(250), '250 ms');
  assert.equal(formatInterval(1500), '1.5 s');
  assert.equal(formatInterval(120_000), '2 min');
  assert.equal(formatInterval(null), '–');
});

test('typed intervals', () => {
  assert.equal(parseInterval('250ms'), 250);
  assert.equal(parseInterval(' 250 ms '), 250);
  assert.equal(parseInterval('250'), 250);
  assert.equal(parseInterval('1.5s'), 1500);
  assert.equal(parseInterval('2 S'), 2000);
  assert.equal(parseInterval('1m'), 60_000);
  assert.equal(parseInterval('fast'), '"fast" is not an interval: write e.g. 250ms, 2s or 1m');
  assert.equal(parseInterval('0ms'), '0 ms is outside 1 ms .. 60 min');
  assert.equal(parseInterval('2h'), '"2h" is not an interval: write e.g. 250ms, 2s or 1m');
  assert.equal(parseInterval('61m'), '61 min is outside 1 ms .. 60 min');
});

test('clock times: next occurrence, today or tomorrow', () => {
  const now = new Date(2024, 5, 10, 14, 0, 0).getTime();
  assert.equal(parseClockTime('18:30', now), new Date(2024, 5, 10, 18, 30).getTime());
  assert.equal(parseClockTime('9:05', now), new Date(2024, 5, 11, 9, 5).getTime());
  assert.equal(parseClockTime('14:00', now), new Date(2024, 5, 11, 14, 0).getTime(), 'now is not the future');
  assert.equal(parseClockTime('25:00', now), '"25:00" is not a time: write HH:MM, e.g. 18:30');
  assert.equal(formatClock(new Date(2024, 0, 1, 7, 3).getTime()), '07:03');
});

test('domain rows: description, mode, context value', () => {
  assert.equal(domainDescription(domain()), 'running · CPU 12% · mem 5.5% · risk 3.1% · 250 ms · auto');
  const until = new Date(2024, 0, 1, 16, 45).getTime();
  const pinned = domain({ protection: { mode: 'pinned', intervalMs: 500, pinnedUntil: until, backend: 'x', reason: '' } });
  assert.equal(domainDescription(pinned), 'running · CPU 12% · mem 5.5% · risk 3.1% · 500 ms · pinned until 16:45');
  assert.equal(domainContext(pinned), 'domain.pinned');
  assert.equal(domainDescription(domain({ latest: null, risk: null, protection: null, state: 'shutoff' })), 'shutoff');
  assert.equal(domainContext(domain({ protection: null })), 'domain.unprotected');
  assert.equal(modeText({ mode: 'failsafe', intervalMs: 100, backend: 'x', reason: '' }), 'failsafe');
  assert.equal(modeText({ mode: 'pinned', intervalMs: 100, pinnedUntil: null, backend: 'x', reason: '' }), 'pinned');
});

test('risk levels use the policy thresholds when the agent sends them', () => {
  const fallback = { warn: 0.2, alert: 0.5 };
  assert.equal(riskLevel(null, null, fallback), 'unknown');
  assert.equal(riskLevel(0.1, null, fallback), 'low');
  assert.equal(riskLevel(0.2, null, fallback), 'elevated');
  assert.equal(riskLevel(0.5, null, fallback), 'high');
  const p = { mode: 'auto' as const, intervalMs: 1, backend: 'x', reason: '', thresholds: { raise: 0.9, lower: 0.6 } };
  assert.equal(riskLevel(0.5, p, fallback), 'low');
  assert.equal(riskLevel(0.7, p, fallback), 'elevated');
  assert.equal(riskLevel(0.95, p, fallback), 'high');
});

test('host rows', () => {
  const spec = {} as HostSpec;
  const h = (over: Partial<HostView>): HostView => ({ id: 'h', spec, state: 'connected', attempts: 0, ...over });
  assert.equal(hostDescription(h({}), 3, 0), 'connected · 3 domains');
  assert.equal(hostDescription(h({}), 1, 0), 'connected · 1 domain');
  assert.equal(hostDescription(h({ state: 'reconnecting', nextRetryAt: 4200, attempts: 1 }), 0, 1000), 'reconnecting in 4 s (attempt 2)');
  assert.equal(hostDescription(h({ state: 'error', error: 'the server refused key /k for user u' }), 0, 0), 'error: the server refused key /k for user u');
  assert.equal(hostDescription(h({ state: 'disconnected' }), 0, 0), 'disconnected');
});

test('pin choices: ladder plus half and double the current interval, sorted, in bounds', () => {
  assert.deepEqual(pinChoices(300), [50, 100, 150, 250, 300, 500, 600, 1000, 2000, 5000]);
  assert.deepEqual(pinChoices(null), [50, 100, 250, 500, 1000, 2000, 5000]);
  assert.deepEqual(pinChoices(1, [1]), [1, 2]);
});

test('pin presets: the domain\'s policy ladder when the agent sends it (nothing longer than its relaxed interval), else the generic choices', () => {
  const status = { mode: 'auto' as const, intervalMs: 500, backend: 'qemu-colo', reason: '', ladder: [200, 500, 1000, 2000] };
  assert.deepEqual(pinPresets(status), [
    { ms: 200, note: 'safe (shortest) in the policy' },
    { ms: 500, note: 'current' },
    { ms: 1000 },
    { ms: 2000, note: 'relaxed (longest) in the policy' },
  ]);
  // A pinned interval off the ladder is offered too, in order.
  assert.deepEqual(pinPresets({ ...status, mode: 'pinned', intervalMs: 700 }).map((p) => p.ms), [200, 500, 700, 1000, 2000]);
  // One-step ladder (safe = relaxed).
  assert.deepEqual(pinPresets({ ...status, intervalMs: 300, ladder: [300] }), [{ ms: 300, note: 'current, safe (shortest) in the policy' }]);
  // No ladder (an older agent): the generic choices around the current interval.
  const { ladder: _, ...noLadder } = status;
  assert.deepEqual(pinPresets(noLadder).map((p) => p.ms), pinChoices(500));
  assert.deepEqual(pinPresets(null).map((p) => p.ms), pinChoices(null));
});

test('a degraded agent: the host row says what is wrong, the details say since when and what it means', () => {
  const spec = { id: 'h', source: 'settings', origin: 'o', socketPath: '/s', knownHostsFiles: [], notes: [], target: { label: 'h', host: 'h', port: 22, username: 'u', identityFiles: [], identitiesOnly: false } } as HostSpec;
  const status = { store: { writable: false, error: 'SQLITE_IOERR: disk I/O error', since: new Date(2026, 0, 1, 14, 30).getTime(), failedWrites: 1 }, stats: { available: false, error: 'libvirtd is gone' } };
  const view: HostView = { id: 'h', spec, state: 'connected', attempts: 0, status };
  assert.deepEqual(agentProblems(status), ['store not writable', 'no libvirt stats']);
  assert.equal(hostDescription(view, 1, 0), 'connected · degraded: store not writable, no libvirt stats · 1 domain');
  assert.deepEqual(agentProblemDetails(status), [
    'The agent cannot write its store since 14:30 (1 failed write): SQLITE_IOERR: disk I/O error. History is not being kept and every protected domain is held at its safe interval.',
    'The agent gets no libvirt stats: libvirtd is gone. Every protected domain is held at its safe interval until samples come again.',
  ]);
  assert.deepEqual(agentProblems({ store: { writable: true, failedWrites: 0 }, stats: { available: true } }), []);
  assert.deepEqual(agentProblemDetails(undefined), []);
  assert.equal(hostDescription({ ...view, status: undefined }, 1, 0), 'connected · 1 domain');
});
