/**
 * Work the isolate pool does between runs rather than in one: disposing an
 * isolate nobody uses (0.2–0.6 ms of V8 work), making a spare isolate
 * (~1.5 ms), taking a warm code cache. Two hops of `setImmediate`: the
 * executor thread sends a turn's outcomes from a `setImmediate` scheduled in
 * that turn (threads/thread-main.ts), so the work runs after they are on
 * their way, not before.
 */
import type ivm from "isolated-vm";

/** Runs `work` after the outcomes of this turn have been sent; see the file comment. */
export function later(work: () => void): void {
  setImmediate(() => setImmediate(work));
}

// Isolates waiting to be disposed hold their memory meanwhile. A caller
// that awaits run after run without the event loop turning (all in
// microtasks: runs that never wait for the host) would pile them up.
const MOST_WAITING_DISPOSAL = 4;
const waiting: ivm.Isolate[] = [];

/** Disposes `isolate` later (see `later`), or now when a few already wait. */
export function disposeLater(isolate: ivm.Isolate): void {
  waiting.push(isolate);
  if (waiting.length > MOST_WAITING_DISPOSAL) disposeNow(waiting.shift() as ivm.Isolate);
  later(() => {
    const next = waiting.shift();
    if (next) disposeNow(next);
  });
}

/**
 * Disposes now every isolate still waiting for its turn: an executor that
 * closes leaves none behind for a thread that may be ended before the
 * event loop turns again.
 */
export function disposeWaiting(): void {
  for (const isolate of waiting.splice(0)) disposeNow(isolate);
}

/** Disposes `isolate` now, unless it is gone already. */
export function disposeNow(isolate: ivm.Isolate): void {
  if (isolate.isDisposed) return;
  try {
    isolate.dispose();
  } catch {
    // isolated-vm disposed it between the check and the call (memory limit).
  }
}

/**
 * Settles once `work` has (at once when there is none), or after `waitMs`
 * at most; never rejects. Whoever waits for work it may not wait on forever
 * (a thread's warm-ups before it is terminated) waits with this.
 */
export function settledWithin(work: Promise<unknown> | null, waitMs: number): Promise<void> {
  if (work === null) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
  return Promise.race([work.then(() => {}, () => {}), late]).finally(() => clearTimeout(timer));
}
