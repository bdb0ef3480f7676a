// The load/soak run: the real agent daemon (synthetic-agent.ts: the real
// sampler, predictor with a trained model, policy with the dry-run backend,
// SQLite store, RPC server; only the stats are SYNTHETIC) at `domains`
// domains sampled every second, and `clients` extension clients (the
// extension core's AgentClient, each on its own connection to the real Unix
// socket) subscribed to every domain at once.
//
// It measures, and leaves judging to its callers (bench/load.ts prints,
// test/reliability/load-soak.test.ts asserts):
//   - per client: every sample of every domain of every collection since it
//     subscribed arrived once, in order (collections are the agent's own
//     list, so a skipped collection cannot hide a hole)
//   - latency from collection (sample.ts) to receipt at the client
//   - the agent's RSS and heap (after a full GC) and CPU every `probeEveryS`,
//     and the slope of memory after the warm-up
//   - the store's rows against what was sampled, and its size on disk
//
// The store starts with `prefillMinutes` of history per domain and the first
// client reads all of it (as panels backfilling do): SQLite's page cache
// (16 MiB per connection, better-sqlite3's default) is then full before the
// measurement, as in an agent that has run for a while, so its filling up
// does not pass for a leak. During the run a client asks for one domain's
// last 30 minutes every probe interval (a panel being opened).

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { AgentClient } from '../../extension/src/core/agentClient';
import { Store } from '../src/store/store';
import { agentPaths, startSyntheticAgent, type Probe, type SyntheticAgent } from './synthetic-agent-process';
import { syntheticDomainName, syntheticSamples } from './synthetic-source';

export interface LoadOptions {
  minutes: number;
  domains?: number;
  clients?: number;
  intervalMs?: number;
  /** Memory and CPU probes this often (default 10 s). */
  probeEveryS?: number;
  /** Probes before this are left out of the memory slope and the CPU figure (default: a quarter of the run, at most 60 s). */
  warmupS?: number;
  seed?: number;
  /** History already in the store when the agent starts, per domain (default 20 min: more than the page cache holds). */
  prefillMinutes?: number;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
  /** Keep the run directory (store, log) instead of deleting it. */
  keepDir?: boolean;
}

export interface ClientCheck {
  client: number;
  received: number;
  /** Samples that carried a risk (the predictor ran on a model) and a protection status (the policy protects the domain). */
  withRisk: number;
  withProtection: number;
  /** Collections in this client's window (from its first one to the run's last). */
  collections: number;
  /** Samples of a collection in the window that never arrived. */
  missing: number;
  /** Samples that arrived twice or older than one already received for their domain. */
  duplicatesOrReordered: number;
  /** Samples whose ts is no collection of the agent. */
  unknownTs: number;
  /** The first few problems, in words. */
  problems: string[];
}

export interface MemoryPoint {
  /** Seconds since the clients subscribed. */
  t: number;
  rssMiB: number;
  heapMiB: number;
  /** Memory of C++ objects bound to JS (buffers, SQLite statements...). */
  externalMiB: number;
  /** Agent CPU over the last probe interval, % of one core. */
  cpuPct: number | null;
  storeMiB: number;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LoadReport {
  domains: number;
  clients: number;
  intervalMs: number;
  seconds: number;
  warmupS: number;
  collections: number;
  /** Collections per second over the measured run (1 at a 1 s interval when nothing was skipped). */
  collectionRate: number;
  samplesPerSecond: number;
  perClient: ClientCheck[];
  latencyMs: Percentiles;
  memory: MemoryPoint[];
  /** Least-squares slopes after the warm-up, MiB per minute. */
  rssSlopeMiBPerMin: number;
  heapSlopeMiBPerMin: number;
  /** Growth of the store's files (db + WAL), for comparison. */
  storeSlopeMiBPerMin: number;
  cpuPctAfterWarmup: number;
  cpuPctMax: number;
  store: { prefilledRows: number; rows: number; expectedRows: number; domainsWithWrongCount: string[]; decisions: number; sizeMiB: number };
  /** History reads during the run (panels opening), and how long they took at the client. */
  historyReads: Percentiles;
  agentPid: number;
  runDir: string | null;
}

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wallNow = () => performance.timeOrigin + performance.now();

/** What one client saw: samples per collection ts, and per domain the newest ts. */
class ClientRecorder {
  readonly perTs = new Map<number, number>();
  readonly lastTs = new Map<string, number>();
  received = 0;
  withRisk = 0;
  withProtection = 0;
  duplicatesOrReordered = 0;
  readonly problems: string[] = [];

