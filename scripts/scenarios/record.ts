// One scenario run, recorded as a labelled trace:
//   1. a test network namespace and the scenario guest (real libvirt/QEMU, TCG);
//   2. the real agent daemon, sampling every second into its SQLite store;
//   3. the workload (wrk bursts + background jobs) and a health probe each second;
//   4. the normal period; then the fault is injected (start of the window);
//   5. wait for the failure (docs/scenarios.md: per scenario, an httpd outage,
//      the OOM killer, the crashed event, the I/O-error pause);
//   6. a short tail after it; then the agent is stopped and its samples of the
//      domain are written with the window as <out>/<scenario>-<n>.jsonl.gz.
// Every process, domain, mount and namespace is registered with a Teardown
// and removed at the end, on error and on abort (Ctrl-C).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultWindow } from '../../host-agent/src/evaluation/types';
import { Store, type Incident, type SampleRow } from '../../host-agent/src/store/store';
import { bootGuest } from '../../test/fixtures/guest';
import { virsh } from '../../test/fixtures/libvirt';
import { createTestNet, GUEST_ADDR, uniqueId } from '../../test/fixtures/netns';
import { describeTrigger, triggerQuery, variantFor, type Scenario, type Trigger } from './catalog';
import { startAgent } from './agent';
import { scenarioDomainXml, smallHostDisk } from './guest';
import { NetnsWorker } from './netns-client';
import { sleep, Teardown } from './teardown';
import { sampleGaps, traceText, writeTraceFile, type TraceMeta } from './trace-file';
import { detectFailure, faultWindow, iso, oomLine, trainUntil, type Failure, type Probe, type RecordedEvent } from './windows';
import { Workload } from './workload';

/** The timings of a run (the command line's options). */
export interface RunSettings {
  outDir: string;
  normalMs: number;
  /** Recording goes on this long after the failure. */
  afterMs: number;
  /** httpd unanswered this long = an outage. */
  outageMs: number;
  probeTimeoutMs: number;
  /** Share of the normal period given to training (trainUntil). */
  trainFraction: number;
  /** Seed of the workload's rhythm. */
  seed: number;
}

export interface RecordOptions extends RunSettings {
  scenario: Scenario;
  /** 0-based; picks the variant and names the file <scenario>-<repeat+1>. */
  repeat: number;
  log: (msg: string) => void;
  signal?: AbortSignal;
  /** Overrides maxWaitS of the scenario (tests). */
  maxWaitMs?: number;
}

export interface RecordResult {
  path: string;
  name: string;
  domain: string;
  window: FaultWindow;
  failure: Failure | null;
  normalStart: number;
  trainUntil: number;
  rows: SampleRow[];
  events: RecordedEvent[];
  incidents: Incident[];
  probes: Probe[];
  meta: TraceMeta;
}

const BASE = `http://${GUEST_ADDR}`;

/** A GET of /cgi-bin/ok every second, kept in send order. */
class Prober {
  readonly probes: Probe[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly worker: NetnsWorker, private readonly timeoutMs: number) {}

  start(): void {
    const tick = () => {
      const p: Probe = { sentAt: Date.now(), ok: null };
      this.probes.push(p);
      const done = this.worker.get(`${BASE}/cgi-bin/ok`, this.timeoutMs).then((r) => {
        p.ok = r.ok && (r.body ?? '').trim() === 'ok';
        p.ms = r.ms;
        if (!p.ok) p.error = r.error ?? `unexpected reply ${JSON.stringify((r.body ?? '').slice(0, 40))}`;
      });
      this.inflight.add(done);
      void done.finally(() => this.inflight.delete(done));
    };
    tick();
    this.timer = setInterval(tick, 1000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.inflight]);
  }
}

async function inject(trigger: Trigger, worker: NetnsWorker): Promise<string> {
  if (trigger.kind === 'flood') {
    await worker.flood({ url: `${BASE}${trigger.path}`, conc: trigger.conc, factor: trigger.factor, stepS: trigger.stepS, maxConc: trigger.maxConc, timeoutMs: 10_000 });
    return 'flood started';
  }
  const q = triggerQuery(trigger.params);
  const r = await worker.get(`${BASE}${trigger.path}${q ? `?${q}` : ''}`, 15_000);
  if (!r.ok) throw new Error(`fault trigger ${describeTrigger(trigger)} failed: ${r.error}`);
  return (r.body ?? '').trim();
}

