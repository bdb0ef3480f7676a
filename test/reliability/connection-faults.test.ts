// Connection faults as the extension lives them, in plain Node against the
// extension's vscode-free core (HostsModel, AgentClient, SshConnector) and
// the live risk panel's data layer (the real RiskPanel controller, whose
// messages are validated and applied to the webview's own PointSeries the
// way webview/src/panels/risk.ts applies them).
//
// Real parts: OpenSSH's sshd (on loopback, and inside a network namespace of
// our own reached over a veth pair), the agent daemon (real sampler,
// predictor with a trained model, policy, store and RPC server; its stats are
// SYNTHETIC: synthetic-source.ts), stream-local forwarding to its socket.
//
// Faults: sshd killed and restarted on the same port with the same host key;
// the network link pulled (veth down) and put back; the user's key revoked
// while reconnecting. Checked: the host shows `reconnecting`; retries back
// off exponentially up to the cap (from the attempts' timestamps); no prompt
// after the first, user-started connect; no retry after an authentication
// failure (sshd's log shows one connection, one key tried); subscriptions
// resume; and the chart's points equal the store's, with no duplicate and no
// hole, across the outage (backfilled from samples.history).

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '../../host-agent/src/protocol/api';
import { AgentServer } from '../../host-agent/src/rpc/server';
import { Store } from '../../host-agent/src/store/store';
import { startSyntheticAgent, type SyntheticAgent } from '../../host-agent/bench/synthetic-agent-process';
import { syntheticDomainName } from '../../host-agent/bench/synthetic-source';
import type { AgentClient } from '../../extension/src/core/agentClient';
import type { HostSpec } from '../../extension/src/core/hostConfig';
import { HostKeyVerifier } from '../../extension/src/core/hostKeys';
import { HostsModel, type Connector, type HostView, type Transport } from '../../extension/src/core/hostsModel';
import { memoryLog } from '../../extension/src/core/log';
import type { PassphraseSource } from '../../extension/src/core/sshConnection';
import { SshConnector } from '../../extension/src/core/sshConnector';
import { createController, type PanelController } from '../../extension/src/panels/controllers';
import { RISK_BACKFILL_MS } from '../../extension/src/panels/controllers/risk';
import { PointSeries } from '../../webview/src/lib/points';
import { DecisionLog } from '../../webview/src/lib/steps';
import { ToWebview } from '../../webview/src/shared/messages';
import { generateUserKey, startSshd, type Sshd, type UserKey } from '../fixtures/sshd';
import { sleep, waitFor as poll, type NotYet } from '../fixtures/wait';
import { createLinkedNamespace, type LinkedNamespace } from './linked-netns';

const HOST = 'hv-faults';
const DOMAIN = syntheticDomainName(0);
const PASSPHRASE = 'correct horse battery staple';
const SAMPLING_MS = 500;
/** The reconnect schedule under test: the extension's own backoff (factor 2, jitter ±20 %) with a short start and cap. */
const BACKOFF = { initialMs: 250, maxMs: 2000 };
const JITTER = 0.2;

const log = memoryLog();

/** Waits for the probe's answer; a timeout shows the last lines of the extension's log. */
const waitFor = <T>(what: string, probe: () => T | NotYet | Promise<T | NotYet>, ms = 30_000) =>
  poll(what, probe, ms, () => `extension log (last lines):\n${log.lines.slice(-25).join('\n')}`);

// ---- what the user would see ----------------------------------------------------------

/** A live risk (or checkpoint frequency) panel of one domain: the real controller, and the data the webview would chart. */
class PanelChart {
  readonly series = new PointSeries(RISK_BACKFILL_MS);
  readonly decisions = new DecisionLog();
  readonly links: string[] = [];
  /** Points that were posted again (the webview keeps one per timestamp). */
  repostedPoints = 0;
  private readonly controller: PanelController;

  constructor(model: HostsModel, hostId: string, domain: string, kind: 'risk' | 'frequency' = 'risk') {
    this.controller = createController(kind, {
      ref: { hostId, domain },
      api: () => model.connect(hostId),
      post: (m) => this.receive(ToWebview.parse(JSON.parse(JSON.stringify(m)), 'posted')),
      log,
      now: Date.now,
    });
  }

