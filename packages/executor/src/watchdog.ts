/**
 * Enforces CPU and wall-clock limits from the host. isolated-vm's own
 * `timeout` covers only synchronous execution: it misses a microtask loop
 * spread over many awaits and a run awaiting a host call that never settles.
 * So a timer samples every running isolate's `cpuTime` and each run's age,
 * and an overrun disposes the isolate — the one thing that stops any of them.
 */
import type { ActiveRun } from "./active-run.ts";
import type { AppIsolate } from "./app-isolate.ts";

/** Checks every watched run each `intervalMs`; see the file comment. */
export class Watchdog {
  private readonly runs = new Set<ActiveRun>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly intervalMs: number) {}

  /** Starts watching `run`; the timer runs only while some run is watched. */
  add(run: ActiveRun): void {
    this.runs.add(run);
    this.timer ??= setInterval(() => this.tick(), this.intervalMs);
  }

  // The timer is stopped by the next tick that finds nothing to watch, not
  // here: back-to-back runs would otherwise create and clear one per run.
  delete(run: ActiveRun): void {
    this.runs.delete(run);
  }

  /** Stops the timer now (executor shutdown). */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  get watching(): number {
    return this.runs.size;
  }

  /** One check of every watched run; public so tests and shutdown can force one. */
  tick(now = performance.now()): void {
    if (this.runs.size === 0) {
      this.stop();
      return;
    }
    const byApp = new Map<AppIsolate, ActiveRun[]>();
    for (const run of this.runs) {
      const list = byApp.get(run.app);
      if (list) list.push(run);
      else byApp.set(run.app, [run]);
    }
    for (const [app, runs] of byApp) {
      if (app.disposeReason !== null) continue;
      // isolated-vm disposes an isolate by itself only at its memory limit.
      if (app.isolate.isDisposed) {
        app.dispose("memory");
        continue;
      }
      let overrun = false;
      for (const run of runs) {
        const limit = run.overrun(now);
        if (limit === null) continue;
        run.kill(limit);
        overrun = true;
      }
      // The other runs of the app go with it (`collateral`): a context cannot
      // be stopped alone, and the app's own code is what overran.
      if (overrun) app.dispose("timeout");
    }
  }
}
