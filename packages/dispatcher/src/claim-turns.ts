/**
 * A worker's claim turns: where its next claim's rotation over apps starts
 * (RotationCursor), and how many events of one app a claim takes per turn
 * (claim()'s `quantum`, TurnQuantum), from how long this worker's runs last.
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
 * A run still going counts with its age so far: one app's long runs in
 * flight keep the turns short even while other apps' short runs finish. The
 * length is a power of two (8, 16, 32): it is written into the claim's
 * statement text, and each text is prepared once per connection.
 */
import type { ResumedTurn } from "@switchyard/core";

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

  /** The quantum for the next claim; `longestRunningMs`: the age of the oldest run still going (0 for none). */
  value(longestRunningMs = 0): number {
    if (this.meanMs === null) return BASE_QUANTUM;
    const runMs = Math.max(this.meanMs, longestRunningMs, 0.001);
    const fits = Math.floor((TURN_MS * this.concurrency) / runMs);
    let quantum = BASE_QUANTUM;
    while (quantum * 2 <= Math.min(MAX_QUANTUM, fits)) quantum *= 2;
    return quantum;
  }
}

/**
 * Where a worker's next claim continues the rotation: after the app its
 * last claim served, and the turn that claim's limit cut short (claim()'s
 * `resume`). A newcomer claim (it excludes the apps this worker holds, for
 * the slot kept for them) neither continues that turn nor moves the cursor:
 * else each one, every few ms while a busy app fills the other slots, would
 * start that app's turn afresh and the rotation would not pass it.
 */
export class RotationCursor {
  private after = "";
  private resume: ResumedTurn | null = null;

  /** What a claim continues from. */
  next(newcomer: boolean): { after: string; resume: ResumedTurn | null } {
    return { after: this.after, resume: newcomer ? null : this.resume };
  }

  /** Takes a claim's answer (claimRound's `after` and `resume`). */
  moved(round: { after: string; resume: ResumedTurn | null }, newcomer: boolean): void {
    if (newcomer) return;
    this.after = round.after;
    this.resume = round.resume;
  }
}
