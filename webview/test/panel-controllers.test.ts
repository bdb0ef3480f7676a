// The panel controllers (extension/src/panels/controllers) against a
// scripted stand-in for the connection layer's AgentApi: it answers calls
// from per-method scripts, records them, and lets the test emit
// notifications and connection-state changes. The real AgentApi over SSH
// is exercised by the end-to-end tests (test/e2e).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentApi, ConnectionState, Disposable } from '../../extension/src/core/contract';
import type { MethodName, NotificationName, NotificationParams, Params, Result, Sample } from '../../host-agent/src/protocol/api';
import { createController } from '../../extension/src/panels/controllers';
import { ToWebview } from '../src/shared/messages';
import { PointSeries } from '../src/lib/points';

type Script = { [M in MethodName]?: (p: Params<M>) => Result<M> | Promise<Result<M>> };

class ScriptedAgent implements AgentApi {
  readonly hostId = 'lab';
  state: ConnectionState = 'connected';
  calls: Array<{ method: MethodName; params: unknown }> = [];
  private handlers = new Map<string, Set<(p: unknown) => void>>();
  private stateHandlers = new Set<(s: ConnectionState) => void>();
  constructor(private readonly script: Script) {}

  async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    this.calls.push({ method, params });
    const fn = this.script[method] as ((p: Params<M>) => Result<M> | Promise<Result<M>>) | undefined;
    if (!fn) throw new Error(`${method}: not scripted`);
    return fn(params);
  }
  on<N extends NotificationName>(name: N, handler: (params: NotificationParams<N>) => void): Disposable {
    const set = this.handlers.get(name) ?? new Set();
    this.handlers.set(name, set);
    set.add(handler as (p: unknown) => void);
    return { dispose: () => set.delete(handler as (p: unknown) => void) };
  }
  onDidChangeState(handler: (s: ConnectionState) => void): Disposable {
    this.stateHandlers.add(handler);
    return { dispose: () => this.stateHandlers.delete(handler) };
  }
  emit<N extends NotificationName>(name: N, params: NotificationParams<N>): void {
    for (const h of this.handlers.get(name) ?? []) h(params);
  }
  setState(s: ConnectionState): void {
    this.state = s;
    for (const h of this.stateHandlers) h(s);
  }
  listeners(name: NotificationName): number {
    return this.handlers.get(name)?.size ?? 0;
  }
  callsOf(method: MethodName): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params);
  }
}

const ref = { hostId: 'lab', domain: 'vm1' };
const NOW = 1_700_000_000_000;
const tick = () => new Promise((r) => setImmediate(r));

function sample(ts: number, domain = 'vm1'): Sample {
  return { domain, ts, state: 'running', cpuPct: 12, memPct: 30, netRxBps: 1, netTxBps: 2, diskRdBps: 3, diskWrBps: 4 };
}

function harness(kind: 'training' | 'risk' | 'frequency', agent: AgentApi | Error) {
  const posted: ToWebview[] = [];
  const errors: string[] = [];
  let apiCalls = 0;
  let now = NOW;
  const controller = createController(kind, {
    ref,
    api: async () => {
      apiCalls++;
      if (agent instanceof Error) throw agent;
      return agent;
    },
    // Every message the host sends must pass the webview's own validation.
    post: (m) => posted.push(ToWebview.parse(JSON.parse(JSON.stringify(m)), 'posted')),
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: (m) => errors.push(m) },
    now: () => now,
  });
  return { controller, posted, errors, apiCalls: () => apiCalls, setNow: (t: number) => (now = t), of: <T extends ToWebview['type']>(t: T) => posted.filter((m): m is Extract<ToWebview, { type: T }> => m.type === t) };
}

const protection = { mode: 'auto' as const, intervalMs: 100, backend: 'dry-run', reason: 'low risk' };
const summary = { name: 'vm1', uuid: 'u', state: 'running' as const, latest: null, risk: null, protection, hasModel: false };

