// Starts a worker_thread on a TypeScript module: hooks registered on the
// main thread do not reach a worker, so the worker registers tsx itself.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
