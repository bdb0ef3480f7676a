// Samples from a CSV file (hefery-agent train --csv, score --input):
//   header: timestamp (or ts) plus any of cpu, mem, net, disk; other columns are ignored
//   cpu, mem: percent 0..100; net, disk: bytes/s >= 0 (rx + tx, read + write); empty = missing
//   timestamp: ms since the epoch, "YYYY-MM-DD HH:MM:SS" (UTC) or ISO 8601, non-decreasing
// A bad row is an error naming the file, the line number and what is wrong.

import type { Sample } from '../protocol/api';
import { rowToSample } from '../evaluation/hmmDetector';
import { parseTime } from '../evaluation/traces';
import type { Row } from '../evaluation/detector';

const METRIC_COLUMNS = ['cpu', 'mem', 'net', 'disk'] as const;

export interface CsvSamples {
  samples: Sample[];
  /** The timestamp cell of every sample, as written (score echoes it). */
  timestamps: string[];
  /** The metric columns the file has. */
  metrics: string[];
}

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvError';
  }
}

export function parseSamplesCsv(text: string, name: string, domain = 'csv'): CsvSamples {
  const lines = text.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) throw new CsvError(`${name}: empty file (expected a header: timestamp plus any of ${METRIC_COLUMNS.join(', ')})`);
  const header = lines[headerAt].split(',').map((h) => h.trim());
  const tsCol = header.findIndex((h) => h === 'timestamp' || h === 'ts');
  if (tsCol < 0) throw new CsvError(`${name}:${headerAt + 1}: the header needs a "timestamp" (or "ts") column, got "${lines[headerAt]}"`);
  const cols = METRIC_COLUMNS.map((m) => [m, header.indexOf(m)] as const).filter(([, i]) => i >= 0);
  if (cols.length === 0) throw new CsvError(`${name}:${headerAt + 1}: the header has none of the metric columns ${METRIC_COLUMNS.join(', ')}`);
  const out: CsvSamples = { samples: [], timestamps: [], metrics: cols.map(([m]) => m) };
  let prev = -Infinity;
  for (let k = headerAt + 1; k < lines.length; k++) {
    const line = lines[k];
    if (line.trim() === '') continue;
    const where = `${name}:${k + 1}`;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== header.length) throw new CsvError(`${where}: ${cells.length} cells, the header has ${header.length}`);
    let ts: number;
    try {
      ts = parseTime(cells[tsCol], 'timestamp');
    } catch (e) {
      throw new CsvError(`${where}: ${(e as Error).message}`);
    }
    if (ts < prev) throw new CsvError(`${where}: timestamp ${cells[tsCol]} is before the previous row's`);
    prev = ts;
    const row: Row = { ts };
    for (const [m, i] of cols) {
      const cell = cells[i];
      if (cell === '') continue;
      const v = Number(cell);
      if (!Number.isFinite(v)) throw new CsvError(`${where}: ${m} "${cell}" is not a number`);
      if ((m === 'cpu' || m === 'mem') && (v < 0 || v > 100)) throw new CsvError(`${where}: ${m} ${cell} is not a percentage in 0..100`);
      if (v < 0) throw new CsvError(`${where}: ${m} ${cell} is negative (bytes/s)`);
      row[m] = v;
    }
    out.samples.push(rowToSample(row, domain));
    out.timestamps.push(cells[tsCol]);
  }
  if (out.samples.length === 0) throw new CsvError(`${name}: no data rows after the header`);
  return out;
}
