import { sql } from "drizzle-orm";
import { resultRows, type Db, type RetryPolicy } from "@switchyard/db";
import { newId } from "../ids.ts";
import { retryDelayMs } from "../outbox/retry.ts";

/** A claimed delivery with what sending it needs: the webhook's URL and sealed secret. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  messageId: string;
  payload: unknown;
  retry: RetryPolicy;
  /** The number of the attempt about to be made. */
  attempts: number;
  leaseToken: string;
  url: string;
  secretSealed: Buffer;
  workspaceId: string | null;
}

interface ClaimedRow {
  id: string;
  webhook_id: string;
  message_id: string;
  payload: unknown;
  retry: RetryPolicy;
  attempts: number;
  lease_token: string;
  url: string;
  secret_sealed: Uint8Array;
  workspace_id: string | null;
}

/**
 * Claims up to `limit` due deliveries in ONE statement: `FOR UPDATE SKIP
 * LOCKED` so two deliverers never take the same row, a lease so that a
 * delivery whose process died is claimable again once it lapses, the
 * attempt counted at the claim, and the webhook's URL and secret joined in.
 */
export async function claimDeliveries(db: Db, options: { limit: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
  if (options.limit <= 0) return [];
  const token = newId("lease");
  const result = await db.execute(sql`
    with due as (
      select id from webhook_deliveries
      where status = 'pending' and run_at <= now() and (lease_until is null or lease_until < now())
      order by run_at
      limit ${options.limit}
      for update skip locked
    ), c as (
      update webhook_deliveries d
      set attempts = d.attempts + 1, lease_token = ${token},
          lease_until = now() + ${options.leaseMs} * interval '1 millisecond'
      from due where d.id = due.id
      returning d.*
    )
    select c.id, c.webhook_id, c.message_id, c.payload, c.retry, c.attempts, c.lease_token,
           w.url, w.secret_sealed, w.workspace_id
    from c join operator_webhooks w on w.id = c.webhook_id
    order by c.run_at, c.id`);
  return resultRows<ClaimedRow>(result).map((r) => ({
    id: r.id,
    webhookId: r.webhook_id,
    messageId: r.message_id,
    payload: r.payload,
    retry: r.retry,
    attempts: r.attempts,
    leaseToken: r.lease_token,
    url: r.url,
    secretSealed: Buffer.from(r.secret_sealed),
    workspaceId: r.workspace_id,
  }));
}

/** How an attempt ended: the receiver's status when it answered, and the failure when it was not a 2xx. */
export interface AttemptOutcome {
  status: number | null;
  error: { code: string; message: string } | null;
}

/** What recording an attempt did; `lost` means the lease had lapsed and nothing was written. */
export type DeliveryResult = "delivered" | "retrying" | "dead_lettered" | "lost";

/**
 * Records one attempt in ONE statement, fenced by the claim's lease token (a
 * late write from a deliverer whose lease lapsed changes nothing): a 2xx is
 * `delivered`; a failure is retried after the policy's backoff, or, after
 * the last attempt, `dead_letter`.
 */
export async function completeDelivery(db: Db, claim: Pick<ClaimedDelivery, "id" | "leaseToken" | "retry" | "attempts">, outcome: AttemptOutcome): Promise<DeliveryResult> {
  const result: DeliveryResult = outcome.error === null ? "delivered" : claim.attempts >= claim.retry.max_attempts ? "dead_lettered" : "retrying";
  const status = result === "delivered" ? "delivered" : result === "dead_lettered" ? "dead_letter" : "pending";
  const delayMs = result === "retrying" ? retryDelayMs(claim.retry, claim.attempts) : 0;
  const updated = await db.execute(sql`
    update webhook_deliveries
    set status = ${status},
        run_at = case when ${status} = 'pending' then now() + ${delayMs} * interval '1 millisecond' else run_at end,
        finished_at = case when ${status} = 'pending' then null else now() end,
        lease_token = null, lease_until = null,
        last_status = ${outcome.status},
        last_error = ${outcome.error === null ? null : JSON.stringify(outcome.error)}::jsonb
    where id = ${claim.id} and lease_token = ${claim.leaseToken}
    returning id`);
  return resultRows(updated).length === 1 ? result : "lost";
}

/**
 * Forgets finished deliveries: delivered ones after `deliveredDays`, dead
 * letters after `deadDays` (kept longer, for inspection and redelivery).
 */
export async function pruneDeliveries(db: Db, options: { deliveredDays: number; deadDays: number }): Promise<number> {
  const result = await db.execute(sql`
    delete from webhook_deliveries
    where (status = 'delivered' and finished_at < now() - ${options.deliveredDays} * interval '1 day')
       or (status = 'dead_letter' and finished_at < now() - ${options.deadDays} * interval '1 day')
    returning id`);
  return resultRows(result).length;
}
