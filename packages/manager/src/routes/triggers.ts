import { createTrigger, deleteTrigger, getTrigger, listTriggers, TRIGGER_KINDS, updateTrigger, type Trigger, type TriggerWithSecret } from "@switchyard/core";
import type { Context } from "hono";
import type { InboundReceiver } from "../email/inbound-receiver.ts";
import { z } from "zod";
import type { ManagerDeps } from "../env.ts";
import type { RouteRegistry } from "./registry.ts";

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "use 1-63 lower-case letters, digits, '-' and '_'");
const createBody = z.strictObject({
  kind: z.enum(TRIGGER_KINDS),
  name,
  script_id: z.string().min(1),
  config: z.record(z.string(), z.json()).optional(),
  retry: z.record(z.string(), z.json()).optional(),
  enabled: z.boolean().optional(),
});
const patchBody = z.strictObject({
  name: name.optional(),
  script_id: z.string().min(1).optional(),
  config: z.record(z.string(), z.json()).optional(),
  retry: z.record(z.string(), z.json()).optional(),
  enabled: z.boolean().optional(),
});

/** The public URL of an http or email trigger, relative to the service. */
const hookPath = (t: Trigger) => (t.kind === "http" ? `/api/v1/hooks/${t.id}` : t.kind === "email" ? `/api/v1/email-inbound/${t.id}` : null);

const baseJson = (t: Trigger) => ({
  id: t.id,
  app_id: t.appId,
  script_id: t.scriptId,
  kind: t.kind,
  name: t.name,
  config: t.config,
  retry: t.retry,
  enabled: t.enabled,
  url: hookPath(t),
  created_at: t.createdAt,
  updated_at: t.updatedAt,
});

/** Triggers of an app: http, cron, dead_letter and email. */
export function triggerRoutes(routes: RouteRegistry, { database, secrets }: ManagerDeps, inbound: InboundReceiver): void {
  const { db } = database;
  // An email trigger also shows where mail reaches it, and its signing
  // secret in the one answer that created (or replaced) it.
  const triggerJson = (t: Trigger | TriggerWithSecret, c?: Context) => {
    const json: Record<string, unknown> = baseJson(t);
    if (t.kind === "email") {
      json.inbound_url = c ? new URL(hookPath(t) ?? "", c.req.url).toString() : hookPath(t);
      json.smtp_address = inbound.smtpAddress(t);
      if ("signingSecret" in t && t.signingSecret) json.signing_secret = t.signingSecret;
    }
    return json;
  };
  const base = "/api/v1/admin/apps/:appId/triggers";
  const appId = (c: { req: { param(n: string): string | undefined } }) => c.req.param("appId") ?? "";
  const triggerId = (c: { req: { param(n: string): string | undefined } }) => c.req.param("triggerId") ?? "";

  routes.add(
    { method: "post", path: base, summary: "Create a trigger (http, cron, dead_letter, email); an email trigger answers with inbound_url, smtp_address and, once, signing_secret", tag: "triggers", scope: "triggers:write", body: createBody, status: 201 },
    async (c, { body, principal }) => {
      const trigger = await createTrigger(db, principal, appId(c), {
        kind: body.kind,
        name: body.name,
        scriptId: body.script_id,
        config: body.config,
        retry: body.retry,
        enabled: body.enabled,
      }, secrets);
      return c.json(triggerJson(trigger, c), 201);
    },
  );
  routes.add({ method: "get", path: base, summary: "List triggers", tag: "triggers", scope: "scripts:read" }, async (c, { principal }) =>
    c.json({ triggers: (await listTriggers(db, principal, appId(c))).map((t) => triggerJson(t, c)) }),
  );
  routes.add({ method: "get", path: `${base}/:triggerId`, summary: "Show a trigger", tag: "triggers", scope: "scripts:read" }, async (c, { principal }) =>
    c.json(triggerJson(await getTrigger(db, principal, appId(c), triggerId(c)), c)),
  );
  routes.add(
    { method: "patch", path: `${base}/:triggerId`, summary: "Change a trigger", tag: "triggers", scope: "triggers:write", body: patchBody },
    async (c, { body, principal }) => {
      const trigger = await updateTrigger(db, principal, appId(c), triggerId(c), {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.script_id !== undefined ? { scriptId: body.script_id } : {}),
        ...(body.config !== undefined ? { config: body.config } : {}),
        ...(body.retry !== undefined ? { retry: body.retry } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      }, secrets);
      return c.json(triggerJson(trigger, c));
    },
  );
  routes.add(
    { method: "delete", path: `${base}/:triggerId`, summary: "Delete a trigger", tag: "triggers", scope: "triggers:write", status: 204 },
    async (c, { principal }) => {
      await deleteTrigger(db, principal, appId(c), triggerId(c));
      return c.body(null, 204);
    },
  );
}
