// Host side of Hefery's agent running INSIDE the lane's dom0: its config (the
// lane's policy and xen-remus backend, libvirt xen:///system), starting and
// stopping it over ssh, its CLI, and AgentSession, the host end of
// test/xen/dom0/agent-session.ts (a client of the agent's socket in dom0 that
// reports samples, decisions, training and xl's log as JSON lines).

import { LANE_BACKEND, Dom0Process, type Dom0Event } from './driver-client';
import { GUEST, type Lane } from './lane';
import { DOM0_AGENT, DOM0_LIB, DOM0_NODE, DOM0_SESSION } from './payload';

export const SAFE_MS = Number(process.env.HEFERY_XL_SHORT_MS ?? 200);
export const RELAXED_MS = Number(process.env.HEFERY_XL_RELAXED_MS ?? 5000);
export const RAISE = 0.5;
export const LOWER = 0.2;
const SOCKET = '/run/hefery/agent.sock';
const CONFIG = '/etc/hefery/agent.json';
const AGENT_LOG = '/var/log/hefery-agent.log';
const STATE = '/var/lib/hefery/agent';

/**
 * The agent's config in dom0, as an operator would write it: libvirt's Xen
 * driver (statsMode auto: libxl has no bulk stats call, so the per-domain
 * path runs), the lane's xen-remus backend, a two-rung ladder (safe SAFE_MS,
 * relaxed RELAXED_MS: each change is a Remus restart, so no steps between).
 * Sampling every 2 s: dom0 has one emulated vCPU, shared with xl's
 * checkpoints. maxSampleAgeMs 15 s: a late sample under a busy nested
 * machine must not by itself force a restart of Remus.
 */
export const LANE_AGENT_CONFIG = {
  libvirt: { uri: 'xen:///system', statsMode: 'auto' },
  socket: { path: SOCKET },
  store: { path: `${STATE}/hefery.db` },
  sampling: { intervalMs: 2000 },
  modelDir: `${STATE}/models`,
  pidFile: '/run/hefery/agent.pid',
  logLevel: 'info',
  policy: {
    protect: [GUEST],
    defaults: { safeIntervalMs: SAFE_MS, relaxedIntervalMs: RELAXED_MS, steps: [], raise: RAISE, lower: LOWER, dwellMs: 20_000, maxSampleAgeMs: 15_000 },
  },
  // The lane's incidents are minutes long, not the production default's 10-minute lead.
  prediction: { leadMs: 30_000, recoveryMs: 30_000 },
  backend: LANE_BACKEND,
};

const node = `LD_LIBRARY_PATH=${DOM0_LIB} ${DOM0_NODE}`;

/** Writes the config, stops an agent left from an earlier run (HEFERY_XL_REUSE), starts a fresh one with an empty store. */
export async function startAgent(lane: Lane, config: unknown = LANE_AGENT_CONFIG): Promise<void> {
  const b64 = Buffer.from(JSON.stringify(config, null, 2)).toString('base64');
  // A lane reused from an earlier run (HEFERY_XL_REUSE) may hold an old
  // replication: a leftover receiver makes every new `xl remus` fail ("Domain
  // with name ...--incoming already exists"). A fresh lane has neither.
  const leftovers = `xl destroy ${GUEST}--incoming 2>/dev/null; for p in $(pgrep -f "xl (remus|migrate-receive)"); do kill $p; done`;
  await lane.sh(`${stopCommand()}; ${leftovers}; mkdir -p /etc/hefery && echo ${b64} | base64 -d > ${CONFIG} && rm -rf ${STATE} && mkdir -p ${STATE}`);
  // setsid + redirections: the agent outlives this ssh session (its log is tailed by the session).
  await lane.sh(`cd ${DOM0_AGENT.replace(/\/[^/]+$/, '')} && (${node} ${DOM0_AGENT} serve --config ${CONFIG} > ${AGENT_LOG} 2>&1 < /dev/null & ) ; sleep 1; cat ${AGENT_LOG}`);
}

