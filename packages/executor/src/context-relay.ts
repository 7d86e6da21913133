/**
 * Hands a script version's context from a run that has answered to the next
 * run of the version, instead of that run making a context of its own.
 *
 * The runs an executor thread gets in one hand-off all start before the
 * first has finished: each finds no idle context and makes one (0.5–1 ms of
 * V8 work, against ~0.1 ms for a warm run), and all but a few are thrown
 * away at the end (measured: ~7.5 contexts made per app draining 20 runs of
 * each of 1,000 apps, 8 in flight; 27% of the executor threads' time). A run
 * that answered within its entry needs its context only for its bookkeeping
 * (microtasks), so a run finding no idle context waits for one that is on
 * its way back. It never waits behind I/O: when the context it would get
 * goes to a run that then waits on the host, every run still waiting makes
 * its own, as before.
 */
export class ContextRelay<C> {
  /** Contexts whose run has answered, or handed to a waiting run that has not entered yet. */
  private readonly returning = new Set<C>();
  /** Runs waiting for a context, oldest first. */
  private waiting: Array<(context: C | null) => void> = [];

  /** Whether a run that finds no idle context should wait for one instead of making one. */
  get comingBack(): boolean {
    return this.returning.size > 0;
  }

  /**
   * Waits for a context coming back: resolves with it, or with null when
   * none is coming any more (make one). A run waits before it starts, out
   * of the isolate: the entries of the runs ahead of it are not its own.
   */
  wait(): Promise<C | null> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The run in `context` answered: the context comes back once the run's bookkeeping is done. */
  answered(context: C): void {
    this.returning.add(context);
  }

  /** The run in `context` was entered; `answered`: its handler answered within the entry (else it waits on the host, and the context is busy). */
  entered(context: C, answered: boolean): void {
    if (!answered && this.returning.delete(context)) this.wakeIfNoneComing();
  }

  /** `context` is back and may serve again: true when a waiting run took it, false when none did (keep it idle). */
  handOver(context: C): boolean {
    this.returning.delete(context);
    const next = this.waiting.shift();
    if (!next) return false;
    // Still coming back until the run that takes it enters it (a few microtasks on).
    this.returning.add(context);
    next(context);
    return true;
  }

  /** `context` will not serve again (freed, broken, or not kept). */
  gone(context: C): void {
    if (this.returning.delete(context)) this.wakeIfNoneComing();
  }

  /** Every run waiting makes its own context (the version's slot or the isolate is going). */
  wakeAll(): void {
    this.returning.clear();
    for (const next of this.waiting.splice(0)) next(null);
  }

  private wakeIfNoneComing(): void {
    if (this.returning.size === 0) for (const next of this.waiting.splice(0)) next(null);
  }
}
