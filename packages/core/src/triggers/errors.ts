import { SwitchyardError } from "../errors.ts";

/**
 * A public trigger endpoint's refusal of the caller: unknown trigger, wrong
 * or missing signature, stale or replayed delivery. One message for all, so
 * a caller learns nothing about which trigger ids exist.
 */
export class UnauthorizedError extends SwitchyardError {
  override name = "UnauthorizedError";
  constructor() {
    super("unauthorized", "unknown trigger or invalid signature");
  }
}

/**
 * Not now, later: a trigger over its rate limit (`rate_limited`, 429) or a
 * process with too many inbound bodies in flight (`overloaded`, 503). The
 * API adds `Retry-After: retryAfterSeconds`.
 */
export class RetryLaterError extends SwitchyardError {
  override name = "RetryLaterError";
  constructor(
    code: "rate_limited" | "overloaded",
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message, { details: { retry_after_seconds: retryAfterSeconds } });
  }
}
