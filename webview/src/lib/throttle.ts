// Coalesces bursts of updates into at most one render per interval: a
// backfill of thousands of points or a fast training job redraws the chart a
// few times a second, not once per message.

export interface Timer {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

export const realTimer: Timer = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

/** Returns `schedule()`: runs `fn` now if it has not run for `ms`, else once when `ms` has passed. */
export function throttle(fn: () => void, ms: number, timer: Timer = realTimer): { schedule(): void; cancel(): void; flush(): void } {
  let last = -Infinity;
  let pending: unknown;
  const run = () => {
    pending = undefined;
    last = timer.now();
    fn();
  };
  return {
    schedule() {
      if (pending !== undefined) return;
      const wait = last + ms - timer.now();
      if (wait <= 0) run();
      else pending = timer.set(run, wait);
    },
    cancel() {
      if (pending !== undefined) timer.clear(pending);
      pending = undefined;
    },
    flush() {
      if (pending !== undefined) {
        timer.clear(pending);
        run();
      }
    },
  };
}
