import { and, count, desc, eq, isNull, lt, ne, type SQL } from "drizzle-orm";
import { generateWebhookSecret } from "@switchyard/crypto";
import { notifyIn, operatorWebhooks, webhookDeliveries, type Db, type RetryPolicy } from "@switchyard/db";
import { createEgressPolicy, type EgressPolicy } from "@switchyard/egress";
import { recordAudit } from "../audit.ts";
import type { ScopeRef } from "../data-keys.ts";
import { ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import { newId } from "../ids.ts";
import { canSeeWorkspace, requireScope, type Principal } from "../principal.ts";
import { SECRET_CHANGED_EVENT } from "../secret-events/events.ts";
import { getWorkspace } from "../tenancy.ts";
import { parseRetry } from "../triggers/config.ts";
import { WEBHOOKS_CHANNEL } from "./enqueue.ts";
import { checkWebhookUrl } from "./url.ts";

export type OperatorWebhook = typeof operatorWebhooks.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;

/** Event types an operator webhook may subscribe to. */
export const WEBHOOK_EVENTS = [SECRET_CHANGED_EVENT] as const;

/** Six attempts over about five minutes (10 s, 20 s, 40 s, 80 s, 160 s apart), then a dead letter. */
export const WEBHOOK_RETRY: RetryPolicy = { max_attempts: 6, backoff: "exponential", base_ms: 10_000 };

/**
 * Webhooks per workspace (and for the whole instance): each change is
 * delivered to every one, so without a bound a workspace admin could make
 * each of its changes cost thousands of slow deliveries in a queue every
 * tenant shares.
 */
export const MAX_WEBHOOKS_PER_SCOPE = 20;

/** Seals and opens a webhook's secret with a scope's data key (the secrets service does). */
export interface WebhookSealer {
  sealForScope(tx: Db, ref: ScopeRef, aad: string, plaintext: Buffer): Promise<Buffer>;
  openForScope(ref: ScopeRef, aad: string, sealed: Buffer): Promise<Buffer>;
}

/** Associated data binding a webhook's sealed secret to that webhook. */
export const webhookSecretAad = (webhookId: string) => `switchyard/webhook-secret/v1|${webhookId}`;

/** The scope whose data key seals a webhook's secret: its workspace's, or the global one. */
export const webhookScope = (workspaceId: string | null): ScopeRef => (workspaceId === null ? { scope: "global", scopeId: "" } : { scope: "workspace", scopeId: workspaceId });

export interface WebhookInput {
  url: string;
  events: string[];
  workspaceId?: string | undefined;
  retry?: unknown;
}

export interface DeliveryQuery {
  status?: WebhookDelivery["status"] | undefined;
  /** Deliveries older than this one (paging backwards, newest first). */
  before?: string | undefined;
  limit?: number | undefined;
}

export interface WebhooksServiceOptions {
  db: Db;
  sealer: WebhookSealer;
  /** The operator's egress policy: which URLs are accepted (deliveries are checked again at connect time). */
  egress?: EgressPolicy;
}

/** What an audit row may say of a URL: no query (a receiver's token often rides there). */
const auditUrl = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
};

function parseEvents(events: string[]): string[] {
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (events.length === 0 || unknown.length > 0) {
    const message = events.length === 0 ? "name at least one event" : `unknown event ${JSON.stringify(unknown[0])}; known: ${WEBHOOK_EVENTS.join(", ")}`;
    throw new ValidationError(message, { issues: [{ path: "events", message }] });
  }
  return [...new Set(events)];
}

/**
 * Operator webhooks: secret change events delivered to a URL, signed with
 * Standard Webhooks. They need the `admin` scope. An instance-wide webhook
 * (no workspace) needs a token limited to no workspace; a token limited to a
 * workspace manages that workspace's webhooks only (its own by default) and
 * sees no other. The `whsec_` secret is answered once, at create and at
 * rotation, and stored sealed. Creating, rotating and deleting are audited.
 *
 * @example
 * const webhooks = createWebhooksService({ db, sealer: secretsService, egress: policy });
 * const { webhook, secret } = await webhooks.create(token, { url: "https://hooks.example.com/sy", events: ["secret.changed"] });
 */
