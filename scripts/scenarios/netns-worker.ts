// Runs inside the test network namespace, started by netns-client.ts as
//   ip netns exec NS node --import tsx scripts/scenarios/netns-worker.ts
// It is the runner's only way to the guest's network (the namespace is the
// only place that reaches it): health probes, workload requests, fault
// triggers and the HTTP flood. One process for the whole run, instead of one
// `ip netns exec` per request. JSON lines on stdin, one reply line per request:
//   {"id":1,"op":"get","url":"http://10.213.0.2/cgi-bin/ok","timeoutMs":3000}
//     -> {"id":1,"ok":true,"status":200,"ms":41,"bytes":3,"body":"ok\n"}  (or "ok":false,"error":...)
//   {"id":2,"op":"flood","url":"http://10.213.0.2/","conc":4,"factor":2,"stepS":10,"maxConc":512,"timeoutMs":10000}
//     -> {"id":2,"ok":true}
//   {"id":3,"op":"stopFlood"} -> {"id":3,"ok":true,"sent":12345,"failed":678,"conc":256}
// It exits when stdin closes, so it never outlives the runner.

import { get } from 'node:http';
import { createInterface } from 'node:readline';

interface GetRequest { id: number; op: 'get'; url: string; timeoutMs: number }
interface FloodRequest { id: number; op: 'flood'; url: string; conc: number; factor: number; stepS: number; maxConc: number; timeoutMs: number }
interface StopFloodRequest { id: number; op: 'stopFlood' }
type Request = GetRequest | FloodRequest | StopFloodRequest;

const BODY_KEPT = 4096; // bytes of a reply body sent back (the rest is only counted)

function reply(msg: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

function doGet(r: GetRequest): void {
  const t0 = performance.now();
  let done = false;
  const finish = (msg: Record<string, unknown>) => {
    if (done) return;
    done = true;
    reply({ id: r.id, ms: Math.round(performance.now() - t0), ...msg });
  };
  const req = get(r.url, { agent: false, timeout: r.timeoutMs }, (res) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    res.on('data', (c: Buffer) => {
      if (bytes < BODY_KEPT) chunks.push(c);
      bytes += c.length;
    });
    res.on('end', () => finish({ ok: true, status: res.statusCode ?? 0, bytes, body: Buffer.concat(chunks).subarray(0, BODY_KEPT).toString('utf8') }));
    res.on('error', (e) => finish({ ok: false, error: e.message }));
  });
  // The socket timeout only covers idle time; the overall deadline is ours.
  const timer = setTimeout(() => req.destroy(new Error(`timeout after ${r.timeoutMs} ms`)), r.timeoutMs);
  req.on('timeout', () => req.destroy(new Error(`timeout after ${r.timeoutMs} ms`)));
  req.on('error', (e) => finish({ ok: false, error: e.message }));
  req.on('close', () => clearTimeout(timer));
}

/**
 * An HTTP flood, as from a botnet: `conc` requests kept in flight, each on a
 * new connection, the concurrency multiplied by `factor` every `stepS` (at
 * most `maxConc`). Replies are read and dropped.
 */
class Flood {
  private timer: NodeJS.Timeout | null = null;
  private inflight = 0;
  private target = 0;
  private running = false;
  sent = 0;
  failed = 0;

  start(r: FloodRequest): void {
    this.stop();
    this.running = true;
    const t0 = performance.now();
    const fire = () => {
      this.inflight++;
      this.sent++;
      let finished = false;
      const done = (failed: boolean) => {
        if (finished) return;
        finished = true;
        if (failed) this.failed++;
        this.inflight--;
        if (this.running) this.topUp(fire);
      };
      const req = get(r.url, { agent: false, timeout: r.timeoutMs }, (res) => {
        res.on('end', () => done(false));
        res.on('error', () => done(true));
        res.resume();
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => done(true));
    };
    const tick = () => {
      this.target = Math.min(r.maxConc, Math.round(r.conc * r.factor ** Math.floor((performance.now() - t0) / (r.stepS * 1000))));
      this.topUp(fire);
    };
    tick();
    this.timer = setInterval(tick, 200);
  }

  private topUp(fire: () => void): void {
    while (this.inflight < this.target) fire();
  }

  get concurrency(): number {
    return this.target;
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

const flood = new Flood();

function handle(line: string): void {
  let r: Request;
  try {
    r = JSON.parse(line) as Request;
  } catch {
    reply({ id: -1, ok: false, error: `not JSON: ${line.slice(0, 100)}` });
    return;
  }
  try {
    if (r.op === 'get') doGet(r);
    else if (r.op === 'flood') {
      flood.start(r);
      reply({ id: r.id, ok: true });
    } else if (r.op === 'stopFlood') {
      flood.stop();
      reply({ id: r.id, ok: true, sent: flood.sent, failed: flood.failed, conc: flood.concurrency });
    } else reply({ id: (r as { id?: number }).id ?? -1, ok: false, error: `unknown op ${JSON.stringify((r as { op?: unknown }).op)}` });
  } catch (e) {
    reply({ id: r.id, ok: false, error: (e as Error).message });
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', handle);
rl.on('close', () => {
  flood.stop();
  process.exit(0);
});
reply({ id: 0, ok: true, ready: true });
