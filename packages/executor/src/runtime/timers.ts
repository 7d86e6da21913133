/**
 * `setTimeout`, `setInterval`, their `clear*`, and `queueMicrotask`, INSIDE
 * the isolate. The waiting is done on the host (a timer of the run, see
 * run-timers.ts): it counts against the run's wall clock, and the host drops
 * every timer of a run when the run ends. A timer's callback stays here; the
 * host only answers "now" (or "the run is over", and the callback never runs).
 * `beginRun` forgets timers left by an earlier run of a reused context.
 */
import { host } from "./bridge.ts";

interface Timer {
  callback: (...args: unknown[]) => unknown;
  args: unknown[];
  delay: number;
  repeat: boolean;
}

const timers = new Map<number, Timer>();
// Ids keep counting across runs, so an answer for an earlier run's timer
// never matches a later one.
let nextId = 1;

/** Forgets every timer: called when a run starts in this context. */
export function beginRun(): void {
  timers.clear();
}

function report(error: unknown): void {
  try {
    (globalThis as { console?: { error?: (...args: unknown[]) => void } }).console?.error?.("Uncaught (in timer)", error);
  } catch {
    // Nothing left to report to.
  }
}

function schedule(id: number, delay: number): void {
  host()
    .call("timer", "[" + id + "," + delay + "]")
    .then(
      (reply) => {
        const timer = timers.get(id);
        if (!timer || reply[0] !== "o") {
          timers.delete(id);
          return;
        }
        if (!timer.repeat) timers.delete(id);
        try {
          timer.callback(...timer.args);
        } catch (error) {
          report(error);
        }
        if (timer.repeat && timers.get(id) === timer) schedule(id, timer.delay);
      },
      () => timers.delete(id),
    );
}

function add(callback: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
  if (typeof callback !== "function") throw new TypeError((repeat ? "setInterval" : "setTimeout") + ": the callback must be a function");
  const n = Number(ms);
  const delay = Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), 2_147_483_647) : 0;
  const id = nextId++;
  timers.set(id, { callback: callback as Timer["callback"], args, delay, repeat });
  schedule(id, delay);
  return id;
}

function clear(id: unknown): void {
  const n = Number(id);
  if (!timers.delete(n)) return;
  host().notify("timer.clear", String(n));
}

/** Calls `callback(...args)` once after `ms` milliseconds; answers an id for `clearTimeout`. */
export function setTimeout(callback: unknown, ms?: unknown, ...args: unknown[]): number {
  return add(callback, ms, args, false);
}

/** Calls `callback(...args)` every `ms` milliseconds until `clearInterval`. */
export function setInterval(callback: unknown, ms?: unknown, ...args: unknown[]): number {
  return add(callback, ms, args, true);
}

export function clearTimeout(id?: unknown): void {
  clear(id);
}

export function clearInterval(id?: unknown): void {
  clear(id);
}

/** Runs `callback` as a microtask. */
export function queueMicrotask(callback: unknown): void {
  if (typeof callback !== "function") throw new TypeError("queueMicrotask: the callback must be a function");
  void Promise.resolve().then(() => {
    try {
      (callback as () => unknown)();
    } catch (error) {
      report(error);
    }
  });
}
