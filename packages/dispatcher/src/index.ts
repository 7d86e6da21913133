export { createDispatcher } from "./dispatcher.ts";
export type { Dispatcher, DispatcherObserver, DispatcherOptions } from "./dispatcher.ts";
export { runClaim } from "./run-claim.ts";
export type { ClaimOutcome, RunClaimDeps } from "./run-claim.ts";
