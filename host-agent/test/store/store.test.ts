import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store, StoreError, SCHEMA_VERSION } from '../../src/store';
import type { Sample } from '../../src/protocol/api';
import { memoryLogger } from '../../src/log';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hefery-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sample(domain: string, ts: number, cpuPct: number | null = 10): Sample {
  return { domain, ts, state: 'running', cpuPct, memPct: 20, netRxBps: 1, netTxBps: 2, diskRdBps: null, diskWrBps: 4 };
}

const DAY = 86_400_000;

test('a new file store uses WAL, synchronous=NORMAL and records its schema version', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'sub', 'h.db');
  const s = Store.open({ path });
  t.after(() => s.close());
  assert.equal(s.journalMode, 'wal');
  s.close();
  const db = new Database(path, { readonly: true });
  try {
    assert.deepEqual(db.prepare('SELECT version FROM schema_version').all(), [{ version: SCHEMA_VERSION }]);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  } finally {
    db.close();
  }
  const s2 = Store.open({ path });
  t.after(() => s2.close());
  // synchronous is per connection: 1 = NORMAL
  assert.equal((s2 as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true }), 1);
});

test('samples: batched insert, history range/limit in ascending order, latest per domain, survives reopen', (t) => {
  const path = join(tmp(t), 'h.db');
  const s = Store.open({ path });
  assert.equal(s.insertSamples([1, 2, 3, 4, 5].map((i) => ({ sample: sample('a', i * 1000), risk: i / 10 }))), true);
  assert.equal(s.insertSamples([{ sample: sample('b', 1500, null), risk: null }]), true);
  const h = s.history('a', 2000, 4000);
  assert.deepEqual(h.map((r) => r.sample.ts), [2000, 3000, 4000]);
  assert.deepEqual(h[0], { sample: sample('a', 2000), risk: 0.2 });
  assert.deepEqual(s.history('a', 0, 10_000, 2).map((r) => r.sample.ts), [4000, 5000], 'limit keeps the newest');
  s.close();
  const again = Store.open({ path });
  t.after(() => again.close());
  const latest = again.latest();
  assert.equal(latest.get('a')?.sample.ts, 5000);
  assert.equal(latest.get('b')?.sample.cpuPct, null);
  assert.equal(latest.get('b')?.risk, null);
});

test('decisions: record() returns ids, the audit log keeps every field', (t) => {
  const s = Store.open({ path: join(tmp(t), 'h.db') });
  t.after(() => s.close());
  const d1 = s.record({ domain: 'a', ts: 1000, kind: 'auto', oldIntervalMs: 50, newIntervalMs: 200, risk: 0.01, reason: 'risk low', who: 'policy', applied: true });
  const d2 = s.record({ domain: 'a', ts: 2000, kind: 'failsafe', oldIntervalMs: 200, newIntervalMs: 25, risk: null, reason: 'no stats', who: 'policy', applied: false, error: 'xl: exit 1' });
  s.record({ domain: 'b', ts: 1500, kind: 'override', oldIntervalMs: null, newIntervalMs: 100, risk: null, reason: 'pinned', who: 'alice', applied: true });
  assert.ok(d1.id > 0 && d2.id > d1.id);
  const list = s.decisions('a', 0, 10_000);
  assert.deepEqual(list, [d1, d2]);
  assert.equal(list[1].error, 'xl: exit 1');
  assert.equal('error' in list[0], false);
  assert.deepEqual(s.decisions('a', 1500, 10_000).map((d) => d.id), [d2.id]);
});

test('incidents, events and models round-trip', (t) => {
  const s = Store.open({ path: join(tmp(t), 'h.db'), now: () => 42 });
  t.after(() => s.close());
  const id = s.markIncident({ domain: 'a', from: 100, to: 200, health: 'failed', note: 'kernel panic', source: 'user' });
  s.markIncident({ domain: 'a', from: 1000, to: 2000, health: 'abnormal', source: 'event' });
  assert.deepEqual(s.incidents('a', 150, 500), [{ id, domain: 'a', from: 100, to: 200, health: 'failed', note: 'kernel panic', source: 'user', created: 42 }]);
  assert.equal(s.incidents('a', 0, 5000).length, 2);
  assert.throws(() => s.markIncident({ domain: 'a', from: 10, to: 5, health: 'failed', source: 'user' }), /before its start/);
  assert.equal(s.insertEvent({ domain: 'a', ts: 5, kind: 'crashed', detail: 'panicked' }), true);
  assert.deepEqual(s.events('a', 0, 10).map((e) => [e.kind, e.detail]), [['crashed', 'panicked']]);
  s.saveModel('a', 'v1', '{"x":1}', 10);
  s.saveModel('a', 'v2', '{"x":2}', 20);
  s.saveModel('a', 'v1', '{"x":3}', 5);
  assert.equal(s.latestModel('a')?.version, 'v2');
  assert.deepEqual(s.models('a').map((m) => [m.version, m.json]), [['v1', '{"x":3}'], ['v2', '{"x":2}']]);
  assert.equal(s.latestModel('zzz'), null);
});

