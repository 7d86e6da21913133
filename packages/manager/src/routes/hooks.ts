import { acceptHook, UnauthorizedError, type Database, type Logger, type TypedTrigger } from "@switchyard/core";
import type { Context } from "hono";
import type { BodyBudget } from "../body-budget.ts";
import { readCappedBody } from "../body-limit.ts";
import { TRIGGER_CHANGED, webhookHeaders, type PublicTriggers } from "../public-triggers.ts";
import { hookEvent } from "./hook-event.ts";
import type { RouteRegistry } from "./registry.ts";
import { closeAfterAnswer } from "../lingering-close.ts";

type HttpTrigger = Extract<TypedTrigger, { kind: "http" }>;

export const HOOKS_PATH = "/api/v1/hooks/:triggerId";

const asHttp = (trigger: TypedTrigger | undefined): HttpTrigger | undefined => (trigger?.kind === "http" && trigger.enabled ? trigger : undefined);

/**
 * `POST /api/v1/hooks/{triggerId}`: an http trigger's public endpoint. One
 * pipeline: look the trigger up (unknown, disabled or not http: 401, as a
 * bad signature, after at most a 64 KiB probe) → read the body up to the
 * trigger's own `max_body_bytes` (a signed trigger answers any failure
 * here with that same 401) → verify Standard Webhooks when the trigger is
 * signed → build the event (400 for what storage cannot hold) → enqueue
 * durably before the 202.
 */
export function hookRoutes(routes: RouteRegistry, deps: { database: Database; logger: Logger; triggers: PublicTriggers; budget: BodyBudget }): void {
  const { database, logger, triggers, budget } = deps;

  async function deliver(c: Context, trigger: HttpTrigger | undefined, body: Buffer) {
    if (!trigger) throw new UnauthorizedError();
    let webhookId: string | null = null;
    if (trigger.config.signing === "standard_webhooks") {
      const checked = await triggers.verifyStandard(trigger, webhookHeaders(c), body);
      if (!checked.ok) {
        logger.warn({ triggerId: trigger.id, reason: checked.reason }, "hook refused");
        throw new UnauthorizedError();
      }
      webhookId = checked.webhookId;
    }
    const event = hookEvent(c, body);
    if (!event.ok) throw event.error;
    const outcome = await acceptHook(database.db, { trigger, http: event.value, webhookId });
    if (outcome.status === "trigger_changed") return TRIGGER_CHANGED;
    if (outcome.status === "replayed") throw new UnauthorizedError();
    return outcome.eventId;
  }

  routes.add(
    { method: "post", path: HOOKS_PATH, summary: "Deliver an event to an http trigger (Standard Webhooks headers when signed)", tag: "public", public: true, status: 202 },
    async (c) => {
      const lease = budget.lease();
      try {
        const readBody = (cap: number) => readCappedBody(c, cap, lease);
        const trigger = asHttp(await triggers.get(c.req.param("triggerId") ?? ""));
        if (!trigger) {
          await triggers.probe(webhookHeaders(c), readBody);
          throw new UnauthorizedError();
        }
        const body = await readBody(trigger.config.max_body_bytes);
        if (!body.ok) throw triggers.unreadBody(trigger, body.error);
        const eventId = await triggers.retryIfChanged(trigger, (fresh) => deliver(c, asHttp(fresh), body.value));
        if (eventId === TRIGGER_CHANGED) throw new UnauthorizedError();
        return c.json({ event_id: eventId }, 202);
      } catch (error) {
        // A refused request's body may be unread: closing beats reading (draining) the rest of it.
        closeAfterAnswer(c);
        throw error;
      } finally {
        lease.release();
      }
    },
  );
}
