// Everything a scenario run starts is registered here as it is started and
// undone in reverse order: at the end of the run, on an error, and on Ctrl-C
// (run.ts aborts the run's signal; the run's finally calls run()).

export class Teardown {
  private readonly steps: Array<{ what: string; fn: () => unknown }> = [];
  private running: Promise<void> | null = null;

  /** stepTimeoutMs: a step that takes longer is reported and left behind, so teardown always ends. */
  constructor(private readonly log: (msg: string) => void, private readonly stepTimeoutMs = 90_000) {}

  add(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }

  /** Runs every step once, newest first; a failing or stuck step is logged and the others still run. */
  run(): Promise<void> {
    if (!this.running) {
      this.running = (async () => {
        while (this.steps.length) {
          const s = this.steps.pop()!;
          let timer: NodeJS.Timeout | undefined;
          const stuck = new Promise<'stuck'>((r) => (timer = setTimeout(() => r('stuck'), this.stepTimeoutMs)));
          try {
            const r = await Promise.race([Promise.resolve().then(s.fn), stuck]);
            if (r === 'stuck') this.log(`teardown: ${s.what}: still not done after ${this.stepTimeoutMs / 1000} s, going on`);
          } catch (e) {
            this.log(`teardown: ${s.what}: ${(e as Error).message}`);
          } finally {
            clearTimeout(timer);
          }
        }
      })();
    }
    return this.running;
  }
}

export class Aborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'Aborted';
  }
}

/** Resolves after `ms`, rejects with Aborted as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted());
    const onAbort = () => {
      clearTimeout(t);
      reject(new Aborted());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
