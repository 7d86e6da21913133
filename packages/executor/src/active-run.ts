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
 * another run's overrun (`collateral`), or the executor shutting down.
 */
export type KillReason = "cpu" | "wall" | "memory" | "collateral" | "shutdown";

/** One run in flight, as the watchdog and the executor see it. */
export class ActiveRun {
  /** Settles with the reason when the run is ended early; never otherwise. */
  readonly killed: Promise<KillReason>;
  reason: KillReason | null = null;
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
    const now = this.app.cpuTime();
    if (now !== null) this.cpuNs = now - this.cpuStart;
    return this.cpuNs;
  }

  get cpuMs(): number {
    return Number(this.cpuNs) / 1e6;
  }

  /** The limit this run is over now, if any. */
  overrun(now: number): "cpu" | "wall" | null {
    if (this.sampleCpu() > BigInt(this.limits.cpuMs) * 1_000_000n) return "cpu";
    if (now - this.startedAt > this.limits.wallMs) return "wall";
    return null;
  }

  /** Ends the run early; the first reason given sticks. */
  kill(reason: KillReason): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.resolveKilled(reason);
  }
}
