export { createDispatcher } from "./dispatcher.ts";
export type { Dispatcher, DispatcherObserver, DispatcherOptions } from "./dispatcher.ts";