export function createWebhooksService({ db, sealer, egress = createEgressPolicy() }: WebhooksServiceOptions) {
  const visible = (principal: Principal, hook: OperatorWebhook) =>
    hook.workspaceId === null ? principal.type !== "token" || principal.workspaceId === null : canSeeWorkspace(principal, hook.workspaceId);

  async function find(principal: Principal, id: string): Promise<OperatorWebhook> {
    requireScope(principal, "admin");
    const [row] = await db.select().from(operatorWebhooks).where(eq(operatorWebhooks.id, id));
    // Another workspace's webhook is answered as none at all.
    if (!row || !visible(principal, row)) throw new NotFoundError("webhook", id);
    return row;
  }

  const auditFor = (hook: OperatorWebhook, action: string, details: Record<string, unknown> = {}) => ({
    action,
    outcome: "ok" as const,
    workspaceId: hook.workspaceId,
    details: { webhook_id: hook.id, url: auditUrl(hook.url), events: hook.events, ...details },
  });

  return {
    async create(principal: Principal, input: WebhookInput): Promise<{ webhook: OperatorWebhook; secret: string }> {
      requireScope(principal, "admin");
      const limitedTo = principal.type === "token" ? principal.workspaceId : null;
      const workspaceId = input.workspaceId !== undefined ? (await getWorkspace(db, principal, input.workspaceId)).id : limitedTo;
      const url = checkWebhookUrl(input.url, egress).toString();
      const events = parseEvents(input.events);
      const retry = input.retry === undefined ? WEBHOOK_RETRY : parseRetry(input.retry);
      const id = newId("wh");
      const secret = generateWebhookSecret();
      const principalId = principal.id;
      return db.transaction(async (tx) => {
        const [existing] = await tx
          .select({ n: count() })
          .from(operatorWebhooks)
          .where(workspaceId === null ? isNull(operatorWebhooks.workspaceId) : eq(operatorWebhooks.workspaceId, workspaceId));
        if ((existing?.n ?? 0) >= MAX_WEBHOOKS_PER_SCOPE) {
          throw new ConflictError(`${workspaceId === null ? "the instance" : "this workspace"} already has ${MAX_WEBHOOKS_PER_SCOPE} webhooks; delete one first`, { limit: MAX_WEBHOOKS_PER_SCOPE });
        }
        const secretSealed = await sealer.sealForScope(tx, webhookScope(workspaceId), webhookSecretAad(id), Buffer.from(secret));
        const [webhook] = await tx.insert(operatorWebhooks).values({ id, url, events, workspaceId, secretSealed, retry, createdBy: principalId }).returning();
        if (!webhook) throw new Error("the webhook row was not written");
        await recordAudit(tx, principal, auditFor(webhook, "webhook.create"));
        return { webhook, secret };
      });
    },

    /** The webhooks the principal may see: its workspace's, or all for a token limited to none. */
    async list(principal: Principal): Promise<OperatorWebhook[]> {
      requireScope(principal, "admin");
      const limitedTo = principal.type === "token" ? principal.workspaceId : null;
      const where = limitedTo === null ? undefined : eq(operatorWebhooks.workspaceId, limitedTo);
      return db.select().from(operatorWebhooks).where(where).orderBy(desc(operatorWebhooks.createdAt), desc(operatorWebhooks.id));
    },

    get: find,

    /** Deletes the webhook and every delivery it still has. */
    async remove(principal: Principal, id: string): Promise<void> {
      const hook = await find(principal, id);
      await db.transaction(async (tx) => {
        await tx.delete(operatorWebhooks).where(eq(operatorWebhooks.id, hook.id));
        await recordAudit(tx, principal, auditFor(hook, "webhook.delete"));
      });
    },

    /**
     * A new `whsec_` secret, answered this once; the old one stops signing at
     * once (deliveries not yet sent are signed with the new one).
     */
    async rotateSecret(principal: Principal, id: string): Promise<{ webhook: OperatorWebhook; secret: string }> {
      const hook = await find(principal, id);
      const secret = generateWebhookSecret();
      return db.transaction(async (tx) => {
        const secretSealed = await sealer.sealForScope(tx, webhookScope(hook.workspaceId), webhookSecretAad(hook.id), Buffer.from(secret));
        const [webhook] = await tx.update(operatorWebhooks).set({ secretSealed, updatedAt: new Date() }).where(eq(operatorWebhooks.id, hook.id)).returning();
        if (!webhook) throw new NotFoundError("webhook", id);
        await recordAudit(tx, principal, auditFor(webhook, "webhook.rotate_secret"));
        return { webhook, secret };
      });
    },

    /** A webhook's deliveries, newest first; `status: "dead_letter"` lists those that ran out of attempts. */
    async deliveries(principal: Principal, id: string, query: DeliveryQuery = {}): Promise<WebhookDelivery[]> {
      const hook = await find(principal, id);
      const where: SQL[] = [eq(webhookDeliveries.webhookId, hook.id)];
      if (query.status) where.push(eq(webhookDeliveries.status, query.status));
      if (query.before) where.push(lt(webhookDeliveries.id, query.before));
      return db
        .select()
        .from(webhookDeliveries)
        .where(and(...where))
        .orderBy(desc(webhookDeliveries.id))
        .limit(Math.min(query.limit ?? 50, 200));
    },

    /** Queues a dead-lettered (or delivered) delivery again, as a fresh series of attempts with the same `webhook-id`; 409 while it is still pending. */
    async redeliver(principal: Principal, id: string, deliveryId: string): Promise<WebhookDelivery> {
      const hook = await find(principal, id);
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(webhookDeliveries)
          .set({ status: "pending", attempts: 0, runAt: new Date(), leaseToken: null, leaseUntil: null, finishedAt: null })
          .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.webhookId, hook.id), ne(webhookDeliveries.status, "pending")))
          .returning();
        if (!row) {
          const [pending] = await tx.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.webhookId, hook.id)));
          if (pending) throw new ConflictError("the delivery is still being attempted", { delivery_id: deliveryId });
          throw new NotFoundError("delivery", deliveryId);
        }
        await notifyIn(tx, WEBHOOKS_CHANNEL, "");
        await recordAudit(tx, principal, auditFor(hook, "webhook.redeliver", { delivery_id: row.id }));
        return row;
      });
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
