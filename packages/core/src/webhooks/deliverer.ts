import { signWebhook } from "@switchyard/crypto";
import type { Database } from "@switchyard/db";
import type { Logger } from "../logger.ts";
import { claimDeliveries, completeDelivery, pruneDeliveries, type AttemptOutcome, type ClaimedDelivery, type DeliveryResult } from "./deliveries.ts";
import { WEBHOOKS_CHANNEL } from "./enqueue.ts";
import { webhookScope, webhookSecretAad, type WebhookSealer } from "./service.ts";

/** One POST of a delivery, as the host's egress client sends it. */
export interface WebhookRequest {
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
  timeoutMs: number;
}

/**
 * Sends a request and answers the receiver's status. A request that got no
 * answer (refused by the egress policy, DNS, connect, TLS, timeout) rejects
 * with an error carrying a `code` (`egress_denied`, `connect_failed`, ...).
 */
export type WebhookSend = (request: WebhookRequest) => Promise<{ status: number }>;

export interface WebhookDelivererOptions {
  database: Database;
  sealer: Pick<WebhookSealer, "openForScope">;
  send: WebhookSend;
  logger: Logger;
  /** Deliveries in flight in this process. */
  concurrency?: number;
  /** One attempt, connecting and the answer included (default 10 s). */
  timeoutMs?: number;
  /** Fallback poll when no NOTIFY arrives (retries become due without one). */
  pollMs?: number;
  /** How often finished deliveries are forgotten (hourly by default): delivered after 7 days, dead letters after 30. */
  housekeepingMs?: number;
  /** Called with each recorded attempt (tests and metrics). */
  onAttempt?: (delivery: ClaimedDelivery, outcome: AttemptOutcome, result: DeliveryResult) => void;
}

const USER_AGENT = "Switchyard-Webhooks/1";

/**
 * The delivery loop of one worker process: woken by NOTIFY (polling as the
 * fallback), it claims due webhook deliveries, signs each with its webhook's
 * secret (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature` over `{id}.{timestamp}.{body}`), POSTs it, and records
 * the attempt fenced by its lease. Any 2xx is delivered; anything else, or no
 * answer, is retried with the webhook's backoff until its last attempt,
 * which leaves a dead letter. The lease outlasts one attempt's timeout, so
 * it needs no renewal; a process that dies mid-attempt loses the lease and
 * the delivery is attempted again (at least once: receivers dedupe on
 * `webhook-id`).
 *
 * @example
 * const deliverer = createWebhookDeliverer({ database, sealer: secrets, send, logger });
 * await deliverer.start();
 * // on SIGTERM:
 * await deliverer.stop();
 */
export function createWebhookDeliverer(options: WebhookDelivererOptions) {
  const { database, logger } = options;
  const concurrency = options.concurrency ?? 4;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const leaseMs = timeoutMs + 30_000;
  const pollMs = options.pollMs ?? 1_000;
  const inFlight = new Set<Promise<void>>();
  let running = false;
  let notified = false;
  let wake: (() => void) | null = null;
  let loop: Promise<void> | null = null;
  let unlisten: (() => Promise<void>) | null = null;
  let housekeeping: NodeJS.Timeout | null = null;

  const poke = () => wake?.();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  async function attempt(delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    // Its deliverer was lost on every attempt so far: no further attempt.
    if (delivery.attempts > delivery.retry.max_attempts) return { status: null, error: { code: "worker_lost", message: "the process attempting this delivery stopped before recording it, on every attempt" } };
    let secret: string;
    try {
      secret = (await options.sealer.openForScope(webhookScope(delivery.workspaceId), webhookSecretAad(delivery.webhookId), delivery.secretSealed)).toString("utf8");
    } catch {
      return { status: null, error: { code: "decrypt_failed", message: "the webhook's signing secret could not be decrypted" } };
    }
    const body = new TextEncoder().encode(JSON.stringify(delivery.payload));
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Array<[string, string]> = [
      ["content-type", "application/json"],
      ["user-agent", USER_AGENT],
      ["webhook-id", delivery.messageId],
      ["webhook-timestamp", String(timestamp)],
      ["webhook-signature", signWebhook(secret, delivery.messageId, timestamp, body)],
    ];
    try {
      const { status } = await options.send({ url: delivery.url, headers, body, timeoutMs });
      if (status >= 200 && status < 300) return { status, error: null };
      return { status, error: { code: `http_${status}`, message: `the receiver answered HTTP ${status}` } };
    } catch (error) {
      const code = typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : "send_failed";
      return { status: null, error: { code, message: error instanceof Error ? error.message : String(error) } };
    }
  }

  async function deliver(delivery: ClaimedDelivery): Promise<void> {
    const outcome = await attempt(delivery);
    const result = await completeDelivery(database.db, delivery, outcome);
    const fields = { webhookId: delivery.webhookId, deliveryId: delivery.id, attempt: delivery.attempts, status: outcome.status, code: outcome.error?.code };
    if (result === "dead_lettered") logger.warn(fields, "webhook delivery dead-lettered after its last attempt");
    else if (result === "retrying") logger.info(fields, "webhook delivery failed; it will be retried");
    else if (result === "lost") logger.warn(fields, "webhook delivery's lease lapsed before it was recorded; it will be attempted again");
    options.onAttempt?.(delivery, outcome, result);
  }

  async function run(): Promise<void> {
    while (running) {
      const room = concurrency - inFlight.size;
      if (room > 0) {
        notified = false;
        let claimed: ClaimedDelivery[] = [];
        try {
          claimed = await claimDeliveries(database.db, { limit: room, leaseMs });
        } catch (error) {
          logger.error({ err: error }, "claiming webhook deliveries failed");
        }
        for (const delivery of claimed) {
          const done: Promise<void> = deliver(delivery)
            .catch((error: unknown) => logger.error({ err: error, deliveryId: delivery.id }, "recording a webhook delivery failed; its lease will lapse and it will be attempted again"))
            .finally(() => {
              inFlight.delete(done);
              poke();
            });
          inFlight.add(done);
        }
        // A full claim suggests more is due: go round at once.
        if (claimed.length === room || notified) continue;
      }
      await sleep(pollMs);
    }
  }

  return {
    async start(): Promise<void> {
      if (running) return;
      running = true;
      unlisten = await database.listen(WEBHOOKS_CHANNEL, () => {
        notified = true;
        poke();
      });
      housekeeping = setInterval(() => {
        pruneDeliveries(database.db, { deliveredDays: 7, deadDays: 30 }).catch((error: unknown) => logger.error({ err: error }, "forgetting old webhook deliveries failed"));
      }, options.housekeepingMs ?? 3_600_000);
      housekeeping.unref();
      loop = run();
    },

    /** Stops claiming and waits for the attempts in flight to be recorded. */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      poke();
      await loop;
      await Promise.allSettled([...inFlight]);
      if (housekeeping) clearInterval(housekeeping);
      await unlisten?.();
    },
  };
}

export type WebhookDeliverer = ReturnType<typeof createWebhookDeliverer>;
