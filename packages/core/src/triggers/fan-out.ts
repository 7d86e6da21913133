import { and, eq } from "drizzle-orm";
import { triggers, type Db } from "@switchyard/db";
import type { Claim } from "../outbox/queue.ts";
import { enqueue } from "../outbox/queue.ts";
import type { DeadLetterConfig } from "./config.ts";

/** Events may chain through triggers this deep at most; past it, fan-out stops (loops end). */
export const MAX_TRIGGER_DEPTH = 8;

const matches = (filter: DeadLetterConfig, c: Claim) =>
  (filter.source_kinds.length === 0 || (filter.source_kinds as string[]).includes(c.kind)) &&
  (filter.trigger_ids.length === 0 || (c.triggerId !== null && filter.trigger_ids.includes(c.triggerId))) &&
  (filter.script_ids.length === 0 || filter.script_ids.includes(c.scriptId));

/**
 * Delivers a new dead letter to every enabled `dead_letter` trigger of the app
 * whose filters match, as a `dead_letter` event carrying the failed event whole,
 * one level deeper. Runs inside the transaction that wrote the dead letter.
 */
export async function fanOutDeadLetter(
  tx: Db,
  c: Claim,
  deadLetter: { id: string; lastError: unknown; lastAttemptAt: Date },
): Promise<number> {
  if (c.depth + 1 > MAX_TRIGGER_DEPTH) return 0;
  const handlers = await tx
    .select()
    .from(triggers)
    .where(and(eq(triggers.appId, c.appId), eq(triggers.kind, "dead_letter"), eq(triggers.enabled, true)));
  let delivered = 0;
  for (const handler of handlers) {
    if (!matches(handler.config as DeadLetterConfig, c)) continue;
    await enqueue(tx, {
      appId: c.appId,
      scriptId: handler.scriptId,
      triggerId: handler.id,
      kind: "dead_letter",
      event: {
        kind: "dead_letter",
        dead_letter: {
          dead_letter_id: deadLetter.id,
          original: c.event,
          attempts: c.attempts,
          last_error: deadLetter.lastError,
          trigger_id: c.triggerId,
          script_id: c.scriptId,
          first_attempt_at: c.firstAttemptAt,
          last_attempt_at: deadLetter.lastAttemptAt,
        },
      },
      retry: handler.retry,
      depth: c.depth + 1,
      origin: `dead_letter:${deadLetter.id}`,
    });
    delivered += 1;
  }
  return delivered;
}
