/**
 * How many events of one app a claim takes per turn of its rotation
 * (claim()'s `quantum`), from how long this worker's runs last.
 *
 * A turn is the batch in which an app's isolate is reused: a cold start
 * (5–10 ms of a thread under load) paid for 8 no-op runs of ~0.2 ms each is
 * most of their cost, and an app whose turn comes round again only after a
 * thousand other apps had theirs has lost its isolate by then. What a long
 * turn costs the other apps is the time its runs hold the worker's slots:
 * about quantum × run time / concurrency. So the turn is as long as fits in
 * TURN_MS of the worker's time, never shorter than BASE_QUANTUM (the fair
 * share before anything is known, and for long runs) nor longer than
 * MAX_QUANTUM: short runs take turns of up to 32, two-second runs keep 8.
 */

/** A turn's length before any run was timed, and its least. */
export const BASE_QUANTUM = 8;

/** The longest turn. */
export const MAX_QUANTUM = 32;

/** The worker time one turn may take (its runs' time over the run slots). */
export const TURN_MS = 50;

/** How much each run's duration moves the mean: about the last 20 runs count. */
const WEIGHT = 0.05;

/** A worker's running mean of its runs' durations, and the turn length it gives. */
export class TurnQuantum {
  private meanMs: number | null = null;

  constructor(private readonly concurrency: number) {}

  /** One run's duration from its start to its outcome, ms. */
  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.meanMs = this.meanMs === null ? ms : this.meanMs + (ms - this.meanMs) * WEIGHT;
  }

  /** The quantum for the next claim. */
  get value(): number {
    if (this.meanMs === null) return BASE_QUANTUM;
    const fits = Math.floor((TURN_MS * this.concurrency) / Math.max(this.meanMs, 0.001));
    return Math.max(BASE_QUANTUM, Math.min(MAX_QUANTUM, fits));
  }
}