test('risk panel: backfill after subscribing, live points for its domain only, catch-up from the last point after a reconnect, unsubscribe on close', async () => {
  const agent = new ScriptedAgent({
    'samples.subscribe': () => ({ subscription: 's1' }),
    'samples.unsubscribe': () => ({ ok: true }),
    'domains.list': () => [summary],
    'samples.history': (p) => (p.from === NOW - 30 * 60_000 ? [{ sample: sample(NOW - 2000), risk: 0.1 }, { sample: sample(NOW - 1000), risk: null }] : [{ sample: sample(NOW + 500), risk: 0.4 }]),
  });
  const h = harness('risk', agent);
  await h.controller.handle({ type: 'ready' });
  assert.deepEqual(h.posted.slice(0, 3).map((m) => m.type), ['init', 'link', 'link']);
  assert.deepEqual(h.of('link').map((m) => m.state), ['connecting', 'connected']);
  assert.deepEqual(agent.calls.map((c) => c.method).slice(0, 1), ['samples.subscribe'], 'subscribed before the backfill: no gap');
  assert.deepEqual(agent.callsOf('samples.subscribe'), [{ domains: ['vm1'] }]);
  const [backfill] = h.of('samples');
  assert.deepEqual(backfill.points.map((p) => p.sample.ts), [NOW - 2000, NOW - 1000]);
  assert.deepEqual(h.of('protection')[0], { type: 'protection', status: protection, thresholds: [] });

  const withThresholds = { ...protection, thresholds: { raise: 0.5, lower: 0.2 } };
  agent.emit('samples.event', { subscription: 's1', sample: sample(NOW), risk: { ts: NOW, next: 0.25 }, protection: withThresholds });
  assert.deepEqual(h.of('protection').at(-1), { type: 'protection', status: withThresholds, thresholds: [0.2, 0.5] }, 'the policy\'s lines, lower first');
  agent.emit('samples.event', { subscription: 's1', sample: sample(NOW, 'other'), risk: null, protection: null });
  const live = h.of('samples').slice(1);
  assert.equal(live.length, 1);
  assert.deepEqual(live[0], { type: 'samples', points: [{ sample: sample(NOW), risk: 0.25 }] });

  agent.setState('reconnecting');
  h.setNow(NOW + 2000);
  agent.setState('connected');
  await tick();
  assert.deepEqual(h.of('link').map((m) => m.state).slice(-2), ['reconnecting', 'connected']);
  const catchUp = agent.callsOf('samples.history').at(-1) as Params<'samples.history'>;
  assert.equal(catchUp.from, NOW + 1, 'asks only for what came after the last point');
  assert.equal(catchUp.to, NOW + 2000);
  assert.deepEqual(h.of('samples').at(-1), { type: 'samples', points: [{ sample: sample(NOW + 500), risk: 0.4 }] });

  h.controller.dispose();
  assert.deepEqual(agent.callsOf('samples.unsubscribe'), [{ subscription: 's1' }]);
  assert.equal(agent.listeners('samples.event'), 0, 'no handler left on the connection');
  assert.deepEqual(h.errors, []);
});

test('a second ready (the webview was hidden) reloads everything without subscribing twice', async () => {
  const agent = new ScriptedAgent({
    'samples.subscribe': () => ({ subscription: 's1' }),
    'domains.list': () => [],
    'samples.history': () => [],
  });
  const h = harness('risk', agent);
  await h.controller.handle({ type: 'ready' });
  await h.controller.handle({ type: 'ready' });
  assert.equal(agent.callsOf('samples.subscribe').length, 1);
  assert.equal(agent.callsOf('samples.history').length, 2);
  assert.equal(h.of('init').length, 2, 'the webview is emptied before each full load');
  assert.deepEqual(h.of('protection').at(-1), { type: 'protection', status: null, thresholds: [] });
});

