import { and, eq, sql } from "drizzle-orm";
import { inboundSeen, triggers, type Db } from "@switchyard/db";
import { enqueue } from "../outbox/queue.ts";
import type { Trigger } from "./typed.ts";

export interface HookAccept {
  trigger: Pick<Trigger, "id" | "appId" | "scriptId" | "retry" | "updatedAt">;
  /** API.md's `http` payload. */
  http: Record<string, unknown>;
  /** Standard Webhooks `webhook-id` of a signed hook: refused when seen before on the trigger. */
  webhookId: string | null;
}

export type HookOutcome = { status: "accepted"; eventId: string } | { status: "replayed" } | { status: "trigger_changed" };

/**
 * Enqueues an http trigger's event in one transaction, only if the trigger
 * is still as the caller verified it (same `updated_at`, still enabled) and
 * a signed delivery's `webhook-id` was not seen before (kept with inbound
 * email's, in `inbound_seen`, and forgotten with them).
 */
export async function acceptHook(db: Db, input: HookAccept): Promise<HookOutcome> {
  const { trigger } = input;
  return db.transaction(async (tx) => {
    const [still] = await tx
      .select({ id: triggers.id })
      .from(triggers)
      .where(
        and(
          eq(triggers.id, trigger.id),
          eq(triggers.enabled, true),
          eq(triggers.kind, "http"),
          // The caller's copy holds milliseconds; the column holds microseconds.
          sql`date_trunc('milliseconds', ${triggers.updatedAt}) = ${trigger.updatedAt.toISOString()}::timestamptz`,
        ),
      )
      .for("share");
    if (!still) return { status: "trigger_changed" };
    if (input.webhookId !== null) {
      const seen = await tx.insert(inboundSeen).values({ triggerId: trigger.id, deliveryKey: `wh:${input.webhookId}` }).onConflictDoNothing().returning({ one: sql<number>`1` });
      if (seen.length === 0) return { status: "replayed" };
    }
    const eventId = await enqueue(tx, {
      appId: trigger.appId,
      scriptId: trigger.scriptId,
      triggerId: trigger.id,
      kind: "http",
      event: { kind: "http", http: input.http },
      retry: trigger.retry,
      origin: `http:${trigger.id}`,
    });
    return { status: "accepted", eventId };
  });
}
