import type { Database } from "@switchyard/db";
import { enqueue } from "../outbox/queue.ts";
import type { Principal } from "../principal.ts";
import type { ScriptsService } from "./service.ts";

/** Enqueues a `manual` event for a script; answers at once with the event id to follow it by. */
export interface Invoker {
  invoke(principal: Principal, appRef: string, scriptRef: string, payload: unknown): Promise<{ event_id: string }>;
}

/**
 * `POST .../invoke`: a `manual` event enqueued in the outbox, like every other
 * event, so it gets the same retries, dead letters and at-least-once delivery.
 */
export function createManualInvoker(deps: { database: Database; scripts: Pick<ScriptsService, "forInvoke"> }): Invoker {
  return {
    async invoke(principal, appRef, scriptRef, payload) {
      const { app, script } = await deps.scripts.forInvoke(principal, appRef, scriptRef);
      const eventId = await deps.database.db.transaction((tx) =>
        enqueue(tx, { appId: app.id, scriptId: script.id, kind: "manual", event: { kind: "manual", payload }, origin: principal.id }),
      );
      return { event_id: eventId };
    },
  };
}