  constructor(readonly index: number, private readonly latencies: number[]) {}

  record(domain: string, ts: number, risk: boolean, protection: boolean): void {
    const at = wallNow();
    this.received++;
    if (risk) this.withRisk++;
    if (protection) this.withProtection++;
    this.latencies.push(at - ts);
    const last = this.lastTs.get(domain);
    if (last !== undefined && ts <= last) {
      this.duplicatesOrReordered++;
      this.note(`${domain}: sample ${ts} after ${last}`);
      return;
    }
    this.lastTs.set(domain, ts);
    this.perTs.set(ts, (this.perTs.get(ts) ?? 0) + 1);
  }

  note(p: string): void {
    if (this.problems.length < 10) this.problems.push(p);
  }

  /** Every collection from this client's first one to `lastCollection` must be complete. */
  check(collections: readonly number[], lastCollection: number, domains: number): ClientCheck {
    const known = new Set(collections);
    const first = Math.min(...this.perTs.keys());
    const window = collections.filter((ts) => ts >= first && ts <= lastCollection);
    let missing = 0;
    for (const ts of window) {
      const got = this.perTs.get(ts) ?? 0;
      if (got < domains) {
        missing += domains - got;
        this.note(`collection ${new Date(ts).toISOString()}: ${got} of ${domains} domains arrived`);
      }
    }
    let unknownTs = 0;
    for (const [ts, n] of this.perTs) {
      if (!known.has(ts)) {
        unknownTs += n;
        this.note(`${n} sample(s) with ts ${ts}, which is no collection of the agent`);
      }
    }
    return { client: this.index, received: this.received, withRisk: this.withRisk, withProtection: this.withProtection, collections: window.length, missing, duplicatesOrReordered: this.duplicatesOrReordered, unknownTs, problems: this.problems };
  }
}

async function connectClient(socketPath: string, i: number): Promise<AgentClient> {
  const sock = connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const client = new AgentClient(`load-${i}`, { clientName: `hefery-load-client-${i}` });
  await client.attach(sock, socketPath);
  return client;
}

export function percentiles(values: number[]): Percentiles {
  if (!values.length) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const s = Float64Array.from(values).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { count: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1] };
}

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