test('risk panel: a live point that arrives while the backfill is on its way stays in the chart', async () => {
  // The history answer is held back until a live sample newer than the
  // backfill's end has been relayed (the subscription comes first, so this
  // happens whenever a sample is collected during the history call).
  let answer!: (rows: Result<'samples.history'>) => void;
  const agent = new ScriptedAgent({
    'samples.subscribe': () => ({ subscription: 's1' }),
    'domains.list': () => [summary],
    'samples.history': () => new Promise((r) => (answer = r)),
  });
  const h = harness('risk', agent);
  const loading = h.controller.handle({ type: 'ready' });
  while (!answer) await tick();
  agent.emit('samples.event', { subscription: 's1', sample: sample(NOW + 100), risk: { ts: NOW + 100, next: 0.3 }, protection });
  answer([{ sample: sample(NOW - 400), risk: 0.1 }]);
  await loading;
  // What the webview does with the messages (webview/src/panels/risk.ts).
  const chart = new PointSeries(30 * 60_000);
  for (const m of h.posted) {
    if (m.type === 'init') chart.clear();
    else if (m.type === 'samples') chart.add(m.points);
  }
  assert.deepEqual(chart.all.map((p) => p.sample.ts), [NOW - 400, NOW + 100], 'the backfill and the live point, neither dropped');
  assert.deepEqual(h.errors, []);
});

test('an unreachable host is reported in the panel; Retry asks the connection layer again', async () => {
  const h = harness('frequency', new Error('connect ECONNREFUSED 127.0.0.1:2222'));
  await h.controller.handle({ type: 'ready' });
  assert.deepEqual(h.of('link').at(-1), { type: 'link', state: 'error', message: 'cannot reach the agent on lab: connect ECONNREFUSED 127.0.0.1:2222' });
  await h.controller.handle({ type: 'retry' });
  assert.equal(h.apiCalls(), 2);
});

test('training panel: progress that races ahead of model.train\'s answer is kept, other jobs are ignored, the result renews the model', async () => {
  let agent!: ScriptedAgent;
  const model = {
    domain: 'vm1', version: 'v2', createdAt: NOW, trainedFrom: NOW - 3_600_000, trainedTo: NOW, observations: 3600, logLikelihood: -1234.5, iterations: 12,
    states: [{ label: 'normal', health: 'normal' as const }, { label: 'strained', health: 'abnormal' as const }], symbols: 2,
    transition: [[0.9, 0.1], [0.2, 0.8]], emission: [[0.7, 0.3], [0.1, 0.9]],
  };
  agent = new ScriptedAgent({
    'model.get': () => null,
    'model.train': (p) => {
      // The agent's first progress arrives before the answer to model.train.
      agent.emit('train.progress', { jobId: 'job-7', restart: 0, restarts: 2, iteration: 1, logLikelihood: -2000 });
      agent.emit('train.progress', { jobId: 'someone-else', restart: 0, restarts: 1, iteration: 1, logLikelihood: -1 });
      assert.deepEqual(p, { domains: ['vm1'], to: NOW, restarts: 2, maxIterations: 50 }, 'from: null means no lower bound');
      return { jobId: 'job-7' };
    },
    'model.cancel': () => ({ ok: true }),
  });
  const h = harness('training', agent);
  await h.controller.handle({ type: 'ready' });
  assert.deepEqual(h.of('model'), [{ type: 'model', model: null }]);
  await h.controller.handle({ type: 'train', request: { from: null, to: NOW, restarts: 2, maxIterations: 50 } });
  assert.deepEqual(h.posted.slice(-2).map((m) => m.type), ['trainStarted', 'trainProgress']);
  agent.emit('train.progress', { jobId: 'job-7', restart: 1, restarts: 2, iteration: 1, logLikelihood: -1500 });
  assert.deepEqual(h.of('trainProgress').map((m) => m.progress.logLikelihood), [-2000, -1500]);

  // The webview was hidden and comes back: the running job is replayed to it.
  await h.controller.handle({ type: 'ready' });
  assert.deepEqual(h.posted.slice(-3).map((m) => m.type), ['trainStarted', 'trainProgress', 'trainProgress']);

  await h.controller.handle({ type: 'train', request: { from: null, to: null, restarts: 1, maxIterations: 5 } });
  assert.match(h.of('error').at(-1)!.message, /a training job \(job-7\) is already running/);
  await h.controller.handle({ type: 'cancel', jobId: 'job-7' });
  assert.deepEqual(agent.callsOf('model.cancel'), [{ jobId: 'job-7' }]);

  agent.emit('train.done', { jobId: 'job-7', ok: true, model });
  assert.deepEqual(h.of('trainDone').at(-1), { type: 'trainDone', done: { jobId: 'job-7', ok: true, model } });
  assert.deepEqual(h.of('model').at(-1), { type: 'model', model });
  // A job started by the Train Model command for this domain renews the model too.
  agent.emit('train.done', { jobId: 'cmd-1', ok: true, model: { ...model, version: 'v3' } });
  assert.equal(h.of('model').at(-1)!.model!.version, 'v3');
  assert.equal(h.of('trainDone').length, 1, 'the job\'s own end, not the command\'s');
  // Shown again later, the panel gets the finished run back, end included.
  await h.controller.handle({ type: 'ready' });
  assert.deepEqual(h.posted.slice(-4).map((m) => m.type), ['trainStarted', 'trainProgress', 'trainProgress', 'trainDone']);
});

