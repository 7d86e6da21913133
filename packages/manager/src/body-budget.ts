import { RetryLaterError, SwitchyardError } from "@switchyard/core";

/** How long a public request's body may take to arrive whole, by default (nginx's client_body_timeout is 60 s between reads; this bounds the whole body). */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 10_000;

/** A public request's body that did not arrive whole within its deadline (408). */
export class BodyTimeoutError extends SwitchyardError {
  override name = "BodyTimeoutError";
  constructor(timeoutMs: number, received: number) {
    super("request_timeout", `the request body did not arrive within ${timeoutMs} ms`, { details: { timeout_ms: timeoutMs, received } });
  }
}

/**
 * The bytes of public-endpoint bodies (inbound email, hooks) this process
 * holds at once, and how long a request may take to send its body. Each
 * request leases bytes as they arrive (never what a Content-Length merely
 * promises) and gives all back when it is answered; a body that would pass
 * the budget is refused with 503 and `Retry-After`, so a flood of large
 * posts costs bounded memory whatever each trigger's own cap is. A client
 * that declares a large body and trickles it holds only what it has sent,
 * and only until its deadline (408), so a few slow clients cannot pin the
 * budget and turn everyone else away.
 *
 * @example
 * const budget = new BodyBudget(64 * 1024 * 1024);
 * const lease = budget.lease();
 * try { const body = await readCappedBody(c, cap, lease); ... } finally { lease.release(); }
 */
export class BodyBudget {
  private held = 0;

  constructor(
    readonly maxBytes: number,
    readonly readTimeoutMs = DEFAULT_BODY_READ_TIMEOUT_MS,
  ) {}

  /** Bytes held by requests in flight. */
  get inFlight(): number {
    return this.held;
  }

  /** One request's share, its deadline counted from now (call it as the request starts). */
  lease(): BodyLease {
    let taken = 0;
    const deadline = performance.now() + this.readTimeoutMs;
    return {
      take: (bytes) => {
        if (this.held + bytes > this.maxBytes) return false;
        this.held += bytes;
        taken += bytes;
        return true;
      },
      release: () => {
        this.held -= taken;
        taken = 0;
      },
      remainingMs: () => Math.max(0, deadline - performance.now()),
      refusal: () => new RetryLaterError("overloaded", "too many inbound bodies are being received; retry shortly", 1),
      timeout: (received) => new BodyTimeoutError(this.readTimeoutMs, received),
    };
  }
}

/** One request's share of the budget. */
export interface BodyLease {
  /** Takes `bytes` more; false (and nothing taken) when the budget cannot spare them. */
  take(bytes: number): boolean;
  /** Gives back everything this lease took; call once the request is answered. */
  release(): void;
  /** How long the body may still take to arrive. */
  remainingMs(): number;
  /** The error for a body the budget could not take. */
  refusal(): RetryLaterError;
  /** The error for a body still incomplete at the deadline, `received` bytes in. */
  timeout(received: number): BodyTimeoutError;
}
