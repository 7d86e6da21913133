/**
 * Starts an isolate's runs in bursts. A host call that finds the isolate
 * asleep wakes one of isolated-vm's pool threads, and on a small machine the
 * kernel runs the woken thread on the caller's CPU: the host is preempted,
 * the isolate runs one handler and sleeps again, once per run. So the runs
 * started in one turn of the event loop are gathered and sent in ONE call to
 * a launcher, a function in a context of its own in the app's isolate (no
 * tenant code ever runs there), which queues each run's entry as a task of
 * the same isolate; the isolate, awake already, takes them in order in the
 * same wake-up. A lone run goes straight to its entry. The launcher's
 * context costs ~280 KiB of the app's isolate heap (its memory limit pays for
 * it, as for any context); it is made when two runs first start together.
 *
 * Measured (bench/tmp A/B, not kept): 8 runs in flight on a 2-core VM,
 * 27 µs of CPU per run against 34, and a quarter of the context switches;
 * in bench/dispatcher's drain ~15 µs less CPU per job.
 */
import type ivm from "isolated-vm";
import { releaseQuietly } from "./handles.ts";

// Strict and alone in its context; it never calls an entry itself: each runs
// as its own task, so no launcher frame is on a stack a handler can inspect,
// and one entry that cannot be queued does not keep the others from starting.
const LAUNCHER_SOURCE = `(function launch(n) {
  "use strict";
  for (let i = 0; i < n; i++) {
    try {
      arguments[1 + i].applyIgnored(undefined, [undefined, arguments[1 + n + i], undefined]);
    } catch {}
  }
})`;

interface Launch {
  entry: ivm.Reference<unknown>;
  payload: string;
  /** Told when the isolate refused the call (it is gone). */
  fail: (error: unknown) => void;
}

/** One isolate's run starts, gathered per event-loop turn; see the file comment. */
export class Launcher {
  private pending: Launch[] = [];
  private launcher: ivm.Reference<unknown> | null = null;
  private context: ivm.Context | null = null;
  private released = false;

  constructor(
    private readonly isolate: ivm.Isolate,
    /** Told how many runs went in each call that started more than one. */
    private readonly onBatch: (runs: number) => void,
  ) {}

  /**
   * Starts a run of a context whose bootstrap is installed (its first run
   * goes straight to its entry, carrying the port) later in this turn of the
   * event loop. `fail` hears of an isolate that refused the call.
   */
  launch(entry: ivm.Reference<unknown>, payload: string, fail: (error: unknown) => void): void {
    this.pending.push({ entry, payload, fail });
    if (this.pending.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    try {
      if (this.released) throw new Error("executor: the isolate was disposed before the run started");
      if (batch.length === 1) {
        const only = batch[0] as Launch;
        only.entry.applyIgnored(undefined, [undefined, only.payload, undefined]);
        return;
      }
      this.launcher ??= this.create();
      this.launcher.applyIgnored(undefined, [batch.length, ...batch.map((l) => l.entry), ...batch.map((l) => l.payload)]);
      this.onBatch(batch.length);
    } catch (error) {
      for (const l of batch) l.fail(error);
    }
  }

  private create(): ivm.Reference<unknown> {
    const context = this.isolate.createContextSync();
    this.context = context;
    const script = this.isolate.compileScriptSync(LAUNCHER_SOURCE);
    try {
      return script.runSync(context, { reference: true }) as ivm.Reference<unknown>;
    } finally {
      script.release();
    }
  }

  /** Frees the launcher's context; runs not yet sent fail. Safe on a disposed isolate. */
  release(): void {
    this.released = true;
    releaseQuietly(this.launcher, this.context);
    this.launcher = null;
    this.context = null;
  }
}
