import { createWebhookDeliverer, createWebhooksService, type Database, type Logger, type SecretsService, type WebhookSend } from "@switchyard/core";
import { createFetchClient, type EgressPolicy, type FetchClient } from "@switchyard/egress";

/** What a receiver may answer us: the status is all we read, so the body is capped low. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** One attempt, connecting and the answer included. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * Sends a delivery through the host's egress client: the destination policy
 * is checked on every address connected to (a private address is refused
 * unless the operator opened it), redirects are not followed (a 3xx is a
 * failed attempt, as Standard Webhooks senders do), TLS always verifies.
 */
export function webhookSend(client: FetchClient): WebhookSend {
  return async ({ url, headers, body, timeoutMs }) => {
    const response = await client.fetch({ method: "POST", url, headers, body, redirect: "manual" }, { timeoutMs });
    return { status: response.status };
  };
}

/**
 * The operator webhooks of one process: the service the admin API uses and,
 * in a worker, the delivery loop with its own egress client (its own
 * connections and body cap, apart from scripts' fetches).
 */
export function createOperatorWebhooks(deps: { database: Database; secrets: SecretsService; logger: Logger; egress: EgressPolicy; egressCa: string | null; worker: boolean }) {
  const service = createWebhooksService({ db: deps.database.db, sealer: deps.secrets, egress: deps.egress });
  const client = deps.worker
    ? createFetchClient({ policy: deps.egress, ...(deps.egressCa ? { ca: [deps.egressCa] } : {}), maxResponseBytes: MAX_RESPONSE_BYTES, timeoutMs: WEBHOOK_TIMEOUT_MS })
    : null;
  const deliverer = client
    ? createWebhookDeliverer({ database: deps.database, sealer: deps.secrets, send: webhookSend(client), logger: deps.logger.child({ component: "webhooks" }), timeoutMs: WEBHOOK_TIMEOUT_MS })
    : null;
  return {
    service,
    start: async () => deliverer?.start(),
    /** Finishes the attempts in flight and records them, then closes the connections. */
    async stop() {
      await deliverer?.stop();
      await client?.close();
    },
  };
}
