// The agent's SQLite store (better-sqlite3, synchronous): sample history,
// the audit log of interval decisions, incidents, domain events, models.
//
// - WAL journal, synchronous=NORMAL: a crash loses at most the last
//   transactions, never corrupts; readers do not block the writer.
// - One transaction per tick for the samples (insertSamples).
// - Background writes (samples, events, decisions) never throw: a failure
//   (SQLITE_FULL, I/O error, read-only file) is reported through the logger
//   and `onWriteError`, and the daemon keeps running. Writes a client asked
//   for (incidents.mark) throw a StoreError so the client gets the reason.
// - Retention: samples and events older than `days` and beyond
//   `maxRowsPerDomain` newest rows per domain are pruned by prune() (the
//   daemon calls startPruning()); decisions older than `decisionDays`.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Decision, HealthLabel, Sample } from '../protocol/api';
import type { DecisionSink, NewDecision } from '../policy/types';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import { MIGRATIONS, SCHEMA_VERSION } from './schema';

export interface RetentionOptions {
  /** Samples and events older than this many days are removed. */
  days?: number;
  /** At most this many newest samples are kept per domain. */
  maxRowsPerDomain?: number;
  /** Decisions (audit log) older than this many days are removed. Default: kept. */
  decisionDays?: number;
}

export interface StoreOptions {
  /** File path, or ':memory:'. Its directory is created (0750) when missing. */
  path: string;
  retention?: RetentionOptions;
  log?: Logger;
  /** Called for every failed background write. */
  onWriteError?: (err: Error, what: string) => void;
  /** Clock for retention (tests). */
  now?: () => number;
}

export interface SampleRow {
  sample: Sample;
  risk: number | null;
}

export interface Incident {
  id: number;
  domain: string;
  from: number;
  to: number;
  health: HealthLabel;
  note: string | null;
  source: 'user' | 'event';
  created: number;
}

export interface StoredEvent {
  id: number;
  domain: string;
  ts: number;
  kind: string;
  detail: string;
}

export interface StoredModel {
  id: number;
  domain: string;
  version: string;
  json: string;
  created: number;
}

export interface PruneResult {
  samples: number;
  events: number;
  decisions: number;
}

export class StoreError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'StoreError';
  }
}

const DAY_MS = 86_400_000;
const PRUNE_CHUNK = 10_000;

interface SampleDbRow {
  domain: string;
  ts: number;
  state: Sample['state'];
  cpu_pct: number | null;
  mem_pct: number | null;
  net_rx_bps: number | null;
  net_tx_bps: number | null;
  disk_rd_bps: number | null;
  disk_wr_bps: number | null;
  risk: number | null;
}

interface DecisionDbRow {
  id: number;
  domain: string;
  ts: number;
  kind: Decision['kind'];
  old_interval_ms: number | null;
  new_interval_ms: number | null;
  risk: number | null;
  reason: string;
  who: string;
  applied: number;
  error: string | null;
}

function sqliteCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
}

function toSampleRow(r: SampleDbRow): SampleRow {
  return {
    sample: {
      domain: r.domain,
      ts: r.ts,
      state: r.state,
      cpuPct: r.cpu_pct,
      memPct: r.mem_pct,
      netRxBps: r.net_rx_bps,
      netTxBps: r.net_tx_bps,
      diskRdBps: r.disk_rd_bps,
      diskWrBps: r.disk_wr_bps,
    },
    risk: r.risk,
  };
}

function toDecision(r: DecisionDbRow): Decision {
  const d: Decision = {
    id: r.id,
    domain: r.domain,
    ts: r.ts,
    kind: r.kind,
    oldIntervalMs: r.old_interval_ms,
    newIntervalMs: r.new_interval_ms,
    risk: r.risk,
    reason: r.reason,
    who: r.who,
    applied: r.applied !== 0,
  };
  if (r.error !== null) d.error = r.error;
  return d;
}

export class Store implements DecisionSink {
  private readonly log: Logger;
  private readonly now: () => number;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastErrorLog = 0;
  private suppressedErrors = 0;
  private readonly st: ReturnType<Store['prepare']>;

  private constructor(private readonly db: Database.Database, readonly path: string, private readonly opts: StoreOptions) {
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.st = this.prepare();
  }

