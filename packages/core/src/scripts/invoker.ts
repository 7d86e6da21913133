import type { Principal } from "../principal.ts";

/** Starts a script run with a `manual` event; answers at once with the ids to follow it by. */
export interface Invoker {
  invoke(principal: Principal, appRef: string, scriptRef: string, payload: unknown): Promise<{ event_id: string; run_id: string }>;
}
