/**
 * `performance.now()` and `performance.timeOrigin`, INSIDE the isolate. Like
 * workerd's, the clock is the wall clock at millisecond grain (no host call,
 * no high-resolution timer to measure side channels with), never going back.
 */

let origin = Date.now();
let last = 0;

/** Starts the clock again from now (index.ts `beginRun`, at a context's first run). */
export function restartClock(): void {
  origin = Date.now();
  last = 0;
}

let constructing = false;

/** The `performance` global's class. */
export class Performance {
  constructor() {
    if (!constructing) throw new TypeError("Illegal constructor");
  }
  get timeOrigin(): number {
    return origin;
  }
  /** Milliseconds since the clock started: the context's first run, or the first use within it. */
  now(): number {
    const now = Date.now() - origin;
    if (now > last) last = now;
    return last;
  }
  toJSON(): { timeOrigin: number } {
    return { timeOrigin: origin };
  }
}

export function createPerformance(): Performance {
  constructing = true;
  try {
    return new Performance();
  } finally {
    constructing = false;
  }
}
