/**
 * One run's `crypto.subtle` calls on the host. node:crypto cannot stop a
 * job once it is on libuv's threadpool, so a run has at most a few running
 * at once (SUBTLE_LIMITS.maxInFlightPerRun); the next wait their turn, in
 * order, up to a bounded queue (a script's `Promise.all` over a list of
 * signatures keeps working), and past it are refused with a
 * QuotaExceededError. When the run ends, calls still waiting are never
 * started: only those already running outlive it, each bounded by the
 * per-call limits.
 *
 * @example
 * const subtle = new RunSubtle(ctx.app.id);
 * const answer = await subtle.perform(arg);
 * subtle.finish(); // the run ended
 */
import { performSubtle, type SubtleAnswer } from "./host-subtle.ts";
import { SUBTLE_LIMITS } from "./subtle-limits.ts";

interface Waiting {
  arg: string;
  resolve: (answer: Promise<SubtleAnswer> | SubtleAnswer) => void;
}

const L = SUBTLE_LIMITS;
const BUSY: SubtleAnswer = {
  ok: false,
  name: "QuotaExceededError",
  message: `crypto.subtle: a run has at most ${L.maxInFlightPerRun} operations running and ${L.maxWaitingPerRun} (or ${L.maxWaitingCharsPerRun} characters of arguments) waiting; await some before starting more`,
};
const ENDED: SubtleAnswer = { ok: false, name: "AbortError", message: "crypto.subtle: the run ended before the operation started" };

export class RunSubtle {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  private waitingChars = 0;
  private finished = false;

  /** `scope`: the app whose keys these calls make and open (host-subtle.ts). */
  constructor(private readonly scope: string) {}

  /** Performs the call now, or when its turn comes; never rejects. */
  perform(arg: unknown): Promise<SubtleAnswer> {
    if (this.finished) return Promise.resolve(ENDED);
    if (this.running < L.maxInFlightPerRun) return this.start(arg);
    const text = typeof arg === "string" ? arg : "";
    if (this.waiting.length >= L.maxWaitingPerRun || this.waitingChars + text.length > L.maxWaitingCharsPerRun) return Promise.resolve(BUSY);
    this.waitingChars += text.length;
    return new Promise((resolve) => this.waiting.push({ arg: text, resolve }));
  }

  /** The run ended: calls still waiting are answered without being started. */
  finish(): void {
    this.finished = true;
    for (const waiting of this.waiting.splice(0)) waiting.resolve(ENDED);
    this.waitingChars = 0;
  }

  /** How many calls are running now (for tests and metrics). */
  get inFlight(): number {
    return this.running;
  }

  private async start(arg: unknown): Promise<SubtleAnswer> {
    this.running++;
    try {
      return await performSubtle(arg, this.scope);
    } finally {
      this.running--;
      this.next();
    }
  }

  private next(): void {
    const waiting = this.finished ? undefined : this.waiting.shift();
    if (!waiting) return;
    this.waitingChars -= waiting.arg.length;
    waiting.resolve(this.start(waiting.arg));
  }
}
