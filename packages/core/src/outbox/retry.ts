import type { RetryPolicy } from "@switchyard/db";

/** API.md's default: 3 attempts, exponential, 1000 ms. */
export const DEFAULT_RETRY: RetryPolicy = { max_attempts: 3, backoff: "exponential", base_ms: 1000 };

/** No retry waits longer than this, whatever the policy says. */
export const MAX_DELAY_MS = 60 * 60 * 1000;

/**
 * The wait before attempt `attempt + 1` after attempt `attempt` failed:
 * `base_ms` (fixed) or `base_ms * 2^(attempt-1)` (exponential), capped, with
 * ±10% jitter so that a burst of failures does not retry in lockstep.
 *
 * @example
 * retryDelayMs({ max_attempts: 5, backoff: "exponential", base_ms: 1000 }, 3) // about 4000
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const raw = policy.backoff === "fixed" ? policy.base_ms : policy.base_ms * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(raw, MAX_DELAY_MS);
  return Math.round(capped * (0.9 + 0.2 * random()));
}

/** How a script asked to be treated when it failed (the executor's RetryDecision). */
export type ScriptRetry = { kind: "retry" } | { kind: "no_retry" } | { kind: "retry_after"; delayMs: number };

/**
 * What to do with a failed attempt: retry per policy (or after the script's
 * own delay), or dead-letter when the script said not to retry or this was
 * the last attempt.
 */
export function decideFailure(retry: ScriptRetry, attempt: number, policy: RetryPolicy): { kind: "retry"; delayMs?: number } | { kind: "dead_letter" } {
  if (retry.kind === "no_retry" || attempt >= policy.max_attempts) return { kind: "dead_letter" };
  return retry.kind === "retry_after" ? { kind: "retry", delayMs: retry.delayMs } : { kind: "retry" };
}