  open(): Promise<void> {
    return this.controller.handle({ type: 'ready' });
  }

  /** As webview/src/panels/risk.ts and frequency.ts handle their messages. */
  private receive(m: ToWebview): void {
    if (m.type === 'init') {
      this.series.clear();
      this.decisions.clear();
    } else if (m.type === 'link') this.links.push(m.state);
    else if (m.type === 'samples') {
      this.repostedPoints += m.points.length - this.series.add(m.points);
    } else if (m.type === 'decisions') {
      this.decisions.add(m.decisions);
    }
  }

  get timestamps(): number[] {
    return this.series.all.map((p) => p.sample.ts);
  }

  dispose(): void {
    this.controller.dispose();
  }
}

interface Attempt {
  start: number;
  end?: number;
  interactive: boolean;
  error?: string;
}

/** The connector the extension uses, with each attempt's start, end and outcome written down. */
class RecordingConnector implements Connector {
  readonly attempts: Attempt[] = [];
  constructor(private readonly inner: Connector) {}

  async open(host: HostSpec, o: { interactive: boolean }): Promise<Transport> {
    const a: Attempt = { start: Date.now(), interactive: o.interactive };
    this.attempts.push(a);
    try {
      return await this.inner.open(host, o);
    } catch (e) {
      a.error = (e as Error).message;
      throw e;
    } finally {
      a.end = Date.now();
    }
  }

  release(hostId: string): void {
    this.inner.release(hostId);
  }

  since(t: number): Attempt[] {
    return this.attempts.filter((a) => a.start >= t);
  }
}

/** Prompts the user would have seen: host key questions and passphrase boxes. */
interface Prompts {
  hostKey: number;
  passphrase: number;
}

/** One extension session against one host: connector, hosts model, the host's state over time. */
class Session {
  readonly model: HostsModel;
  readonly connector: RecordingConnector;
  readonly prompts: Prompts = { hostKey: 0, passphrase: 0 };
  readonly states: Array<{ at: number; view: HostView }> = [];
  private readonly ssh: SshConnector;
  private readonly stored = new Map<string, string>();

  constructor(readonly sshd: Sshd, key: UserKey, dir: string) {
    const knownHosts = join(dir, `known_hosts-${sshd.port}`);
    writeFileSync(knownHosts, '');
    this.ssh = new SshConnector({
      // As extension.ts: prompts only for a connect the user started.
      verifier: (h, interactive) => new HostKeyVerifier({
        files: h.knownHostsFiles,
        writeTo: h.knownHostsFiles[0],
        ask: interactive ? async (q) => {
          this.prompts.hostKey++;
          return q.fingerprint === sshd.fingerprint;
        } : undefined,
      }),
      passphrases: (interactive) => this.passphrases(interactive),
      connectTimeoutMs: 2000,
      keepaliveIntervalMs: 500,
      keepaliveCountMax: 3,
      log,
    });
    this.connector = new RecordingConnector(this.ssh);
    this.model = new HostsModel({ connector: this.connector, clientName: 'hefery-connection-faults', log, backoff: { ...BACKOFF, jitter: JITTER } });
    this.model.onDidChange((c) => {
      if (c.hostId !== HOST || c.domain !== undefined) return;
      const view = this.model.host(HOST);
      if (view && this.states.at(-1)?.view.state !== view.state) this.states.push({ at: Date.now(), view });
    });
    this.model.setHosts([{
      id: HOST, source: 'settings', origin: 'test', socketPath: agent!.socketPath, knownHostsFiles: [knownHosts], notes: [],
      target: { label: HOST, host: sshd.host, port: sshd.port, username: sshd.user, identityFiles: [key.privateKeyPath], identitiesOnly: true },
    }]);
  }

  /** As extension/src/passphrases.ts: stored secrets first; a box only when interactive. */
  private passphrases(interactive: boolean): PassphraseSource {
    return {
      get: async (file, retry) => {
        const stored = this.stored.get(file);
        if (!retry && stored !== undefined) return stored;
        if (!interactive) return undefined;
        this.prompts.passphrase++;
        return PASSPHRASE;
      },
      accepted: (file, p) => void this.stored.set(file, p),
      rejected: (file) => void this.stored.delete(file),
    };
  }

