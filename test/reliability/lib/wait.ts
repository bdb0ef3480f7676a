// Waiting in the reliability tests: probes may be asynchronous (virsh, RPC
// calls, the store), and a timeout says what was awaited plus the context
// the caller gives (usually the agent's log tail).

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` every 100 ms until it yields a value other than undefined. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 30_000, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const ctx = context();
      throw new Error(`timed out after ${ms} ms waiting for ${what}${ctx ? `\n${ctx}` : ''}`);
    }
    await sleep(100);
  }
}

/** waitFor for a condition. */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000, context?: () => string): Promise<void> {
  await waitFor(what, async () => ((await cond()) ? true : undefined), ms, context);
}