function fileMiB(path: string): number {
  let bytes = 0;
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      bytes += statSync(f).size;
    } catch {
      // not there (yet)
    }
  }
  return bytes / MiB;
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const domains = o.domains ?? 200;
  const nClients = o.clients ?? 5;
  const intervalMs = o.intervalMs ?? 1000;
  const seconds = Math.round(o.minutes * 60);
  const probeEveryS = o.probeEveryS ?? 10;
  const warmupS = o.warmupS ?? Math.min(60, Math.round(seconds / 4));
  const say = o.progress ?? (() => undefined);
  const runDir = mkdtempSync(join(tmpdir(), 'hefery-load-'));
  let agent: SyntheticAgent | undefined;
  const clients: AgentClient[] = [];
  try {
    const prefilled = prefillStore(agentPaths(runDir).storePath, domains, Math.round((o.prefillMinutes ?? 20) * 60_000 / intervalMs), intervalMs, o.seed ?? 1);
    say(`store prefilled with ${prefilled} rows; training the model and installing it for ${domains} synthetic domains`);
    agent = await startSyntheticAgent({ runDir, domains, seed: o.seed, intervalMs, exposeGc: true });
    say(`agent ${agent.pid} ready at ${agent.socketPath}; connecting ${nClients} clients`);
    const latencies: number[] = [];
    const recorders = Array.from({ length: nClients }, (_, i) => new ClientRecorder(i, latencies));
    for (let i = 0; i < nClients; i++) {
      const c = await connectClient(agent.socketPath, i);
      const rec = recorders[i];
      c.on('samples.event', (p) => rec.record(p.sample.domain, p.sample.ts, p.risk !== null, p.protection !== null));
      c.onLost((e) => rec.note(`connection lost: ${e.message}`));
      await c.call('samples.subscribe', {});
      clients.push(c);
    }
    let read = 0;
    for (let i = 0; i < domains; i++) read += (await clients[0].call('samples.history', { domain: syntheticDomainName(i), from: 0, to: Date.now(), limit: 100_000 })).length;
    say(`the clients read back ${read} stored rows (the agent's page cache is warm)`);
    const historyMs: number[] = [];
    /** A panel being opened: one domain's last 30 minutes. */
    const panelOpens = async (k: number) => {
      const t = performance.now();
      await clients[k % nClients].call('samples.history', { domain: syntheticDomainName(k % domains), from: Date.now() - 30 * 60_000, to: Date.now(), limit: 20_000 });
      historyMs.push(performance.now() - t);
    };

    // Probes from the clients' start; memory after a full GC in the agent.
    const t0 = wallNow();
    const probes: Array<Probe & { storeMiB: number }> = [];
    const takeProbe = async () => probes.push({ ...(await agent!.probe()), storeMiB: fileMiB(agent!.storePath) });
    await takeProbe();
    for (let k = 1; k * probeEveryS <= seconds; k++) {
      const due = t0 + k * probeEveryS * 1000;
      await sleep(Math.max(0, due - wallNow()));
      await takeProbe();
      await panelOpens(k);
      const p = probes[probes.length - 1];
      say(`${Math.round((p.at - t0) / 1000)} s: RSS ${(p.rss / MiB).toFixed(1)} MiB, heap ${(p.heapUsed / MiB).toFixed(1)} MiB, external ${(p.external / MiB).toFixed(1)} MiB, ${p.collections} collections, store ${p.storeMiB.toFixed(1)} MiB`);
    }

    // The last collection the agent made must reach every client before judging.
    const collections = await agent.collections();
    const lastCollection = collections[collections.length - 1];
    const deadline = Date.now() + 15_000;
    while (recorders.some((r) => (r.perTs.get(lastCollection) ?? 0) < domains) && Date.now() < deadline) await sleep(50);
    for (const c of clients.splice(0)) c.detach();
    await agent.stop();

    const memory: MemoryPoint[] = probes.map((p, i) => ({
      t: (p.at - t0) / 1000,
      rssMiB: p.rss / MiB,
      heapMiB: p.heapUsed / MiB,
      externalMiB: p.external / MiB,
      cpuPct: i === 0 ? null : ((p.cpuUs - probes[i - 1].cpuUs) / 1000 / (p.at - probes[i - 1].at)) * 100,
      storeMiB: p.storeMiB,
    }));
    const steady = memory.filter((m) => m.t >= warmupS);
    const perMin = (key: 'rssMiB' | 'heapMiB' | 'storeMiB') => slope(steady.map((m) => ({ x: m.t / 60, y: m[key] })));
    const first = probes.find((p) => (p.at - t0) / 1000 >= warmupS) ?? probes[0];
    const last = probes[probes.length - 1];
    const measured = collections.filter((ts) => ts >= t0 && ts <= last.at);

    const store = countStore(agent.storePath, collections, domains, prefilled);
    return {
      domains,
      clients: nClients,
      intervalMs,
      seconds,
      warmupS,
      collections: collections.length,
      collectionRate: measured.length / ((last.at - t0) / 1000),
      samplesPerSecond: (measured.length * domains) / ((last.at - t0) / 1000),
      perClient: recorders.map((r) => r.check(collections, lastCollection, domains)),
      latencyMs: percentiles(latencies),
      memory,
      rssSlopeMiBPerMin: perMin('rssMiB'),
      heapSlopeMiBPerMin: perMin('heapMiB'),
      storeSlopeMiBPerMin: perMin('storeMiB'),
      cpuPctAfterWarmup: last.at > first.at ? ((last.cpuUs - first.cpuUs) / 1000 / (last.at - first.at)) * 100 : NaN,
      cpuPctMax: Math.max(...memory.map((m) => m.cpuPct ?? 0)),
      store,
      historyReads: percentiles(historyMs),
      agentPid: agent.pid,
      runDir: o.keepDir ? runDir : null,
    };
  } finally {
    for (const c of clients) c.detach();
    await agent?.stop();
    if (!o.keepDir) rmSync(runDir, { recursive: true, force: true });
  }
}

/** `perDomain` rows of history for every domain, ending before now, written through the agent's own Store. */
function prefillStore(path: string, domains: number, perDomain: number, stepMs: number, seed: number): number {
  if (perDomain <= 0) return 0;
  const store = Store.open({ path });
  try {
    const start = Date.now() - (perDomain + 5) * stepMs;
    for (let i = 0; i < domains; i++) {
      const name = syntheticDomainName(i);
      store.insertSamples(syntheticSamples(perDomain, seed + 5000 + i, stepMs, start).map((sample) => ({ sample: { ...sample, domain: name }, risk: null })));
    }
  } finally {
    store.close();
  }
  return perDomain * domains;
}

