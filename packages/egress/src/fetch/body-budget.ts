/**
 * A process-wide budget of response-body bytes held in memory at once. One
 * response is capped (maxResponseBytes), but a busy process runs many
 * scripts, each with fetches in flight: without a shared budget, 200
 * parallel 10 MiB bodies would hold 2 GiB. Each chunk is taken from the
 * budget as it arrives and everything taken is given back when the body is
 * handed over or its reading fails.
 *
 * @example
 * const budget = createBodyBudget(256 * 1024 * 1024);
 * if (!budget.take(chunk.byteLength)) fail("egress_busy");
 * budget.give(total); // handed over
 */

export interface BodyBudget {
  /** The whole budget, in bytes. */
  readonly limit: number;
  /** Bytes taken now. */
  held(): number;
  /** Takes `bytes` if they fit, and says whether they did. */
  take(bytes: number): boolean;
  /** Gives back `bytes` taken before. */
  give(bytes: number): void;
}

export function createBodyBudget(limit: number): BodyBudget {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`the response body budget must be a whole number of bytes, not ${limit}`);
  let held = 0;
  return {
    limit,
    held: () => held,
    take(bytes) {
      if (held + bytes > limit) return false;
      held += bytes;
      return true;
    },
    give(bytes) {
      held = Math.max(0, held - bytes);
    },
  };
}