test('training panel: a refused model.train is reported and the panel can train again', async () => {
  let calls = 0;
  const agent = new ScriptedAgent({
    'model.get': () => null,
    'model.train': () => {
      calls++;
      if (calls === 1) throw new Error('training is not available on this agent');
      return { jobId: 'j2' };
    },
  });
  const h = harness('training', agent);
  await h.controller.handle({ type: 'ready' });
  const request = { from: null, to: null, restarts: 1, maxIterations: 10 };
  await h.controller.handle({ type: 'train', request });
  assert.equal(h.of('error').at(-1)!.message, 'training could not start: training is not available on this agent');
  await h.controller.handle({ type: 'train', request });
  assert.equal(h.of('trainStarted').at(-1)!.jobId, 'j2');
});

test('frequency panel: the audit log backfilled, new decisions of its domain relayed, the status sent when it changes', async () => {
  const d = (id: number, ts: number, domain = 'vm1') => ({ id, domain, ts, kind: 'override' as const, oldIntervalMs: 100, newIntervalMs: 500, risk: null, reason: 'pinned', who: 'alice', applied: true });
  const agent = new ScriptedAgent({
    'samples.subscribe': () => ({ subscription: 's9' }),
    'domains.list': () => [summary],
    'decisions.list': (p) => (p.from === NOW - 24 * 3_600_000 ? [d(1, NOW - 5000)] : []),
  });
  const h = harness('frequency', agent);
  await h.controller.handle({ type: 'ready' });
  assert.deepEqual(h.of('decisions'), [{ type: 'decisions', decisions: [d(1, NOW - 5000)] }]);
  agent.emit('decision.event', { subscription: 's9', decision: d(2, NOW) });
  agent.emit('decision.event', { subscription: 's9', decision: d(3, NOW, 'other') });
  assert.deepEqual(h.of('decisions').at(-1), { type: 'decisions', decisions: [d(2, NOW)] });
  const before = h.of('protection').length;
  agent.emit('samples.event', { subscription: 's9', sample: sample(NOW), risk: null, protection });
  assert.equal(h.of('protection').length, before, 'unchanged status is not resent every second');
  const pinned = { ...protection, mode: 'pinned' as const, intervalMs: 500, pinnedUntil: NOW + 60_000 };
  agent.emit('samples.event', { subscription: 's9', sample: sample(NOW + 1000), risk: null, protection: pinned });
  assert.deepEqual(h.of('protection').at(-1), { type: 'protection', status: pinned, thresholds: [] });
  agent.setState('connected');
  await tick();
  assert.equal((agent.callsOf('decisions.list').at(-1) as Params<'decisions.list'>).from, NOW, 'catch-up from the newest decision (ids dedupe the overlap)');
});