/** Rows per domain in the store (no retention applies in a run this short): the prefill plus one per collection. */
function countStore(path: string, collections: readonly number[], domains: number, prefilled: number): LoadReport['store'] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const perDomain = db.prepare('SELECT domain, COUNT(*) AS n, COUNT(DISTINCT ts) AS d FROM samples GROUP BY domain').all() as Array<{ domain: string; n: number; d: number }>;
    const rows = perDomain.reduce((a, r) => a + r.n, 0);
    const decisions = (db.prepare('SELECT COUNT(*) AS n FROM decisions').get() as { n: number }).n;
    const wrong: string[] = [];
    const expected = collections.length + prefilled / domains;
    const byName = new Map(perDomain.map((r) => [r.domain, r]));
    for (let i = 0; i < domains; i++) {
      const name = syntheticDomainName(i);
      const r = byName.get(name);
      if (!r || r.n !== expected || r.d !== expected) wrong.push(`${name}: ${r?.n ?? 0} rows (${r?.d ?? 0} distinct ts), expected ${expected}`);
    }
    return { prefilledRows: prefilled, rows, expectedRows: expected * domains, domainsWithWrongCount: wrong, decisions, sizeMiB: fileMiB(path) };
  } finally {
    db.close();
  }
}

/** The report as text lines (the benchmark prints them; the test logs them). */
export function formatReport(r: LoadReport): string[] {
  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  const lines = [
    `load: ${r.domains} domains every ${r.intervalMs} ms, ${r.clients} clients subscribed to all, ${f(r.seconds / 60, 1)} min (warm-up ${r.warmupS} s)`,
    `collections: ${r.collections} (${f(r.collectionRate, 3)}/s measured, ${f(r.samplesPerSecond, 0)} samples/s through the pipeline)`,
  ];
  for (const c of r.perClient) {
    lines.push(`client ${c.client}: ${c.received} samples (${c.withRisk} with a risk, ${c.withProtection} with a protection status), ${c.collections} collections in its window, missing ${c.missing}, duplicated/reordered ${c.duplicatesOrReordered}, unknown ts ${c.unknownTs}${c.problems.length ? ` (${c.problems.slice(0, 3).join('; ')})` : ''}`);
  }
  const l = r.latencyMs;
  lines.push(`latency collection -> client (${l.count} samples): p50 ${f(l.p50)} ms, p95 ${f(l.p95)} ms, p99 ${f(l.p99)} ms, max ${f(l.max)} ms`);
  lines.push(`agent CPU: ${f(r.cpuPctAfterWarmup)} % of one core after the warm-up (highest ${probeLabel(r)} interval ${f(r.cpuPctMax)} %)`);
  lines.push(`agent memory after the warm-up: RSS slope ${f(r.rssSlopeMiBPerMin, 3)} MiB/min, heap slope ${f(r.heapSlopeMiBPerMin, 3)} MiB/min (store files ${f(r.storeSlopeMiBPerMin, 3)} MiB/min)`);
  const h = r.historyReads;
  lines.push(`panel backfills during the run (30 min of one domain): ${h.count}, p50 ${f(h.p50)} ms, max ${f(h.max)} ms`);
  lines.push('memory over time (s: RSS MiB / heap MiB / external MiB / CPU % / store MiB):');
  lines.push('  ' + r.memory.map((m) => `${Math.round(m.t)}: ${f(m.rssMiB)}/${f(m.heapMiB)}/${f(m.externalMiB)}/${m.cpuPct === null ? '-' : f(m.cpuPct)}/${f(m.storeMiB)}`).join(', '));
  lines.push(`store: ${r.store.rows} sample rows (expected ${r.store.expectedRows}: ${r.store.prefilledRows} prefilled + one per domain per collection), ${r.store.decisions} checkpoint decisions, ${f(r.store.sizeMiB)} MiB on disk${r.store.domainsWithWrongCount.length ? `; wrong counts: ${r.store.domainsWithWrongCount.slice(0, 3).join('; ')}` : ''}`);
  return lines;
}

function probeLabel(r: LoadReport): string {
  const step = r.memory.length > 1 ? Math.round(r.memory[1].t - r.memory[0].t) : 0;
  return `${step} s`;
}
