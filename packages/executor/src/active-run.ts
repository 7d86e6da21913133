/**
 * A run in flight as the limits see it: which isolate it runs in, when it
 * started, how much of the isolate's CPU time it has been charged, and the
 * signal that ends it early.
 */
import type { AppIsolate } from "./app-isolate.ts";
import type { ScriptLimits } from "./types.ts";

/**
 * Why a run was ended before its handler settled: its own CPU or wall-clock
 * limit, its isolate running out of memory, its isolate being disposed for
 * another run's overrun (`collateral`), V8 giving up on its isolate
 * (`crashed`: the thread stopped answering inside it, entry-watch.ts), or
 * the executor shutting down.
 */
export type KillReason = "cpu" | "wall" | "memory" | "collateral" | "crashed" | "shutdown";

/** One run in flight, as the watchdog and the executor see it. */
export class ActiveRun {
  /** Settles with the reason when the run is ended early; never otherwise. */
  readonly killed: Promise<KillReason>;
  reason: KillReason | null = null;
  /** The handler's answer arrived: the run is over as far as limits go, and is charged nothing more. */
  answered = false;
  private resolveKilled: (reason: KillReason) => void = () => {};
  private readonly cpuStart: bigint;
  private cpuNs = 0n;

  constructor(
    readonly app: AppIsolate,
    readonly limits: ScriptLimits,
    /** `performance.now()` at the start. */
    readonly startedAt: number,
  ) {
    this.killed = new Promise((resolve) => {
      this.resolveKilled = resolve;
    });
    this.cpuStart = app.cpuTime() ?? 0n;
  }

  /**
   * CPU time charged so far, in ns: the isolate's CPU time since the run
   * started. An isolate runs one thing at a time, so when runs of one app
   * overlap each is charged the isolate's whole time while it is in flight:
   * conservative, and a run cannot hide its loop behind a sibling.
   */
  sampleCpu(): bigint {
    if (this.answered) return this.cpuNs;
    const now = this.app.cpuTime();
    if (now !== null) this.cpuNs = now - this.cpuStart;
    return this.cpuNs;
  }

  get cpuMs(): number {
    return Number(this.cpuNs) / 1e6;
  }

  /** CPU time left of the run's budget, in ms (negative once over). */
  cpuLeftMs(): number {
    return this.limits.cpuMs - Number(this.sampleCpu()) / 1e6;
  }

  /** Wall-clock time left at `now`, in ms. */
  wallLeftMs(now: number): number {
    return this.limits.wallMs - (now - this.startedAt);
  }

  /** The limit this run is over now, if any. */
  overrun(now: number): "cpu" | "wall" | null {
    if (this.sampleCpu() > BigInt(this.limits.cpuMs) * 1_000_000n) return "cpu";
    if (now - this.startedAt > this.limits.wallMs) return "wall";
    return null;
  }

  /**
   * Marks the answer arrived, in the same synchronous entry: the runs a
   * thread enters next in this isolate neither charge their CPU time to
   * it nor take it down with them.
   */
  answer(): void {
    this.sampleCpu();
    this.answered = true;
    this.app.leave(this);
  }

  /** Ends the run early; the first reason given sticks. A run whose answer arrived is not ended. */
  kill(reason: KillReason): void {
    if (this.reason !== null || this.answered) return;
    this.reason = reason;
    this.resolveKilled(reason);
  }
}
