import type { BodyBudget } from "../body-budget.ts";
import { readCappedBody } from "../body-limit.ts";
import type { InboundReceiver } from "../email/inbound-receiver.ts";
import { webhookHeaders } from "../public-triggers.ts";
import type { RouteRegistry } from "./registry.ts";
import { closeAfterAnswer } from "../lingering-close.ts";

export const EMAIL_INBOUND_PATH = "/api/v1/email-inbound/:triggerId";

/**
 * `POST /api/v1/email-inbound/{triggerId}`: inbound email for an email
 * trigger. The trigger is looked up before the body is read; the body is
 * then read as raw bytes (signatures cover them exactly) up to the
 * trigger's own cap, under the process's budget of bodies in flight.
 */
export function emailInboundRoutes(routes: RouteRegistry, receiver: InboundReceiver, budget: BodyBudget): void {
  routes.add(
    { method: "post", path: EMAIL_INBOUND_PATH, summary: "Deliver an inbound email to an email trigger (provider-shaped body; Standard Webhooks headers when signed)", tag: "public", public: true, status: 202 },
    async (c) => {
      const lease = budget.lease();
      try {
        const result = await receiver.receive(c.req.param("triggerId") ?? "", {
          contentType: c.req.header("content-type") ?? "",
          headers: webhookHeaders(c),
          readBody: (cap) => readCappedBody(c, cap, lease),
        });
        if (!result.ok) throw result.error;
        const accepted = result.value;
        return accepted.status === "accepted"
          ? c.json({ event_id: accepted.eventId }, 202)
          : c.json({ event_id: null, duplicate: true, message_id: accepted.messageId }, 200);
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
