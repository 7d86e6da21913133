import { RetryLaterError } from "@switchyard/core";

/**
 * The bytes of public-endpoint bodies (inbound email, hooks) this process
 * holds at once. Each request leases from it as it reads and gives all back
 * when it is answered; a body that would pass the budget is refused with 503
 * and `Retry-After`, so a flood of large posts costs bounded memory whatever
 * each trigger's own cap is.
 *
 * @example
 * const budget = new BodyBudget(64 * 1024 * 1024);
 * const lease = budget.lease();
 * try { const body = await readCappedBody(c, cap, lease); ... } finally { lease.release(); }
 */
export class BodyBudget {
  private held = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held by requests in flight. */
  get inFlight(): number {
    return this.held;
  }

  lease(): BodyLease {
    let taken = 0;
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
      refusal: () => new RetryLaterError("overloaded", "too many inbound bodies are being received; retry shortly", 1),
    };
  }
}

/** One request's share of the budget. */
export interface BodyLease {
  /** Takes `bytes` more; false (and nothing taken) when the budget cannot spare them. */
  take(bytes: number): boolean;
  /** Gives back everything this lease took; call once the request is answered. */
  release(): void;
  /** The error for a body the budget could not take. */
  refusal(): RetryLaterError;
}
