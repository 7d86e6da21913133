import { and, eq, isNull, or, inArray, sql } from "drizzle-orm";
import { notifyIn, operatorWebhooks, webhookDeliveries, type Db } from "@switchyard/db";
import { newId } from "../ids.ts";
import { changeFields, SECRET_CHANGED_EVENT, type SecretChange } from "../secret-events/events.ts";

/** NOTIFY channel that wakes the webhook deliverers when a delivery is queued. */
export const WEBHOOKS_CHANNEL = "switchyard_webhooks";

const ROWS_PER_STATEMENT = 500;

/** The body of a secret change delivery (Standard Webhooks' `{type, timestamp, data}`). */
export interface SecretChangedPayload {
  type: typeof SECRET_CHANGED_EVENT;
  /** When the change was made (ISO 8601); the `webhook-timestamp` header is the attempt's time. */
  timestamp: string;
  data: ReturnType<typeof changeFields>;
}

/**
 * Queues one delivery per enabled operator webhook subscribed to
 * `secret.changed` and per change it may hear, with `tx` (the change's own
 * transaction). An instance-wide webhook hears every scope; a workspace's
 * hears that workspace's secrets and its apps', never global ones (a token
 * limited to a workspace cannot see those either) nor another workspace's.
 */
export async function fanOutToWebhooks(tx: Db, changes: readonly SecretChange[], now = new Date()): Promise<number> {
  if (changes.length === 0) return 0;
  const workspaceIds = [...new Set(changes.flatMap((c) => (c.workspaceId === null ? [] : [c.workspaceId])))];
  const hooks = await tx
    .select({ id: operatorWebhooks.id, workspaceId: operatorWebhooks.workspaceId, retry: operatorWebhooks.retry })
    .from(operatorWebhooks)
    .where(
      and(
        eq(operatorWebhooks.enabled, true),
        sql`${operatorWebhooks.events} @> ${JSON.stringify([SECRET_CHANGED_EVENT])}::jsonb`,
        workspaceIds.length > 0 ? or(isNull(operatorWebhooks.workspaceId), inArray(operatorWebhooks.workspaceId, workspaceIds)) : isNull(operatorWebhooks.workspaceId),
      ),
    );
  if (hooks.length === 0) return 0;
  const rows: (typeof webhookDeliveries.$inferInsert)[] = [];
  for (const change of changes) {
    const payload: SecretChangedPayload = { type: SECRET_CHANGED_EVENT, timestamp: now.toISOString(), data: changeFields(change) };
    for (const hook of hooks) {
      if (hook.workspaceId !== null && hook.workspaceId !== change.workspaceId) continue;
      const id = newId("msg");
      rows.push({ id, webhookId: hook.id, messageId: id, eventType: SECRET_CHANGED_EVENT, payload, retry: hook.retry, runAt: now });
    }
  }
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) await tx.insert(webhookDeliveries).values(rows.slice(i, i + ROWS_PER_STATEMENT));
  if (rows.length > 0) await notifyIn(tx, WEBHOOKS_CHANNEL, "");
  return rows.length;
}
