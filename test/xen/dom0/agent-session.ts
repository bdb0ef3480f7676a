// Runs INSIDE the nested Xen dom0 (bundled by test/xen/payload.ts, started
// over ssh by the lane test): a client of Hefery's agent running in dom0
// (`hefery-agent serve`), on its Unix socket, through the project's own RPC
// client. It reports on stdout, one JSON object per line:
//   {"ev":"ready","t":MS,"wall":MS,"hello":{...}}        connected (agent.hello done)
//   {"ev":"sample","t":MS,"sample":{...},"risk":...,"protection":...}   samples.event of the domain
//   {"ev":"decision","t":MS,"decision":{...}}             decision.event (the audit log, live)
//   {"ev":"domain","t":MS,"event":"...","ts":MS}          domains.event
//   {"ev":"train","t":MS,"done":bool,...}                 train.progress / train.done
//   {"ev":"xl","t":MS,"line":"..."}                       a line of xl's log (the backend's STATEDIR/<domain>.log)
//   {"ev":"agent","t":MS,"line":"..."}                    a line of the agent's own log
//   {"ev":"ack","id":N,"t":MS,"wall":MS}                  a command arrived (time marks)
//   {"ev":"result","id":N,"t":MS,"ok":true,"result":...} | {"ev":"result","id":N,"ok":false,"error":"..."}
// t is this process's monotonic clock (as remus-driver.js's); wall is dom0's
// Date.now(), the clock the agent stamps samples, decisions and incidents with.
//
// Commands on stdin, one JSON object per line:
//   {"id":1,"cmd":"call","method":"incidents.mark","params":{...},"timeoutMs":N}   one RPC call
//   {"id":2,"cmd":"mark"}                                                        a time mark
//   {"id":3,"cmd":"close"}
//
// argv[2]: JSON {"socket": PATH, "domain": NAME, "xlLog": PATH, "agentLog": PATH, "connectTimeoutMs": N}.

import { createInterface } from 'node:readline';
import { PROTOCOL_VERSION, type MethodName } from '../../../host-agent/src/protocol/api';
import { connectAgent, type AgentConnection } from '../../../host-agent/src/rpc/client';
import { tailFile } from './tail';

const t0 = performance.now();
const t = () => Math.round(performance.now() - t0);
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...o, t: t() }) + '\n');

interface SessionArgs {
  socket: string;
  domain: string;
  xlLog: string;
  agentLog: string;
  connectTimeoutMs: number;
}

function parseArgs(raw: string | undefined): SessionArgs {
  if (!raw) throw new Error('usage: agent-session.js \'{"socket":"...","domain":"...","xlLog":"...","agentLog":"..."}\'');
  const v = JSON.parse(raw) as Partial<SessionArgs>;
  for (const k of ['socket', 'domain', 'xlLog', 'agentLog'] as const) {
    if (typeof v[k] !== 'string') throw new Error(`agent-session: "${k}" must be a string`);
  }
  return { ...(v as SessionArgs), connectTimeoutMs: typeof v.connectTimeoutMs === 'number' ? v.connectTimeoutMs : 120_000 };
}

/** The agent may still be starting (libvirt, store): retry until it answers or the time is up. */
async function connect(args: SessionArgs): Promise<AgentConnection> {
  const deadline = Date.now() + args.connectTimeoutMs;
  for (;;) {
    try {
      return await connectAgent(args.socket, {
        client: 'hefery-xen-lane',
        timeoutMs: 30_000,
        onNotification: (name, params) => {
          const p = params as Record<string, unknown>;
          if (name === 'samples.event') emit({ ev: 'sample', sample: p.sample, risk: p.risk, protection: p.protection });
          else if (name === 'decision.event') emit({ ev: 'decision', decision: p.decision });
          else if (name === 'domains.event') emit({ ev: 'domain', domain: p.domain, event: p.event, ts: p.ts });
          else if (name === 'train.progress') emit({ ev: 'train', done: false, ...p });
          else if (name === 'train.done') emit({ ev: 'train', done: true, ...p });
        },
      });
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`agent-session: no agent at ${args.socket} after ${args.connectTimeoutMs} ms: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv[2]);
  const stopXl = tailFile(args.xlLog, (line) => emit({ ev: 'xl', line }));
  const stopAgent = tailFile(args.agentLog, (line) => emit({ ev: 'agent', line }));
  const agent = await connect(args);
  await agent.peer.call('samples.subscribe', { domains: [args.domain] });
  emit({ ev: 'ready', wall: Date.now(), hello: agent.hello, protocolVersion: PROTOCOL_VERSION });

  const rl = createInterface({ input: process.stdin });
  for await (const raw of rl) {
    if (!raw.trim()) continue;
    let id: unknown = null;
    try {
      const c = JSON.parse(raw) as { id?: unknown; cmd?: unknown; method?: unknown; params?: unknown; timeoutMs?: unknown };
      id = c.id ?? null;
      emit({ ev: 'ack', id, wall: Date.now() });
      if (c.cmd === 'call' && typeof c.method === 'string') {
        // Not awaited: a pin may wait minutes for a Remus restart while other calls go on.
        const cid = id;
        const timeout = typeof c.timeoutMs === 'number' ? c.timeoutMs : 30_000;
        agent.peer.call(c.method as MethodName, c.params as never, timeout).then(
          (result) => emit({ ev: 'result', id: cid, ok: true, result }),
          (e: Error) => emit({ ev: 'result', id: cid, ok: false, error: e.message }),
        );
      } else if (c.cmd === 'mark') {
        emit({ ev: 'result', id, ok: true, result: { wall: Date.now() } });
      } else if (c.cmd === 'close') {
        emit({ ev: 'result', id, ok: true });
        break;
      } else {
        throw new Error(`unknown command ${raw.slice(0, 200)}`);
      }
    } catch (e) {
      emit({ ev: 'result', id, ok: false, error: (e as Error).message });
    }
  }
  await new Promise((r) => setTimeout(r, 300)); // the last log lines
  stopXl();
  stopAgent();
  agent.close();
  rl.close();
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    emit({ ev: 'fatal', error: e.message });
    process.exit(1);
  },
);
