export { createDispatcher } from "./dispatcher.ts";
export type { Dispatcher, DispatcherObserver, DispatcherOptions } from "./dispatcher.ts";
export { createCompletionBatch } from "./completion-batch.ts";
export type { CompletionBatch, CompletionBatchOptions } from "./completion-batch.ts";
