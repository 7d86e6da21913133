/**
 * The host side of a run's timers (`setTimeout`, `setInterval`,
 * `AbortSignal.timeout` inside the isolate, see runtime/timers.ts): each is a
 * host timer owned by the run. When the run ends every one is cleared and
 * answered "run finished", so no callback outlives its run; a run waiting
 * only on a timer still ends at its wall-clock limit (the watchdog's).
 */
import type { HostReply } from "./run-session.ts";

/** Timers one run may have waiting at once; far above real use, it bounds the host's memory. */
export const MAX_TIMERS_PER_RUN = 10_000;

const FIRED: HostReply = "onull";

interface Waiting {
  handle: ReturnType<typeof setTimeout>;
  answer: (reply: HostReply) => void;
}

/** One run's timers; see the file comment. */
export class RunTimers {
  private readonly waiting = new Map<number, Waiting>();
  private finished = false;

  constructor(
    /** What a timer asked for after the run ended, or beyond the cap, is answered. */
    private readonly refused: (code: string, message: string) => HostReply,
    private readonly finishedReply: HostReply,
  ) {}

  /** Starts a timer from the isolate's `"[id,ms]"`; settles when it fires or the run ends. */
  start(arg: unknown): Promise<HostReply> {
    if (this.finished) return Promise.resolve(this.finishedReply);
    let parsed: unknown;
    try {
      parsed = typeof arg === "string" ? JSON.parse(arg) : null;
    } catch {
      parsed = null;
    }
    const [id, ms] = Array.isArray(parsed) ? (parsed as unknown[]) : [];
    if (typeof id !== "number" || !Number.isSafeInteger(id) || typeof ms !== "number" || !(ms >= 0)) {
      return Promise.resolve(this.refused("invalid_argument", "a timer needs an id and a delay"));
    }
    if (this.waiting.size >= MAX_TIMERS_PER_RUN) {
      return Promise.resolve(this.refused("too_many_timers", `a run may have at most ${MAX_TIMERS_PER_RUN} timers waiting`));
    }
    this.clear(id);
    return new Promise((resolve) => {
      // Node caps a delay at 2^31-1 ms; the watchdog ends the run long before.
      const handle = setTimeout(() => {
        this.waiting.delete(id);
        resolve(FIRED);
      }, Math.min(ms, 2_147_483_647));
      this.waiting.set(id, { handle, answer: resolve });
    });
  }

  /** Clears a timer the script cleared; its callback was dropped inside the isolate already. */
  clear(id: unknown): void {
    const key = Number(id);
    const timer = this.waiting.get(key);
    if (!timer) return;
    clearTimeout(timer.handle);
    this.waiting.delete(key);
    timer.answer(this.finishedReply);
  }

  get size(): number {
    return this.waiting.size;
  }

  /** The run ended: every timer is cleared and answered, none can start. */
  finish(): void {
    this.finished = true;
    for (const id of [...this.waiting.keys()]) this.clear(id);
  }
}
