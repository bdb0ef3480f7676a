// The runner's side of netns-worker.ts: one worker process inside the test
// network namespace, requests and replies matched by id.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../../test/fixtures/libvirt';

export interface GetResult {
  ok: boolean;
  status?: number;
  ms: number;
  bytes?: number;
  body?: string;
  error?: string;
}

export interface FloodSpec {
  url: string;
  conc: number;
  factor: number;
  stepS: number;
  maxConc: number;
  timeoutMs: number;
}

type Reply = Record<string, unknown> & { id: number };

const WORKER = join(REPO_ROOT, 'scripts', 'scenarios', 'netns-worker.ts');

export class NetnsWorker {
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private stderr = '';
  private exited: Promise<void>;
  private closed = false;

  private constructor(private readonly child: ChildProcess, readonly ns: string) {
    this.exited = new Promise((res) => child.once('exit', () => res()));
    child.stderr?.on('data', (c) => (this.stderr = (this.stderr + c).slice(-4000)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: Reply;
      try {
        msg = JSON.parse(line) as Reply;
      } catch {
        return;
      }
      const cb = this.pending.get(msg.id);
      if (cb) {
        this.pending.delete(msg.id);
        cb(msg);
      }
    });
    child.once('exit', (code, sig) => {
      for (const cb of this.pending.values()) cb({ id: -1, ok: false, error: `netns worker exited (${code ?? sig}): ${this.stderr.trim()}` });
      this.pending.clear();
    });
  }

  /** Starts the worker in namespace `ns`; resolves once it said it is ready. */
  static async start(ns: string): Promise<NetnsWorker> {
    // The namespace as an (unused) argument: it names the worker in `ps`.
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', WORKER, ns], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const w = new NetnsWorker(child, ns);
    const ready = new Promise<Reply>((res) => w.pending.set(0, res));
    const timeout = new Promise<Reply>((res) => setTimeout(() => res({ id: 0, ok: false, error: 'no ready line within 30 s' }), 30_000).unref());
    const r = await Promise.race([ready, timeout]);
    if (!r.ok) {
      await w.close();
      throw new Error(`netns worker in ${ns} did not start: ${String(r.error)} ${w.stderr.trim()}`);
    }
    return w;
  }

  private request(msg: Record<string, unknown>): Promise<Reply> {
    if (this.closed) return Promise.resolve({ id: -1, ok: false, error: 'netns worker closed' });
    const id = this.nextId++;
    return new Promise((res) => {
      this.pending.set(id, res);
      this.child.stdin!.write(JSON.stringify({ id, ...msg }) + '\n');
    });
  }

  /** GET `url` from inside the namespace; never rejects (a failure is ok: false). */
  async get(url: string, timeoutMs: number): Promise<GetResult> {
    const r = await this.request({ op: 'get', url, timeoutMs });
    const ok = r.ok === true && typeof r.status === 'number' && r.status >= 200 && r.status < 300;
    return {
      ok,
      status: typeof r.status === 'number' ? r.status : undefined,
      ms: typeof r.ms === 'number' ? r.ms : 0,
      bytes: typeof r.bytes === 'number' ? r.bytes : undefined,
      body: typeof r.body === 'string' ? r.body : undefined,
      error: typeof r.error === 'string' ? r.error : ok ? undefined : `HTTP ${String(r.status)}`,
    };
  }

  async flood(spec: FloodSpec): Promise<void> {
    const r = await this.request({ op: 'flood', ...spec });
    if (!r.ok) throw new Error(`flood: ${String(r.error)}`);
  }

  /** Stops the flood: requests sent, failed, and the last concurrency. */
  async stopFlood(): Promise<{ sent: number; failed: number; conc: number }> {
    const r = await this.request({ op: 'stopFlood' });
    return { sent: Number(r.sent ?? 0), failed: Number(r.failed ?? 0), conc: Number(r.conc ?? 0) };
  }

  /** Ends the worker (stdin closed; SIGKILL after 3 s). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    this.child.stdin?.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}
