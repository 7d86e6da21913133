export { createDispatcher } from "./dispatcher.ts";
export type { Dispatcher, DispatcherOptions } from "./dispatcher.ts";
export { runClaim } from "./run-claim.ts";
export type { RunClaimDeps } from "./run-claim.ts";
