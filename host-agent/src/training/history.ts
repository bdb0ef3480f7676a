// Reading training data from the agent's SQLite store (samples table, see
// store/schema.ts). Used by the training worker on its own read-only
// connection, so reading months of history never blocks the daemon's
// event loop (WAL: readers do not block the writer, nor it them).

import Database from 'better-sqlite3';
import type { DomainState, HealthLabel, Sample } from '../protocol/api';

interface Row {
  ts: number;
  state: DomainState;
  cpu_pct: number | null;
  mem_pct: number | null;
  net_rx_bps: number | null;
  net_tx_bps: number | null;
  disk_rd_bps: number | null;
  disk_wr_bps: number | null;
}

/** Every sample of `domain` with from <= ts <= to, in time order. */
export function readSamples(db: Database.Database, domain: string, from: number, to: number): Sample[] {
  const st = db.prepare(
    `SELECT ts, state, cpu_pct, mem_pct, net_rx_bps, net_tx_bps, disk_rd_bps, disk_wr_bps
     FROM samples WHERE domain = ? AND ts >= ? AND ts <= ? ORDER BY ts ASC, rowid ASC`,
  );
  const out: Sample[] = [];
  for (const r of st.iterate(domain, from, to) as IterableIterator<Row>) {
    out.push({
      domain, ts: r.ts, state: r.state, cpuPct: r.cpu_pct, memPct: r.mem_pct,
      netRxBps: r.net_rx_bps, netTxBps: r.net_tx_bps, diskRdBps: r.disk_rd_bps, diskWrBps: r.disk_wr_bps,
    });
  }
  return out;
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
