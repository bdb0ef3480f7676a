// Reading a long stretch of a domain's history from the agent in pages. One
// answer may be at most 1 MiB (the agent answers TooLarge beyond), and 30
// minutes of samples at a fast sampling interval (18 000 rows at 100 ms) is
// more than that. The agent answers the newest `limit` rows of a range, so
// the pages walk backwards: each asks for the range up to the oldest row of
// the page before. The rows come back as one list in time order, each once.

import { ErrorCodes, type Params, type Result } from '../../../../host-agent/src/protocol/api';
import { RpcFailure } from '../../../../host-agent/src/protocol/peer';
import type { AgentApi } from '../../core/contract';

/** Rows per request: ~250 bytes a sample row, so well under 1 MiB (a TooLarge answer halves it anyway). */
export const PAGE_ROWS = 2000;

export interface PageOptions {
  /** Rows per request to start with. */
  pageRows?: number;
  /** Stop after this many rows (the newest are kept). */
  maxRows: number;
}

type PagedMethod = 'samples.history' | 'decisions.list';
type Row<M extends PagedMethod> = Result<M>[number];

/**
 * Every row of `method` for `domain` in [from, to] (up to `maxRows`, the
 * newest), oldest first. `key` tells rows apart: a page ends where the next
 * begins (the boundary's timestamp is asked for twice, so rows sharing it
 * are not lost), and a row seen twice is kept once.
 */
export async function readPaged<M extends PagedMethod>(
  api: AgentApi, method: M, domain: string, from: number, to: number, o: PageOptions,
): Promise<Array<Row<M>>> {
  const tsOf = (r: Row<M>) => ('sample' in r ? r.sample.ts : r.ts);
  const keyOf = (r: Row<M>) => ('sample' in r ? `s${r.sample.ts}` : `d${r.id}`);
  const pages: Array<Array<Row<M>>> = [];
  const seen = new Set<string>();
  let limit = o.pageRows ?? PAGE_ROWS;
  let upTo = to;
  let total = 0;
  while (upTo >= from && total < o.maxRows) {
    const asked = limit;
    let rows: Array<Row<M>>;
    try {
      rows = (await api.call(method, { domain, from, to: upTo, limit: asked } as Params<M>)) as Array<Row<M>>;
    } catch (e) {
      // Rows larger than we thought (long decision reasons): smaller pages.
      if (e instanceof RpcFailure && e.code === ErrorCodes.TooLarge && limit > 1) {
        limit = Math.ceil(limit / 2);
        continue;
      }
      throw e;
    }
    const fresh = rows.filter((r) => !seen.has(keyOf(r)));
    for (const r of fresh) seen.add(keyOf(r));
    pages.push(fresh);
    total += fresh.length;
    if (rows.length < asked) break; // the range has no more
    const oldest = tsOf(rows[0]);
    // Next page: up to the oldest timestamp again (rows sharing it may have been cut), or just below it if
    // the whole page had that timestamp; either way `upTo` goes down, so the walk ends.
    upTo = oldest < upTo ? oldest : oldest - 1;
  }
  return pages.reverse().flat().slice(-o.maxRows);
}
