// Runs INSIDE the nested Xen dom0 (bundled by test/xen/payload.ts, started
// over ssh by the lane test). It drives Hefery's own xen-remus backend
// (host-agent/src/backends/xen-remus.ts, unchanged) against the real `xl`, and
// reports on stdout, one JSON object per line:
//   {"ev":"ready"}                                   backend constructed
//   {"ev":"xl","t":MS,"line":"..."}                  a line xl wrote to its log (arrival time)
//   {"ev":"restart","t":MS,...RemusRestart}          the backend's own restart report
//   {"ev":"fault","t":MS,"error":"..."|null}         the backend's supervision
//   {"ev":"log","t":MS,"line":"..."}                 the backend's log lines
//   {"ev":"ack","id":N,"t":MS}                       a command arrived (marks phase boundaries)
//   {"ev":"result","id":N,"ok":true,"result":{...}}  reply to a command
//   {"ev":"result","id":N,"ok":false,"error":"..."}
// t is milliseconds on this process's monotonic clock (dom0's wall clock is not
// trusted under nested emulation), so the host compares times of one stream only.
//
// Commands on stdin, one JSON object per line:
//   {"id":1,"cmd":"set","intervalMs":200}   backend.setInterval(domain, 200)
//   {"id":2,"cmd":"stop"}                   backend.stop(domain) (fence, xl exits)
//   {"id":3,"cmd":"mark"}                   only acknowledged (a time mark)
//   {"id":4,"cmd":"close","leaveRunning":false}  backend.close(...), then exit
//
// argv[2]: JSON {"domain": "...", "backend": <the agent config's backend section>}.

import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseBackendConfig } from '../../../host-agent/src/backends/config';
import { XenRemusBackend } from '../../../host-agent/src/backends/xen-remus';
import { createLogger } from '../../../host-agent/src/log';
import { tailFile } from './tail';

const t0 = performance.now();
const t = () => Math.round(performance.now() - t0);
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

interface DriverArgs {
  domain: string;
  backend: unknown;
}

function parseArgs(raw: string | undefined): DriverArgs {
  if (!raw) throw new Error('usage: remus-driver.js \'{"domain":"...","backend":{...}}\'');
  const v = JSON.parse(raw) as Partial<DriverArgs>;
  if (typeof v.domain !== 'string') throw new Error('remus-driver: "domain" must be a string');
  return { domain: v.domain, backend: v.backend };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv[2]);
  const cfg = parseBackendConfig(args.backend, { libvirtUri: '' });
  if (cfg.type !== 'xen-remus') throw new Error(`remus-driver: backend.type must be xen-remus, got ${cfg.type}`);
  const log = createLogger({ level: 'debug', write: (line) => emit({ ev: 'log', t: t(), line }) });
  const remus = new XenRemusBackend(cfg, log);
  remus.onRestart((r) => emit({ ev: 'restart', t: t(), ...r }));
  remus.onFault((f) => emit({ ev: 'fault', t: t(), error: f.error ? f.error.message : null }));
  const stopTail = tailFile(join(cfg.stateDir, `${args.domain}.log`), (line) => emit({ ev: 'xl', t: t(), line }));
  emit({ ev: 'ready', t: t(), argv: remus.argv(args.domain, 200) });

  const rl = createInterface({ input: process.stdin });
  for await (const raw of rl) {
    if (!raw.trim()) continue;
    let id: unknown = null;
    try {
      const c = JSON.parse(raw) as { id?: unknown; cmd?: unknown; intervalMs?: unknown; leaveRunning?: unknown };
      id = c.id ?? null;
      emit({ ev: 'ack', id, t: t() });
      if (c.cmd === 'set' && typeof c.intervalMs === 'number') {
        // Not awaited: a newer request may supersede a waiting one (the backend's rate limit).
        const cid = id;
        remus.setInterval(args.domain, c.intervalMs).then(
          (result) => emit({ ev: 'result', id: cid, t: t(), ok: true, result }),
          (e: Error) => emit({ ev: 'result', id: cid, t: t(), ok: false, error: e.message }),
        );
      } else if (c.cmd === 'mark') {
        emit({ ev: 'result', id, t: t(), ok: true });
      } else if (c.cmd === 'stop') {
        await remus.stop(args.domain);
        emit({ ev: 'result', id, t: t(), ok: true });
      } else if (c.cmd === 'close') {
        await remus.close({ leaveRunning: c.leaveRunning !== false });
        emit({ ev: 'result', id, t: t(), ok: true });
        break;
      } else {
        throw new Error(`unknown command ${raw.slice(0, 200)}`);
      }
    } catch (e) {
      emit({ ev: 'result', id, t: t(), ok: false, error: (e as Error).message });
    }
  }
  // Let the last xl lines arrive, then stop.
  await new Promise((r) => setTimeout(r, 300));
  stopTail();
  rl.close();
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    emit({ ev: 'fatal', t: t(), error: e.message });
    process.exit(1);
  },
);
