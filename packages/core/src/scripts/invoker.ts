import type { Principal } from "../principal.ts";

/** Enqueues a `manual` event for a script; answers at once with the event id to follow it by. */
export interface Invoker {
  invoke(principal: Principal, appRef: string, scriptRef: string, payload: unknown): Promise<{ event_id: string }>;
}
