import { enqueue, type Database, type Invoker, type ScriptsService } from "@switchyard/core";

/**
 * `POST .../invoke`: a `manual` event enqueued in the outbox, like every other
 * event, so it gets the same retries, dead letters and at-least-once delivery.
 */
export function createManualInvoker(deps: { database: Database; scripts: ScriptsService }): Invoker {
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
