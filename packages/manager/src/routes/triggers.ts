import { createTriggersService, hasScope, TRIGGER_KINDS, typedTrigger, type Principal, type Trigger, type TriggerWithSecret } from "@switchyard/core";
import type { Context } from "hono";
import type { InboundReceiver } from "../email/inbound-receiver.ts";
import { z } from "zod";
import type { ManagerDeps } from "../env.ts";
import { jsonObject } from "./json-object.ts";
import type { RouteRegistry } from "./registry.ts";

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "use 1-63 lower-case letters, digits, '-' and '_'");
const createBody = z.strictObject({
  kind: z.enum(TRIGGER_KINDS),
  name,
  script_id: z.string().min(1),
  config: jsonObject.optional(),
  retry: jsonObject.optional(),
  enabled: z.boolean().optional(),
});
const patchBody = z.strictObject({
  name: name.optional(),
  script_id: z.string().min(1).optional(),
  config: jsonObject.optional(),
  retry: jsonObject.optional(),
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

/**
 * Triggers of an app: http, cron, dead_letter and email. Every change
 * evicts the trigger from this process's public-endpoint cache at once
 * (other processes hear the service's NOTIFY).
 */
export function triggerRoutes(routes: RouteRegistry, { database, secrets }: ManagerDeps, inbound: InboundReceiver): void {
  const service = createTriggersService({ db: database.db, sealer: secrets });
  // An email trigger also shows where mail reaches it; an email or http
  // trigger its signing secret in the one answer that created (or replaced)
  // it. The public URL of an unsigned trigger is its credential: only a
  // token that may manage triggers sees it (hide-trigger-ids.ts hides the id).
  const triggerJson = (t: Trigger | TriggerWithSecret, principal: Principal, c?: Context) => {
    const json: Record<string, unknown> = baseJson(t);
    if (t.kind === "email") {
      json.inbound_url = c ? new URL(hookPath(t) ?? "", c.req.url).toString() : hookPath(t);
      json.smtp_address = inbound.smtpAddress(typedTrigger(t));
    }
    if ("signingSecret" in t && t.signingSecret) json.signing_secret = t.signingSecret;
    if (!hasScope(principal, "triggers:write")) {
      delete json.url;
      delete json.inbound_url;
      delete json.smtp_address;
    }
    return json;
  };
  const changed = <T extends Trigger>(trigger: T): T => {
    inbound.triggers.forget(trigger.id);
    return trigger;
  };
  const base = "/api/v1/admin/apps/:appId/triggers";
  const appId = (c: { req: { param(n: string): string | undefined } }) => c.req.param("appId") ?? "";
  const triggerId = (c: { req: { param(n: string): string | undefined } }) => c.req.param("triggerId") ?? "";

  routes.add(
    { method: "post", path: base, summary: "Create a trigger (http, cron, dead_letter, email); an email trigger answers with inbound_url and smtp_address, a signed email or http trigger once with signing_secret", tag: "triggers", scope: "triggers:write", body: createBody, status: 201 },
    async (c, { body, principal }) => {
      const trigger = await service.create(principal, appId(c), {
        kind: body.kind,
        name: body.name,
        scriptId: body.script_id,
        config: body.config,
        retry: body.retry,
        enabled: body.enabled,
      });
      return c.json(triggerJson(trigger, principal, c), 201);
    },
  );
  routes.add({ method: "get", path: base, summary: "List triggers", tag: "triggers", scope: "scripts:read" }, async (c, { principal }) =>
    c.json({ triggers: (await service.list(principal, appId(c))).map((t) => triggerJson(t, principal, c)) }),
  );
  routes.add({ method: "get", path: `${base}/:triggerId`, summary: "Show a trigger", tag: "triggers", scope: "scripts:read" }, async (c, { principal }) =>
    c.json(triggerJson(await service.get(principal, appId(c), triggerId(c)), principal, c)),
  );
  routes.add(
    { method: "patch", path: `${base}/:triggerId`, summary: "Change a trigger", tag: "triggers", scope: "triggers:write", body: patchBody },
    async (c, { body, principal }) => {
      const trigger = await service.update(principal, appId(c), triggerId(c), {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.script_id !== undefined ? { scriptId: body.script_id } : {}),
        ...(body.config !== undefined ? { config: body.config } : {}),
        ...(body.retry !== undefined ? { retry: body.retry } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      });
      return c.json(triggerJson(changed(trigger), principal, c));
    },
  );
  routes.add(
    { method: "delete", path: `${base}/:triggerId`, summary: "Delete a trigger", tag: "triggers", scope: "triggers:write", status: 204 },
    async (c, { principal }) => {
      await service.remove(principal, appId(c), triggerId(c));
      inbound.triggers.forget(triggerId(c));
      return c.body(null, 204);
    },
  );
}