/** SIGTERM by pid file (the agent sets the safe interval, leaves xl replicating and exits); waits up to 2 min. */
function stopCommand(): string {
  return `p=$(cat /run/hefery/agent.pid 2>/dev/null); if [ -n "$p" ] && kill "$p" 2>/dev/null; then for i in $(seq 240); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done; fi; true`;
}

export async function stopAgent(lane: Lane): Promise<string> {
  await lane.sh(stopCommand(), 4 * 60_000);
  return lane.sh(`tail -20 ${AGENT_LOG}`);
}

/** `hefery-agent ARGS` in dom0 against the running agent; its stdout. */
export function agentCli(lane: Lane, args: string): Promise<string> {
  return lane.sh(`cd /opt/hefery/agent && ${node} ${DOM0_AGENT} ${args} --socket ${SOCKET}`);
}

export interface Decision {
  id: number;
  ts: number;
  kind: string;
  oldIntervalMs: number | null;
  newIntervalMs: number | null;
  risk: number | null;
  reason: string;
  applied: boolean;
  error?: string;
}

export interface SampleEvent extends Dom0Event {
  ev: 'sample';
  sample: { ts: number; cpuPct: number | null; memPct: number | null; netRxBps: number | null; netTxBps: number | null; diskRdBps: number | null; diskWrBps: number | null; state: string };
  risk: { next: number; state?: string } | null;
  protection: { mode: string; intervalMs: number | null } | null;
}

/** The session in dom0 (agent-session.js); every event time `t` is its monotonic ms, `wall` dom0's clock. */
export class AgentSession extends Dom0Process {
  /** dom0 wall clock minus session time, from the ready event (to place decisions' ts on `t`). */
  wallOffset = 0;

  constructor(lane: Lane, echo: (e: Dom0Event) => void = () => undefined) {
    const arg = JSON.stringify({ socket: SOCKET, domain: GUEST, xlLog: `${LANE_BACKEND.stateDir}/${GUEST}.log`, agentLog: AGENT_LOG, connectTimeoutMs: 300_000 });
    super(lane, `exec env ${node} ${DOM0_SESSION} '${arg.replace(/'/g, `'\\''`)}'`, echo);
  }

  async ready(timeoutMs: number): Promise<void> {
    const r = await this.waitFor((e) => e.ev === 'ready', timeoutMs, 'the agent session in dom0');
    this.wallOffset = Number(r.wall) - r.t;
  }

  /** An RPC call to the agent; resolves with its result, rejects with the agent's error. */
  async call<T = unknown>(method: string, params: unknown, timeoutMs = 60_000): Promise<T> {
    const r = await this.request({ cmd: 'call', method, params, timeoutMs }, timeoutMs + 10_000, method);
    if (r.ok !== true) throw new Error(`${method}: ${String(r.error)}`);
    return r.result as T;
  }

  /** dom0 wall-clock ms now (a mark). */
  async wallNow(): Promise<number> {
    const t = await this.mark();
    return t + this.wallOffset;
  }

  /** Session time of a dom0 wall-clock ts. */
  toT(wall: number): number {
    return wall - this.wallOffset;
  }

  decisions(): Decision[] {
    return this.events.filter((e) => e.ev === 'decision').map((e) => e.decision as Decision);
  }

  samples(): SampleEvent[] {
    return this.events.filter((e): e is SampleEvent => e.ev === 'sample');
  }

  close(timeoutMs = 60_000): Promise<void> {
    return this.closeWith({}, timeoutMs);
  }
}

/** Progress of a long run on stderr: the agent's decisions and warnings, training, fatal errors. */
export function echoSessionEvent(e: Dom0Event): void {
  const at = `[dom0 ${(e.t / 1000).toFixed(1)} s]`;
  if (e.ev === 'agent' && /WARN|ERROR|\[protection\]|train/i.test(String(e.line))) process.stderr.write(`xen-lane: ${at} agent: ${String(e.line)}\n`);
  else if (e.ev === 'train' && e.done) process.stderr.write(`xen-lane: ${at} train done: ${JSON.stringify({ ok: e.ok, error: e.error })}\n`);
  else if (e.ev === 'fatal') process.stderr.write(`xen-lane: ${at} session fatal: ${String(e.error)}\n`);
}