  get state(): string | undefined {
    return this.model.host(HOST)?.state;
  }

  api(): AgentClient {
    return this.model.api(HOST);
  }

  /** When the host last entered `state` at or after `since`. */
  entered(state: string, since: number): number | undefined {
    return this.states.find((s) => s.at >= since && s.view.state === state)?.at;
  }

  dispose(): void {
    this.model.dispose();
    this.ssh.dispose();
  }
}

// ---- checks ---------------------------------------------------------------------------

/**
 * The delay before each reconnect attempt, from the timestamps: the first
 * after the loss, each next one after the previous attempt failed. It must be
 * the extension's backoff (initial x 2^k, capped) within the jitter.
 */
function assertBackoffSchedule(lostAt: number, attempts: Attempt[], failed: number): void {
  assert.ok(failed >= 5, `enough failed attempts to reach the cap: ${failed}`);
  const rows: string[] = [];
  for (let k = 0; k <= failed; k++) {
    const from = k === 0 ? lostAt : attempts[k - 1].end!;
    const delay = attempts[k].start - from;
    const base = Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** k);
    rows.push(`attempt ${k + 1}: waited ${delay} ms (schedule ${base} ms ±${JITTER * 100} %)${attempts[k].error ? `, failed: ${attempts[k].error}` : ', connected'}`);
    assert.ok(delay >= base * (1 - JITTER) - 25 && delay <= base * (1 + JITTER) + 250, `delay before attempt ${k + 1} off the schedule:\n${rows.join('\n')}`);
  }
  console.log(`# reconnect schedule:\n#   ${rows.join('\n#   ')}`);
  const capped = attempts.slice(0, failed + 1).filter((_, k) => BACKOFF.initialMs * 2 ** k >= BACKOFF.maxMs).length;
  assert.ok(capped >= 2, `at least two attempts waited the capped delay (${capped})`);
}

/**
 * The chart holds exactly what the agent stored for the domain over the
 * chart's span: every sample once (no duplicates), none missing (no holes),
 * including those produced while the connection was down.
 */
async function assertChartMatchesStore(session: Session, chart: PanelChart, outage: { from: number; to: number }): Promise<void> {
  const ts = chart.timestamps;
  assert.ok(ts.every((t, i) => i === 0 || t > ts[i - 1]), 'chart points are in time order, one per timestamp');
  const stored = (await session.api().call('samples.history', { domain: DOMAIN, from: ts[0], to: ts[ts.length - 1], limit: 100_000 })).map((r) => r.sample.ts);
  const missing = stored.filter((t) => !ts.includes(t));
  const extra = ts.filter((t) => !stored.includes(t));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'the chart holds every stored sample of its span and nothing else');
  const during = ts.filter((t) => t > outage.from && t < outage.to).length;
  const expected = Math.floor((outage.to - outage.from) / SAMPLING_MS) - 2;
  assert.ok(during >= expected, `samples of the outage were backfilled: ${during} points between loss and reconnect (at least ${expected} expected)`);
  console.log(`# chart: ${ts.length} points, ${during} from the ${((outage.to - outage.from) / 1000).toFixed(1)} s outage backfilled, ${chart.repostedPoints} re-posted point(s) kept once`);
}

// ---- fixtures -------------------------------------------------------------------------

let dir = '';
let agent: SyntheticAgent | undefined;
let key: UserKey;
let loopSshd: Sshd | undefined;
let link: LinkedNamespace | undefined;
let nsSshd: Sshd | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hefery-conn-faults-'));
  agent = await startSyntheticAgent({ runDir: dir, domains: 3, intervalMs: SAMPLING_MS });
  key = await generateUserKey(dir, { name: 'id_ed25519', passphrase: PASSPHRASE });
  loopSshd = await startSshd({ authorizedKeys: [key.publicKeyLine] });
  link = await createLinkedNamespace();
  nsSshd = await startSshd({ authorizedKeys: [key.publicKeyLine], netns: link.ns, listenAddress: link.address });
}, { timeout: 120_000 });

after(async () => {
  // Each step on its own: one failing must not leave the others' processes or namespace behind.
  const steps = [() => agent?.stop(), () => loopSshd?.stop(), () => nsSshd?.stop(), () => link?.destroy()];
  const failed: string[] = [];
  for (const step of steps) await Promise.resolve().then(step).catch((e: Error) => failed.push(e.message));
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (failed.length) throw new Error(`cleanup: ${failed.join('; ')}`);
}, { timeout: 60_000 });

