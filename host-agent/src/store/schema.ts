// The store's SQL schema as numbered migrations. A database records the
// highest migration applied in `schema_version`; opening runs the missing
// ones in one transaction. Never edit a shipped migration: append a new one.

export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE samples (
    domain      TEXT    NOT NULL,
    ts          INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    cpu_pct     REAL,
    mem_pct     REAL,
    net_rx_bps  REAL,
    net_tx_bps  REAL,
    disk_rd_bps REAL,
    disk_wr_bps REAL,
    risk        REAL
  );
  CREATE INDEX samples_domain_ts ON samples(domain, ts);
  CREATE INDEX samples_ts ON samples(ts);

  CREATE TABLE decisions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    domain          TEXT    NOT NULL,
    ts              INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    old_interval_ms REAL,
    new_interval_ms REAL,
    risk            REAL,
    reason          TEXT    NOT NULL,
    who             TEXT    NOT NULL,
    applied         INTEGER NOT NULL,
    error           TEXT
  );
  CREATE INDEX decisions_domain_ts ON decisions(domain, ts);

  CREATE TABLE incidents (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    domain  TEXT    NOT NULL,
    from_ts INTEGER NOT NULL,
    to_ts   INTEGER NOT NULL,
    health  TEXT    NOT NULL CHECK (health IN ('normal', 'abnormal', 'failed')),
    note    TEXT,
    source  TEXT    NOT NULL CHECK (source IN ('user', 'event')),
    created INTEGER NOT NULL
  );
  CREATE INDEX incidents_domain_from ON incidents(domain, from_ts);

  CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    domain TEXT    NOT NULL,
    ts     INTEGER NOT NULL,
    kind   TEXT    NOT NULL,
    detail TEXT    NOT NULL
  );
  CREATE INDEX events_domain_ts ON events(domain, ts);
  CREATE INDEX events_ts ON events(ts);

  CREATE TABLE models (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    domain  TEXT    NOT NULL,
    version TEXT    NOT NULL,
    json    TEXT    NOT NULL,
    created INTEGER NOT NULL,
    UNIQUE (domain, version)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
