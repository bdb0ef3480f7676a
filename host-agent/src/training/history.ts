// Reading training data from the agent's SQLite store (samples table, see
// store/schema.ts). Used by the training worker on its own read-only
// connection, so reading months of history never blocks the daemon's
// event loop (WAL: readers do not block the writer, nor it them).

import Database from 'better-sqlite3';
import type { HealthLabel, Sample } from '../protocol/api';

/** Every sample of `domain` with from <= ts <= to, in time order. */
export function readSamples(db: Database.Database, domain: string, from: number, to: number): Sample[] {
  // Columns renamed to the Sample's fields: each row is a Sample as it stands.
  return db.prepare(
    `SELECT domain, ts, state, cpu_pct AS cpuPct, mem_pct AS memPct, net_rx_bps AS netRxBps, net_tx_bps AS netTxBps,
            disk_rd_bps AS diskRdBps, disk_wr_bps AS diskWrBps
     FROM samples WHERE domain = ? AND ts >= ? AND ts <= ? ORDER BY ts ASC, rowid ASC`,
  ).all(domain, from, to) as Sample[];
}

/** Opens the store file read-only; a clear error when it is missing or not a database. */
export function openReadOnly(path: string): Database.Database {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.prepare('SELECT 1 FROM samples LIMIT 1').get();
    return db;
  } catch (e) {
    throw new Error(`cannot read the store at ${path}: ${(e as Error).message}`);
  }
}

/** Incidents of `domain` overlapping [from, to] (store/schema.ts incidents table). */
export function readIncidents(db: Database.Database, domain: string, from: number, to: number): Array<{ from: number; to: number; health: HealthLabel }> {
  const rows = db.prepare('SELECT from_ts, to_ts, health FROM incidents WHERE domain = ? AND to_ts >= ? AND from_ts <= ? ORDER BY from_ts ASC')
    .all(domain, from, to) as Array<{ from_ts: number; to_ts: number; health: HealthLabel }>;
  return rows.map((r) => ({ from: r.from_ts, to: r.to_ts, health: r.health }));
}