/**
 * The user connects (prompts allowed), opens the live risk panel and sees
 * points arrive; both are closed after the test. `prompts`: what the user
 * was asked so far.
 */
async function connectAndChart(t: TestContext, sshd: Sshd): Promise<{ session: Session; chart: PanelChart; prompts: Prompts }> {
  const session = new Session(sshd, key, dir);
  const chart = new PanelChart(session.model, HOST, DOMAIN);
  try {
    await session.model.connect(HOST, { interactive: true });
    assert.deepEqual(session.prompts, { hostKey: 1, passphrase: 1 }, 'the first, user-started connect asks once for the host key and once for the passphrase');
    await chart.open();
    await waitFor('the chart to fill', () => chart.series.size >= 4, 20_000);
  } catch (e) {
    close(session, chart);
    throw e;
  }
  t.after(() => close(session, chart));
  return { session, chart, prompts: { ...session.prompts } };
}

/** The panel closes and the extension lets go of the host (idempotent). */
function close(session: Session, chart: PanelChart): void {
  chart.dispose();
  session.dispose();
}

/**
 * After a fault retrying cannot fix (`fatal`): the error state, and no
 * attempt after the one that met it (none in three times the longest
 * backoff), no prompt. Attempts before it may have found sshd still away.
 * Returns the attempts since `since`.
 */
async function assertGaveUp(session: Session, since: number, prompts: Prompts, fatal: RegExp): Promise<Attempt[]> {
  await waitFor('the error state', () => session.state === 'error', 15_000);
  await sleep(3 * BACKOFF.maxMs);
  const attempts = session.connector.since(since);
  const errors = attempts.map((a) => a.error ?? 'connected');
  assert.match(errors.at(-1) ?? '', fatal, `the last attempt met the fault: ${errors.join('; ')}`);
  assert.ok(errors.slice(0, -1).every((e) => /connection refused/.test(e)), `no attempt after it: ${errors.join('; ')}`);
  assert.equal(session.state, 'error');
  assert.equal(session.model.host(HOST)?.error, errors.at(-1), 'the host shows that error');
  assert.ok(attempts.every((a) => !a.interactive), 'the attempts were not interactive');
  assert.deepEqual(session.prompts, prompts, 'no prompt');
  return attempts;
}

/** After the reconnect: live points continue through the resumed subscriptions. */
async function assertLiveAgain(session: Session, chart: PanelChart, reconnectedAt: number): Promise<void> {
  await waitFor('live points after the reconnect', () => chart.timestamps.filter((t) => t > reconnectedAt).length >= 3, 15_000);
  assert.equal(session.api().subscriptionCount, 2, "the hosts model's and the panel's subscriptions are both held again");
  assert.ok(chart.links.includes('reconnecting') && chart.links.at(-1) === 'connected', `the panel was told: ${chart.links.join(' -> ')}`);
}

// ---- tests ----------------------------------------------------------------------------

test('sshd killed, then back on the same port and key: reconnecting with capped exponential backoff, no prompt, subscriptions resumed, the chart backfilled with no duplicate and no hole', { timeout: 120_000 }, async (t) => {
  const sshd = loopSshd!;
  const { session, chart, prompts } = await connectAndChart(t, sshd);
  const mark = sshd.logMark();
  const killedAt = Date.now();
  await sshd.kill();
  const lostAt = await waitFor('reconnecting', () => session.entered('reconnecting', killedAt), 10_000);
  // 250 + 500 + 1000 + 2000 + 2000 + 2000 ms: six refused attempts, the last three at the cap.
  await waitFor('six refused attempts', () => session.connector.since(killedAt).filter((a) => a.end).length >= 6, 20_000);
  const down = session.connector.since(killedAt);
  assert.ok(down.every((a) => /connection refused/.test(a.error ?? '')), `refused while sshd is down: ${down.map((a) => a.error).join('; ')}`);
  assert.equal(session.state, 'reconnecting');
  assert.ok((session.model.host(HOST)?.nextRetryAt ?? 0) > Date.now() - 50, 'the view says when the next attempt is due');
  await sshd.start();
  const reconnectedAt = await waitFor('connected again', () => session.entered('connected', lostAt), 10_000);
  const attempts = session.connector.since(killedAt);
  assertBackoffSchedule(lostAt, attempts, attempts.length - 1);
  assert.ok(attempts.every((a) => !a.interactive), 'reconnects are never interactive');
  assert.deepEqual(session.prompts, prompts, 'no prompt during the reconnects');
  assert.equal((sshd.logSince(mark).match(/Accepted publickey/g) ?? []).length, 1, 'one login for the reconnect');

  await assertLiveAgain(session, chart, reconnectedAt);
  await assertChartMatchesStore(session, chart, { from: lostAt, to: reconnectedAt });
});

