import { fastBodyLimit } from "../body-limit.ts";
import type { InboundReceiver } from "../email/inbound-receiver.ts";
import { errorBody } from "../http-errors.ts";
import type { RouteRegistry } from "./registry.ts";

export const EMAIL_INBOUND_PATH = "/api/v1/email-inbound/:triggerId";

/**
 * `POST /api/v1/email-inbound/{triggerId}`: inbound email for an email
 * trigger. The body is read as raw bytes (signatures cover them exactly) up
 * to the email cap; a larger body is refused with 413 before any HMAC work.
 */
export function emailInboundRoutes(routes: RouteRegistry, receiver: InboundReceiver, maxBytes: number): void {
  const limit = fastBodyLimit({
    maxSize: maxBytes,
    onError: (c) => c.json(errorBody("too_large", `the body exceeds ${maxBytes} bytes`, { limit: maxBytes }), 413),
  });
  routes.add(
    { method: "post", path: EMAIL_INBOUND_PATH, summary: "Deliver an inbound email to an email trigger (provider-shaped body; Standard Webhooks headers when signed)", tag: "public", public: true, status: 202 },
    async (c) => {
      let body: Buffer | null = null;
      const tooLarge = await limit(c, async () => {
        body = Buffer.from(await c.req.arrayBuffer());
      });
      if (tooLarge) return tooLarge;
      const answer = await receiver.receive(c.req.param("triggerId") ?? "", {
        contentType: c.req.header("content-type") ?? "",
        body: body ?? Buffer.alloc(0),
        headers: { id: c.req.header("webhook-id"), timestamp: c.req.header("webhook-timestamp"), signature: c.req.header("webhook-signature") },
      });
      for (const [name, value] of Object.entries(answer.headers ?? {})) c.header(name, value);
      return c.json(answer.body as object, answer.status);
    },
  );
}
