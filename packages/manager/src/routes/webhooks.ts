import { createWebhooksService, WEBHOOK_EVENTS, type OperatorWebhook, type WebhookDelivery } from "@switchyard/core";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv, ManagerDeps } from "../env.ts";
import { jsonObject } from "./json-object.ts";
import type { RouteRegistry } from "./registry.ts";

// Unknown event names pass zod and are refused by the service, which names the known ones.
const createBody = z.strictObject({
  url: z.string().min(1).max(2048),
  events: z.array(z.string().max(64)).min(1).max(16),
  workspace_id: z.string().min(1).optional(),
  retry: jsonObject.optional(),
});
const deliveriesQuery = z.strictObject({
  status: z.enum(["pending", "delivered", "dead_letter"]).optional(),
  before: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const webhookJson = (w: OperatorWebhook) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  workspace_id: w.workspaceId,
  retry: w.retry,
  enabled: w.enabled,
  created_by: w.createdBy,
  created_at: w.createdAt,
  updated_at: w.updatedAt,
});

const deliveryJson = (d: WebhookDelivery) => ({
  id: d.id,
  webhook_id: d.webhookId,
  message_id: d.messageId,
  event_type: d.eventType,
  payload: d.payload,
  status: d.status,
  attempts: d.attempts,
  max_attempts: d.retry.max_attempts,
  next_attempt_at: d.status === "pending" ? d.runAt : null,
  last_status: d.lastStatus,
  last_error: d.lastError,
  created_at: d.createdAt,
  finished_at: d.finishedAt,
});

/**
 * Operator webhooks: secret change events POSTed to the operator's URL,
 * signed with Standard Webhooks. `admin` scope; a token limited to a
 * workspace manages its workspace's webhooks only. The `whsec_` secret is in
 * the answer of create and rotate-secret, and nowhere else.
 */
export function webhookRoutes(routes: RouteRegistry, deps: ManagerDeps): void {
  const service = deps.webhooks ?? createWebhooksService({ db: deps.database.db, sealer: deps.secrets });
  const base = "/api/v1/admin/webhooks";
  const tag = "webhooks";
  const webhookId = (c: Context<AppEnv>) => c.req.param("webhookId") ?? "";

  routes.add(
    {
      method: "post",
      path: base,
      summary: `Create an operator webhook for ${WEBHOOK_EVENTS.join(", ")} (instance-wide, or one workspace's with workspace_id); answers its whsec_ signing secret once`,
      tag,
      scope: "admin",
      body: createBody,
      status: 201,
    },
    async (c, { body, principal }) => {
      const { webhook, secret } = await service.create(principal, { url: body.url, events: body.events, workspaceId: body.workspace_id, retry: body.retry });
      return c.json({ ...webhookJson(webhook), secret }, 201);
    },
  );

  routes.add({ method: "get", path: base, summary: "List the operator webhooks the token may see", tag, scope: "admin" }, async (c, { principal }) =>
    c.json({ webhooks: (await service.list(principal)).map(webhookJson) }),
  );

  routes.add({ method: "get", path: `${base}/:webhookId`, summary: "Show an operator webhook (never its secret)", tag, scope: "admin" }, async (c, { principal }) =>
    c.json(webhookJson(await service.get(principal, webhookId(c)))),
  );

  routes.add({ method: "delete", path: `${base}/:webhookId`, summary: "Delete an operator webhook and its deliveries", tag, scope: "admin", status: 204 }, async (c, { principal }) => {
    await service.remove(principal, webhookId(c));
    return c.body(null, 204);
  });

  routes.add(
    { method: "post", path: `${base}/:webhookId/rotate-secret`, summary: "Replace the webhook's signing secret; answers the new one once (the old one stops signing at once)", tag, scope: "admin" },
    async (c, { principal }) => {
      const { webhook, secret } = await service.rotateSecret(principal, webhookId(c));
      return c.json({ ...webhookJson(webhook), secret });
    },
  );

  routes.add(
    {
      method: "get",
      path: `${base}/:webhookId/deliveries`,
      summary: "List the webhook's deliveries, newest first (status: pending, delivered, dead_letter; paging: before, limit)",
      tag,
      scope: "admin",
      query: deliveriesQuery,
    },
    async (c, { principal, query }) => c.json({ deliveries: (await service.deliveries(principal, webhookId(c), query)).map(deliveryJson) }),
  );

  routes.add(
    {
      method: "post",
      path: `${base}/:webhookId/deliveries/:deliveryId/redeliver`,
      summary: "Attempt a dead-lettered or delivered delivery again, with the same webhook-id (409 while it is pending)",
      tag,
      scope: "admin",
      status: 202,
    },
    async (c, { principal }) => c.json(deliveryJson(await service.redeliver(principal, webhookId(c), c.req.param("deliveryId") ?? "")), 202),
  );
}