test('the key is revoked while reconnecting: one attempt, then an error, no retry (no lockout), no prompt', { timeout: 60_000 }, async (t) => {
  const sshd = loopSshd!;
  const { session, prompts } = await connectAndChart(t, sshd);
  sshd.setAuthorizedKeys([]);
  const mark = sshd.logMark();
  const droppedAt = Date.now();
  await sshd.dropConnections();
  const attempts = await assertGaveUp(session, droppedAt, prompts, /refused key .*id_ed25519/);
  assert.equal(attempts.length, 1, 'sshd never went away: one attempt');
  const sshdLog = sshd.logSince(mark);
  const count = (re: RegExp) => (sshdLog.match(re) ?? []).length;
  const connections = count(/Connection from /g);
  const requests = count(/userauth-request for user \S+ service ssh-connection method publickey/g);
  const failures = count(/Failed publickey for /g);
  console.log(`# after the key was revoked sshd saw ${connections} connection(s), ${requests} publickey request(s), ${failures} failed authentication(s)`);
  assert.equal(connections, 1, `sshd saw one connection after the drop:\n${sshdLog}`);
  assert.equal(failures, 1, `one failed authentication (the one key, once):\n${sshdLog}`);
  assert.ok(requests <= 2, `the one key was offered once (a query, perhaps a signature):\n${sshdLog}`);
  sshd.setAuthorizedKeys([key.publicKeyLine]);
});

