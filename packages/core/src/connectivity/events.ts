import { and, eq } from "drizzle-orm";
import { triggers, type Db } from "@switchyard/db";
import { enqueue } from "../outbox/queue.ts";
import type { ConnectivityConfig } from "../triggers/config.ts";
import { hostMatches } from "./attempts.ts";
import type { ConnectivityStatus } from "./rules.ts";

/**
 * What a `connectivity` trigger's script receives when a destination of its
 * app changes status.
 *
 * @example
 * export default async function (event) {
 *   const { host, from, to, last_error } = event.connectivity;
 *   if (to === "down") await email.send({ to: "ops@example.com", subject: `${host} is down`, text: `was ${from}; last error ${last_error}` });
 * }
 */
export interface ConnectivityEvent {
  kind: "connectivity";
  connectivity: {
    /** The destination, as fetched: `api.example.com`, `127.0.0.1:8080`. */
    host: string;
    from: ConnectivityStatus;
    to: ConnectivityStatus;
    /** When the new status began (ISO 8601). */
    since: string;
    /** The latest failure's code (`connect_failed`, `egress_timeout`, `http_503`, ...), or null. */
    last_error: string | null;
  };
}

export interface ConnectivityChange {
  appId: string;
  host: string;
  from: ConnectivityStatus;
  to: ConnectivityStatus;
  since: Date;
  lastError: string | null;
  /** The status row's change counter after this change: names the change. */
  change: number;
}

const matches = (config: ConnectivityConfig, change: ConnectivityChange) =>
  (config.hosts.length === 0 || config.hosts.some((pattern) => hostMatches(pattern, change.host))) &&
  (config.statuses.length === 0 || config.statuses.includes(change.to));

/**
 * Enqueues one `connectivity` event for each enabled connectivity trigger of
 * the app whose filters match the change. Runs inside the transaction that
 * compare-and-sets the status, so the events exist exactly when the change
 * does: among workers racing on one change, only the winner's commit.
 */
export async function fanOutConnectivityChange(tx: Db, change: ConnectivityChange): Promise<number> {
  const handlers = await tx
    .select()
    .from(triggers)
    .where(and(eq(triggers.appId, change.appId), eq(triggers.kind, "connectivity"), eq(triggers.enabled, true)));
  let delivered = 0;
  for (const handler of handlers) {
    if (!matches(handler.config as ConnectivityConfig, change)) continue;
    const event: ConnectivityEvent = {
      kind: "connectivity",
      connectivity: { host: change.host, from: change.from, to: change.to, since: change.since.toISOString(), last_error: change.lastError },
    };
    await enqueue(tx, {
      appId: change.appId,
      scriptId: handler.scriptId,
      triggerId: handler.id,
      kind: "connectivity",
      event,
      retry: handler.retry,
      origin: `connectivity:${change.host}#${change.change}`,
    });
    delivered += 1;
  }
  return delivered;
}
