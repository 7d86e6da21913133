import type { InboundChannel, InboundTally } from "@switchyard/core";
import type { MiddlewareHandler } from "hono";
import type { PublicTriggers } from "./public-triggers.ts";

/**
 * Counts a public endpoint's answers for the stats API: a 2xx is accepted
 * (a repeated Message-ID's 200 included), anything else refused, under the
 * app of the trigger the path names, or under no app when it names none.
 * After the answer is made, from the trigger cache the route just filled,
 * so it costs the request a map lookup and the tally a map increment.
 */
export function countInbound(tally: Pick<InboundTally, "record">, triggers: Pick<PublicTriggers, "get">, channel: InboundChannel): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const trigger = await triggers.get(c.req.param("triggerId") ?? "").catch(() => undefined);
    tally.record(trigger?.appId ?? null, channel, c.res.status >= 200 && c.res.status < 300);
  };
}

/**
 * The SMTP listener's deliveries counted the same way, per recipient
 * trigger: every one accepted when the message was taken, every one refused
 * when it was not (the sender is told to retry, or that it failed for good).
 */
export function countSmtpDeliveries<M extends { targets: string[] }>(
  tally: Pick<InboundTally, "record">,
  triggers: Pick<PublicTriggers, "get">,
  deliver: (message: M) => Promise<void>,
): (message: M) => Promise<void> {
  const count = async (targets: string[], accepted: boolean) => {
    for (const id of targets) {
      const trigger = await triggers.get(id).catch(() => undefined);
      tally.record(trigger?.appId ?? null, "email", accepted);
    }
  };
  return async (message) => {
    try {
      await deliver(message);
    } catch (error) {
      await count(message.targets, false);
      throw error;
    }
    await count(message.targets, true);
  };
}