test('sshd comes back with another host key: refused without a prompt, no retry loop', { timeout: 60_000 }, async (t) => {
  const sshd = loopSshd!;
  const { session, prompts } = await connectAndChart(t, sshd);
  const rotatedAt = Date.now();
  await sshd.rotateHostKey(); // sessions dropped, back on the same port with a new key
  await assertGaveUp(session, rotatedAt, prompts, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
});

test('the network link goes down and comes back: keepalive notices, reconnecting with capped backoff, no prompt, the chart backfilled with no duplicate and no hole', { timeout: 120_000 }, async (t) => {
  const sshd = nsSshd!;
  const { session, chart, prompts } = await connectAndChart(t, sshd);
  const downAt = Date.now();
  await link!.down();
  const lostAt = await waitFor('reconnecting (keepalive)', () => session.entered('reconnecting', downAt), 15_000);
  console.log(`# link down: the loss was noticed after ${lostAt - downAt} ms`);
  // Attempts time out (2 s each) while the link is down; keep it down past the cap.
  await waitFor('five timed-out attempts', () => session.connector.since(downAt).filter((a) => a.end).length >= 5, 40_000);
  const down = session.connector.since(downAt).filter((a) => a.end);
  assert.ok(down.every((a) => /within 2 s|timed out|stopped answering|no route/.test(a.error ?? '')), `attempts fail while the link is down: ${down.map((a) => a.error).join('; ')}`);
  await link!.up();
  const reconnectedAt = await waitFor('connected again', () => session.entered('connected', lostAt), 20_000);
  const attempts = session.connector.since(downAt);
  assertBackoffSchedule(lostAt, attempts, attempts.length - 1);
  assert.ok(attempts.every((a) => !a.interactive), 'reconnects are never interactive');
  assert.deepEqual(session.prompts, prompts, 'no prompt during the reconnects');

  await assertLiveAgain(session, chart, reconnectedAt);
  await assertChartMatchesStore(session, chart, { from: lostAt, to: reconnectedAt });
});

test('a live sample or decision arriving while the reconnect completes does not hide the outage from the charts', { timeout: 30_000 }, async () => {
  // The agent's real AgentServer and Store on a Unix socket, driven by the
  // test so the order of events is exact; the SSH leg is replaced by a direct
  // dial of the socket (a stand-in, named as such: the SSH path is covered above).
  const runDir = mkdtempSync(join(tmpdir(), 'hefery-catchup-'));
  const socketPath = join(runDir, 'agent.sock');
  const store = Store.open({ path: join(runDir, 'store.db') });
  let duringList: (() => void) | undefined;
  const makeServer = () => new AgentServer({
    socketPath, group: null, store,
    info: () => ({ agentVersion: 'test', hostname: 'test', backend: 'dry-run' }),
    domains: {
      list: () => {
        duringList?.();
        duringList = undefined;
        return [{ name: DOMAIN, uuid: 'u', state: 'running', latest: null, risk: null, protection: null, hasModel: true }];
      },
    },
  });
  let server = makeServer();
  await server.listen();
  const directDial: Connector = {
    open: () => new Promise((resolve, reject) => {
      const s = connect(socketPath);
      s.once('connect', () => resolve({ stream: s, where: socketPath }));
      s.once('error', reject);
    }),
    release: () => undefined,
  };
  const model = new HostsModel({ connector: directDial, clientName: 'catch-up', log, backoff: { initialMs: 50, maxMs: 100 } });
  model.setHosts([{ id: HOST, source: 'settings', origin: 'test', socketPath, knownHostsFiles: [], notes: [], target: { label: HOST, host: 'unused', port: 22, username: 'u', identityFiles: [], identitiesOnly: true } }]);
  const chart = new PanelChart(model, HOST, DOMAIN);
  const frequency = new PanelChart(model, HOST, DOMAIN, 'frequency');
  const base = Date.now() - 60_000;
  // As the daemon does: store a sample and a decision, and publish them to the subscribers.
  const produce = (i: number, publish: boolean) => {
    const ts = base + i * 1000;
    const sample: Sample = { domain: DOMAIN, ts, state: 'running', cpuPct: i, memPct: 10, netRxBps: 0, netTxBps: 0, diskRdBps: 0, diskWrBps: 0 };
    store.insertSamples([{ sample, risk: 0.1 }]);
    const decision = store.record({ domain: DOMAIN, ts, kind: 'auto', oldIntervalMs: 100 + i, newIntervalMs: 101 + i, risk: 0.1, reason: `step ${i}`, who: 'policy', applied: true });
    if (publish) {
      server.publishSample(sample, { ts, next: 0.1 }, null);
      server.publishDecision(decision);
    }
  };
  try {
    await chart.open();
    await frequency.open();
    for (let i = 0; i < 5; i++) produce(i, true);
    await waitFor('five live points and decisions', () => chart.series.size === 5 && frequency.decisions.size === 5, 5000);
    await server.close(); // the connection is lost
    await waitFor('reconnecting', () => model.host(HOST)?.state === 'reconnecting', 5000);
    for (let i = 5; i < 8; i++) produce(i, false); // produced while nobody was connected
    // The reconnect: subscriptions are back before domains.list answers and
    // the host turns `connected`; a live sample comes in just then.
    duringList = () => produce(8, true);
    server = makeServer();
    await server.listen();
    await waitFor('connected', () => model.host(HOST)?.state === 'connected', 5000);
    await waitFor('the live sample and decision', () => chart.timestamps.includes(base + 8000) && frequency.decisions.all.some((d) => d.ts === base + 8000), 5000);
    await waitFor('the catch-up of the outage', () => chart.series.size >= 9 && frequency.decisions.size >= 9, 10_000);
    assert.deepEqual(chart.timestamps.map((t) => (t - base) / 1000), [0, 1, 2, 3, 4, 5, 6, 7, 8], 'the samples of the outage (5, 6, 7) are backfilled');
    assert.deepEqual(frequency.decisions.all.map((d) => (d.ts - base) / 1000), [0, 1, 2, 3, 4, 5, 6, 7, 8], 'the decisions of the outage (5, 6, 7) are backfilled');
  } finally {
    chart.dispose();
    frequency.dispose();
    model.dispose();
    await server.close();
    store.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});