/** A domain that libvirtd could not destroy (e.g. libvirtd restarting) is tried again for half a minute. */
async function destroyRetrying(domain: string, first: Error, log: (m: string) => void): Promise<void> {
  log(`destroying ${domain} failed (${first.message.split('\n')[0]}); trying again`);
  for (let i = 0; i < 6; i++) {
    await sleep(5000);
    try {
      await virsh('destroy', domain);
      return;
    } catch (e) {
      if (/failed to get domain|not found|not running|no domain/i.test((e as Error).message)) return;
    }
  }
  throw new Error(`${domain} could not be destroyed: remove it with virsh destroy ${domain}`);
}

function summarizeEvents(events: readonly RecordedEvent[], from: number): string {
  return events.map((e) => `${e.kind}(${e.detail}) at +${((e.ts - from) / 1000).toFixed(1)} s`).join('; ') || 'none';
}

export async function recordScenario(o: RecordOptions): Promise<RecordResult> {
  const { scenario, signal } = o;
  const variant = variantFor(scenario, o.repeat);
  const name = `${scenario.name}-${o.repeat + 1}`;
  const log = (m: string) => o.log(`[${name}] ${m}`);
  const td = new Teardown(log);
  const runDir = mkdtempSync(join(tmpdir(), 'hefery-scenario-'));
  td.add('run directory', () => rmSync(runDir, { recursive: true, force: true }));
  try {
    const net = await createTestNet();
    td.add('test network', () => net.destroy());
    const disk = scenario.hostDiskMiB ? await smallHostDisk(runDir, scenario.hostDiskMiB) : null;
    if (disk) td.add('host tmpfs under the disk', () => disk.remove());
    signal?.throwIfAborted();

    const domain = `hefery-scn-${scenario.name}-${uniqueId()}`;
    log(`booting ${domain} (${variant.name}: ${describeTrigger(variant.trigger)}), run directory ${runDir}, namespace ${net.ns}`);
    // Registered before the boot: a Ctrl-C during `virsh create` still destroys it.
    let destroyGuest: () => Promise<void> = async () => undefined;
    td.add('guest', () => destroyGuest());
    const guest = await bootGuest({ net, name: domain, customizeXml: (x) => scenarioDomainXml(x, { diskPath: disk?.path }) });
    destroyGuest = () => guest.destroy().catch((e: Error) => destroyRetrying(domain, e, log));
    log(`guest up in ${guest.bootSeconds.toFixed(1)} s`);
    signal?.throwIfAborted();

    const agent = await startAgent(runDir);
    td.add('agent', () => agent.stop());
    const worker = await NetnsWorker.start(net.ns);
    td.add('netns worker', () => worker.close());
    const store = Store.open({ path: agent.dbPath });
    td.add('store', () => store.close());

    // The normal period starts once the agent has the domain.
    const firstSampleBy = Date.now() + 20_000;
    while (store.history(domain, 0, Date.now() + 1000, 1).length === 0) {
      if (Date.now() > firstSampleBy) throw new Error(`the agent recorded no sample of ${domain} within 20 s:\n${agent.output()}`);
      await sleep(250, signal);
    }
    const workload = new Workload({ worker, ns: net.ns, base: BASE, seed: o.seed, log });
    const prober = new Prober(worker, o.probeTimeoutMs);
    td.add('workload', () => workload.stop());
    td.add('prober', () => prober.stop());
    if (variant.trigger.kind === 'flood') td.add('flood', () => worker.stopFlood());
    const normalStart = Date.now();
    workload.start();
    prober.start();
    log(`normal period: ${Math.round(o.normalMs / 1000)} s`);
    await sleep(o.normalMs, signal);

    // The fault CGIs start the fault and answer at once: the answer is the fault's start
    // (the request itself can take seconds on a busy guest).
    const triggerSent = Date.now();
    const answer = await inject(variant.trigger, worker);
    const faultStart = Date.now();
    log(`fault injected: ${answer} (trigger took ${faultStart - triggerSent} ms)`);

    const maxWaitMs = o.maxWaitMs ?? scenario.maxWaitS * 1000;
    let failure: Failure | null = null;
    let oomAt: number | null = null;
    let oomText: string | undefined;
    const eventsSince = (from: number): RecordedEvent[] => store.events(domain, from, Date.now() + 1000).map((e) => ({ ts: e.ts, kind: e.kind, detail: e.detail }));
    while (failure === null && Date.now() - faultStart < maxWaitMs) {
      await sleep(250, signal);
      if (oomAt === null) {
        const line = oomLine(guest.consoleLog());
        if (line) {
          oomAt = Date.now();
          oomText = line;
        }
      }
      failure = detectFailure(variant.failure, { probes: prober.probes, oomAt, oomLine: oomText, events: eventsSince(faultStart) }, faultStart, o.outageMs);
    }
    if (failure) log(`failure after ${((failure.at - faultStart) / 1000).toFixed(1)} s: ${failure.evidence}`);
    else log(`no failure within ${Math.round(maxWaitMs / 1000)} s: the window has no failure time`);
    await sleep(o.afterMs, signal);

    const flood = variant.trigger.kind === 'flood' ? await worker.stopFlood() : null;
    await prober.stop();
    await workload.stop();
    const code = await agent.stop();
    if (code !== 0) log(`agent exited with ${code}:\n${agent.output().slice(-2000)}`);
    // The agent's own complaints (e.g. a stats collection that failed or stalled) explain holes in its samples.
    const agentWarnings = agent.output().split('\n').filter((l) => / (WARN|ERROR) /.test(l));
    if (agentWarnings.length) log(`the agent logged ${agentWarnings.length} warning(s)/error(s), first: ${agentWarnings.slice(0, 3).join(' | ')}`);
    const rows = store.history(domain, 0, Date.now() + 1000, 1_000_000);
    if (rows.length === 0) throw new Error(`the agent's store has no samples of ${domain}`);
    const end = Math.max(rows[rows.length - 1].sample.ts, failure?.at ?? faultStart);
    const events = eventsSince(0);
    const incidents = store.incidents(domain, 0, end + 1000);

    const gaps = sampleGaps(rows);
    if (gaps.long) log(`${gaps.long} hole(s) in the agent's samples, the longest ${(gaps.maxMs / 1000).toFixed(1)} s`);
    const window = faultWindow(faultStart, failure?.at ?? null, end, scenario.label);
    const tu = trainUntil(normalStart, faultStart, o.trainFraction);
    const failedProbes = prober.probes.filter((p) => p.ok === false).length;
    const meta: TraceMeta = {
      name,
      trainUntil: tu,
      scenario: scenario.name,
      variant: variant.name,
      trigger: describeTrigger(variant.trigger),
      domain,
      guest: 'busybox initramfs, 1 vCPU, 128 MiB, QEMU TCG under libvirt',
      recorded: new Date(faultStart).toISOString(),
      normalStart: iso(normalStart),
      faultStart: iso(faultStart),
      triggerLatencyMs: faultStart - triggerSent,
      failureSignal: failure?.signal ?? 'none',
      failureEvidence: failure?.evidence ?? `none within ${Math.round(maxWaitMs / 1000)} s`,
      leadAvailableS: failure ? Number(((failure.at - faultStart) / 1000).toFixed(1)) : -1,
      events: summarizeEvents(events.filter((e) => e.ts >= faultStart), faultStart),
      incidents: incidents.map((i) => `${i.health}: ${i.note ?? ''}`).join('; ') || 'none',
      bootSeconds: Number(guest.bootSeconds.toFixed(1)),
      samplingMs: 1000,
      sampleHoles: gaps.long,
      longestSampleGapS: Number((gaps.maxMs / 1000).toFixed(1)),
      agentWarnings: agentWarnings.length,
      outageS: o.outageMs / 1000,
      probeTimeoutMs: o.probeTimeoutMs,
      probes: prober.probes.length,
      probesFailed: failedProbes,
      workloadSeed: o.seed,
      wrkBursts: workload.bursts,
      backgroundJobs: workload.jobs,
      backgroundJobFailures: workload.jobFailures,
    };
    if (flood) {
      meta.floodRequests = flood.sent;
      meta.floodFailed = flood.failed;
      meta.floodFinalConcurrency = flood.conc;
    }
    const path = join(o.outDir, `${name}.jsonl.gz`);
    writeTraceFile(path, traceText(meta, rows, window));
    log(`wrote ${path}: ${rows.length} samples, window ${iso(window.start)} .. ${window.failure ? iso(window.failure) : '-'} .. ${iso(window.end)}`);
    return { path, name, domain, window, failure, normalStart, trainUntil: tu, rows, events, incidents, probes: prober.probes, meta };
  } finally {
    await td.run();
  }
}