test('retention: days and max rows per domain', (t) => {
  const now = 100 * DAY;
  const s = Store.open({ path: join(tmp(t), 'h.db'), retention: { days: 2, maxRowsPerDomain: 3, decisionDays: 10 }, now: () => now });
  t.after(() => s.close());
  const rows = [];
  for (let i = 0; i < 10; i++) rows.push({ sample: sample('a', now - 5 * DAY + i * (DAY / 2)), risk: null });
  for (let i = 0; i < 2; i++) rows.push({ sample: sample('b', now - 1000 + i), risk: null });
  s.insertSamples(rows);
  s.insertEvent({ domain: 'a', ts: now - 3 * DAY, kind: 'started', detail: '' });
  s.insertEvent({ domain: 'a', ts: now - DAY, kind: 'stopped', detail: '' });
  s.record({ domain: 'a', ts: now - 11 * DAY, kind: 'auto', oldIntervalMs: 1, newIntervalMs: 2, risk: 0, reason: 'old', who: 'p', applied: true });
  s.record({ domain: 'a', ts: now - DAY, kind: 'auto', oldIntervalMs: 2, newIntervalMs: 3, risk: 0, reason: 'new', who: 'p', applied: true });
  const res = s.prune();
  // a: samples at now-5d .. now-0.5d; those older than 2 d go (6), then only the newest 3 of the remaining 4 stay
  const a = s.history('a', 0, now);
  assert.deepEqual(a.map((r) => r.sample.ts), [now - 1.5 * DAY, now - DAY, now - 0.5 * DAY]);
  assert.equal(s.history('b', 0, now).length, 2);
  assert.equal(res.samples, 7);
  assert.deepEqual(s.events('a', 0, now).map((e) => e.kind), ['stopped']);
  assert.deepEqual(s.decisions('a', 0, now).map((d) => d.reason), ['new']);
  assert.deepEqual(s.prune(), { samples: 0, events: 0, decisions: 0 });
});

test('a corrupt file is refused with a clear error and left untouched', (t) => {
  const path = join(tmp(t), 'h.db');
  const junk = 'this is not a database, it is a grocery list\n'.repeat(200);
  writeFileSync(path, junk);
  assert.throws(() => Store.open({ path }), (e: unknown) => {
    assert.ok(e instanceof StoreError);
    assert.match(e.message, /is not a usable SQLite database \(SQLITE_NOTADB/);
    assert.match(e.message, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(e.message, /move it away/);
    return true;
  });
  assert.equal(readFileSync(path, 'utf8'), junk);
});

test('a store written by a newer agent is refused', (t) => {
  const path = join(tmp(t), 'h.db');
  Store.open({ path }).close();
  const db = new Database(path);
  db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 5);
  db.close();
  assert.throws(() => Store.open({ path }), /has schema version \d+, newer than this agent's/);
});

test('an unopenable path is a clear error', (t) => {
  const dir = tmp(t);
  assert.throws(() => Store.open({ path: dir }), /cannot open the store at/);
});

test('a write failure (disk full) is reported, does not throw, and decisions still return', (t) => {
  const path = join(tmp(t), 'h.db');
  const log = memoryLogger();
  const failures: string[] = [];
  const s = Store.open({ path, log, onWriteError: (e, what) => failures.push(`${what}: ${(e as { code?: string }).code}`) });
  t.after(() => s.close());
  const db = (s as unknown as { db: Database.Database }).db;
  // Cap the database at its current size: the next page allocation fails with SQLITE_FULL.
  const pages = Number(db.pragma('page_count', { simple: true }));
  db.pragma(`max_page_count = ${pages}`);
  const big = Array.from({ length: 5000 }, (_, i) => ({ sample: sample('a', i), risk: null }));
  assert.equal(s.insertSamples(big), false);
  const d = s.record({ domain: 'a', ts: 1, kind: 'auto', oldIntervalMs: 1, newIntervalMs: 2, risk: 0, reason: 'x'.repeat(400), who: 'p', applied: true });
  assert.ok(failures.some((f) => f.includes('SQLITE_FULL')), failures.join('; '));
  assert.ok(log.lines.some((l) => l.includes('SQLITE_FULL')));
  assert.equal(typeof d.id, 'number');
  // The store keeps working once space is back.
  db.pragma('max_page_count = 1073741823');
  assert.equal(s.insertSamples([{ sample: sample('a', 1), risk: null }]), true);
  assert.equal(s.history('a', 0, 10).length, 1, 'the failed batch left nothing behind (one transaction)');
});

test('close is idempotent and writes after close are reported, not thrown', (t) => {
  const log = memoryLogger();
  const s = Store.open({ path: join(tmp(t), 'h.db'), log });
  s.close();
  s.close();
  assert.equal(s.isOpen, false);
  assert.equal(s.insertSamples([{ sample: sample('a', 1), risk: null }]), false);
  assert.equal(s.record({ domain: 'a', ts: 1, kind: 'auto', oldIntervalMs: 1, newIntervalMs: 2, risk: 0, reason: 'r', who: 'p', applied: true }).id, 0);
  assert.ok(log.lines.some((l) => l.includes('store is closed')));
});