  /** Opens (creating when missing) and migrates the store; throws StoreError with a clear reason. */
  static open(opts: StoreOptions): Store {
    const path = opts.path === ':memory:' ? ':memory:' : resolve(opts.path);
    if (path !== ':memory:') {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
      } catch (e) {
        throw new StoreError(`cannot create the store's directory ${dirname(path)}: ${(e as Error).message}`, sqliteCode(e));
      }
    }
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (e) {
      throw new StoreError(`cannot open the store at ${path}: ${(e as Error).message}`, sqliteCode(e));
    }
    try {
      db.pragma('busy_timeout = 5000');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (path !== ':memory:' && String(mode).toLowerCase() !== 'wal') {
        throw new StoreError(`the store at ${path} could not switch to WAL journaling (got ${String(mode)})`);
      }
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      Store.migrate(db, path);
    } catch (e) {
      db.close();
      if (e instanceof StoreError) throw e;
      const code = sqliteCode(e);
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new StoreError(
          `the store at ${path} is not a usable SQLite database (${code}: ${(e as Error).message}). ` +
          'The file was left untouched: move it away to start a fresh store, or set store.path to another file.',
          code,
        );
      }
      throw new StoreError(`cannot open the store at ${path}: ${(e as Error).message}`, code);
    }
    return new Store(db, path, opts);
  }

  private static migrate(db: Database.Database, path: string): void {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreError(`the store at ${path} has schema version ${current}, newer than this agent's ${SCHEMA_VERSION}; upgrade hefery-agent`);
    }
    if (current === SCHEMA_VERSION) return;
    db.transaction(() => {
      for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
      if (row) db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION);
      else db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    })();
  }

  private prepare() {
    const db = this.db;
    return {
      insertSample: db.prepare(
        `INSERT INTO samples (domain, ts, state, cpu_pct, mem_pct, net_rx_bps, net_tx_bps, disk_rd_bps, disk_wr_bps, risk)
         VALUES (@domain, @ts, @state, @cpuPct, @memPct, @netRxBps, @netTxBps, @diskRdBps, @diskWrBps, @risk)`,
      ),
      history: db.prepare(
        `SELECT * FROM (SELECT * FROM samples WHERE domain = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC, rowid DESC LIMIT ?)
         ORDER BY ts ASC`,
      ),
      latest: db.prepare('SELECT *, MAX(ts) AS _max FROM samples GROUP BY domain'),
      insertDecision: db.prepare(
        `INSERT INTO decisions (domain, ts, kind, old_interval_ms, new_interval_ms, risk, reason, who, applied, error)
         VALUES (@domain, @ts, @kind, @oldIntervalMs, @newIntervalMs, @risk, @reason, @who, @applied, @error)`,
      ),
      decisions: db.prepare(
        `SELECT * FROM (SELECT * FROM decisions WHERE domain = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC, id DESC LIMIT ?)
         ORDER BY ts ASC, id ASC`,
      ),
      insertIncident: db.prepare(
        'INSERT INTO incidents (domain, from_ts, to_ts, health, note, source, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      incidents: db.prepare(
        'SELECT * FROM incidents WHERE domain = ? AND to_ts >= ? AND from_ts <= ? ORDER BY from_ts ASC, id ASC',
      ),
      insertEvent: db.prepare('INSERT INTO events (domain, ts, kind, detail) VALUES (?, ?, ?, ?)'),
      events: db.prepare(
        `SELECT * FROM (SELECT * FROM events WHERE domain = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC, id DESC LIMIT ?)
         ORDER BY ts ASC, id ASC`,
      ),
      saveModel: db.prepare(
        `INSERT INTO models (domain, version, json, created) VALUES (?, ?, ?, ?)
         ON CONFLICT (domain, version) DO UPDATE SET json = excluded.json, created = excluded.created`,
      ),
      latestModel: db.prepare('SELECT * FROM models WHERE domain = ? ORDER BY created DESC, id DESC LIMIT 1'),
      models: db.prepare('SELECT id, domain, version, created, json FROM models WHERE domain = ? ORDER BY created ASC, id ASC'),
      sampleDomains: db.prepare('SELECT DISTINCT domain FROM samples'),
      nthNewest: db.prepare('SELECT ts, rowid AS rid FROM samples WHERE domain = ? ORDER BY ts DESC, rowid DESC LIMIT 1 OFFSET ?'),
      pruneDomainRows: db.prepare(
        `DELETE FROM samples WHERE rowid IN (SELECT rowid FROM samples WHERE domain = ? AND (ts < ? OR (ts = ? AND rowid < ?)) LIMIT ${PRUNE_CHUNK})`,
      ),
      pruneSamplesOld: db.prepare(`DELETE FROM samples WHERE rowid IN (SELECT rowid FROM samples WHERE ts < ? LIMIT ${PRUNE_CHUNK})`),
      pruneEventsOld: db.prepare(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? LIMIT ${PRUNE_CHUNK})`),
      pruneDecisionsOld: db.prepare(`DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE ts < ? LIMIT ${PRUNE_CHUNK})`),
    };
  }

  // ---- samples ------------------------------------------------------------------------

  /** Inserts one tick's samples in one transaction. false (reported) when the write failed. */
  insertSamples(rows: readonly SampleRow[]): boolean {
    if (rows.length === 0) return true;
    return this.write(`${rows.length} sample(s)`, () => {
      this.db.transaction(() => {
        for (const { sample: s, risk } of rows) {
          this.st.insertSample.run({
            domain: s.domain, ts: s.ts, state: s.state, cpuPct: s.cpuPct, memPct: s.memPct,
            netRxBps: s.netRxBps, netTxBps: s.netTxBps, diskRdBps: s.diskRdBps, diskWrBps: s.diskWrBps, risk,
          });
        }
      })();
      return true;
    }) ?? false;
  }

  /** Samples of `domain` with from <= ts <= to, ascending; the newest `limit` when there are more. */
  history(domain: string, from: number, to: number, limit = 10_000): SampleRow[] {
    return (this.st.history.all(domain, from, to, limit) as SampleDbRow[]).map(toSampleRow);
  }

  /** The newest sample of every domain in the store. */
  latest(): Map<string, SampleRow> {
    const out = new Map<string, SampleRow>();
    for (const r of this.st.latest.all() as SampleDbRow[]) out.set(r.domain, toSampleRow(r));
    return out;
  }

  // ---- decisions (audit log) ----------------------------------------------------------

  /** DecisionSink: persists and returns the decision with its id; id 0 when the write failed (reported). */
  record(d: NewDecision): Decision {
    const id = this.write(`decision for ${d.domain}`, () =>
      Number(this.st.insertDecision.run({
        domain: d.domain, ts: d.ts, kind: d.kind, oldIntervalMs: d.oldIntervalMs, newIntervalMs: d.newIntervalMs,
        risk: d.risk, reason: d.reason, who: d.who, applied: d.applied ? 1 : 0, error: d.error ?? null,
      }).lastInsertRowid),
    );
    return { ...d, id: id ?? 0 };
  }

  decisions(domain: string, from: number, to: number, limit = 10_000): Decision[] {
    return (this.st.decisions.all(domain, from, to, limit) as DecisionDbRow[]).map(toDecision);
  }

  // ---- incidents ----------------------------------------------------------------------

  /** Records an incident; throws StoreError when it cannot (the caller asked for it and must know). */
  markIncident(i: { domain: string; from: number; to: number; health: HealthLabel; note?: string; source: 'user' | 'event' }): number {
    if (i.to < i.from) throw new StoreError(`incident end ${i.to} is before its start ${i.from}`);
    try {
      return Number(this.st.insertIncident.run(i.domain, i.from, i.to, i.health, i.note ?? null, i.source, this.now()).lastInsertRowid);
    } catch (e) {
      this.report(e as Error, `incident for ${i.domain}`);
      throw new StoreError(`cannot record the incident: ${(e as Error).message}`, sqliteCode(e));
    }
  }

  /** Incidents of `domain` overlapping [from, to]. */
  incidents(domain: string, from: number, to: number): Incident[] {
    const rows = this.st.incidents.all(domain, from, to) as Array<{ id: number; domain: string; from_ts: number; to_ts: number; health: HealthLabel; note: string | null; source: 'user' | 'event'; created: number }>;
    return rows.map((r) => ({ id: r.id, domain: r.domain, from: r.from_ts, to: r.to_ts, health: r.health, note: r.note, source: r.source, created: r.created }));
  }

  // ---- events -------------------------------------------------------------------------

  insertEvent(ev: { domain: string; ts: number; kind: string; detail: string }): boolean {
    return this.write(`event ${ev.kind} of ${ev.domain}`, () => {
      this.st.insertEvent.run(ev.domain, Math.round(ev.ts), ev.kind, ev.detail);
      return true;
    }) ?? false;
  }

  events(domain: string, from: number, to: number, limit = 10_000): StoredEvent[] {
    return this.st.events.all(domain, from, to, limit) as StoredEvent[];
  }

  // ---- models -------------------------------------------------------------------------

  /** Saves (or replaces) a model version; throws StoreError on failure. */
  saveModel(domain: string, version: string, json: string, created = this.now()): void {
    try {
      this.st.saveModel.run(domain, version, json, created);
    } catch (e) {
      this.report(e as Error, `model ${version} of ${domain}`);
      throw new StoreError(`cannot save model ${version} of ${domain}: ${(e as Error).message}`, sqliteCode(e));
    }
  }

  latestModel(domain: string): StoredModel | null {
    return (this.st.latestModel.get(domain) as StoredModel | undefined) ?? null;
  }

  models(domain: string): StoredModel[] {
    return this.st.models.all(domain) as StoredModel[];
  }

  // ---- retention ----------------------------------------------------------------------

  /** Applies the retention options once. Never throws (failures are reported). */
  prune(): PruneResult {
    const r = this.opts.retention ?? {};
    const res: PruneResult = { samples: 0, events: 0, decisions: 0 };
    const drain = (stmt: Database.Statement, ...args: unknown[]): number => {
      let total = 0;
      for (;;) {
        const n = stmt.run(...args).changes;
        total += n;
        if (n < PRUNE_CHUNK) return total;
      }
    };
    this.write('retention pruning', () => {
      const now = this.now();
      if (r.days !== undefined) {
        const cut = now - r.days * DAY_MS;
        res.samples += drain(this.st.pruneSamplesOld, cut);
        res.events += drain(this.st.pruneEventsOld, cut);
      }
      if (r.decisionDays !== undefined) res.decisions += drain(this.st.pruneDecisionsOld, now - r.decisionDays * DAY_MS);
      if (r.maxRowsPerDomain !== undefined) {
        for (const { domain } of this.st.sampleDomains.all() as Array<{ domain: string }>) {
          const keep = this.st.nthNewest.get(domain, r.maxRowsPerDomain - 1) as { ts: number; rid: number } | undefined;
          if (!keep) continue;
          res.samples += drain(this.st.pruneDomainRows, domain, keep.ts, keep.ts, keep.rid);
        }
      }
    });
    if (res.samples + res.events + res.decisions > 0) {
      this.log.info(`retention: removed ${res.samples} sample(s), ${res.events} event(s), ${res.decisions} decision(s)`);
    }
    return res;
  }

  /** Prunes now and then every `intervalMs` until close(). */
  startPruning(intervalMs = 3_600_000): void {
    this.stopPruning();
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), intervalMs);
    this.pruneTimer.unref();
  }

  stopPruning(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /** The journal mode in effect ('wal' for a file store). */
  get journalMode(): string {
    return String(this.db.pragma('journal_mode', { simple: true }));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Checkpoints the WAL into the main file and closes. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.stopPruning();
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (e) {
      this.log.warn(`store: WAL checkpoint on close failed: ${(e as Error).message}`);
    }
    this.db.close();
    this.closed = true;
  }

  /** Runs a background write; undefined (and reported) when it failed. */
  private write<T>(what: string, fn: () => T): T | undefined {
    if (this.closed) {
      this.report(new StoreError('store is closed'), what);
      return undefined;
    }
    try {
      return fn();
    } catch (e) {
      this.report(e instanceof Error ? e : new Error(String(e)), what);
      return undefined;
    }
  }

  /** Logs a write failure (at most one line per 10 s, with a count of the rest) and notifies. */
  private report(err: Error, what: string): void {
    const now = Date.now();
    if (now - this.lastErrorLog >= 10_000) {
      const more = this.suppressedErrors ? ` (${this.suppressedErrors} more write failure(s) since the last report)` : '';
      const code = sqliteCode(err);
      this.log.error(`store: cannot write ${what}${code ? ` [${code}]` : ''}: ${err.message}${more}`);
      this.lastErrorLog = now;
      this.suppressedErrors = 0;
    } else {
      this.suppressedErrors++;
    }
    try {
      this.opts.onWriteError?.(err, what);
    } catch {
      // a reporting hook must not turn a reported failure into a crash
    }
  }
}
