/**
 * The executor: runs a compiled script version for an event in its app's
 * isolate, under CPU, wall-clock and memory limits, with the SDK backed by a
 * `Host`, and describes what happened as a `RunOutcome`. The isolates live
 * on executor threads (threads/threaded-executor.ts), or, with `threads: 0`,
 * on the calling thread (local-executor.ts).
 */
import { createLocalExecutor, type Executor } from "./local-executor.ts";
import { resolveOptions, type ExecutorOptions } from "./options.ts";
import { createThreadedExecutor } from "./threads/threaded-executor.ts";

export type { Executor, ExecutorStats } from "./local-executor.ts";

/**
 * Creates an executor. Each app gets its own isolate (never shared across
 * apps), kept warm on the app's executor thread in a pool bounded by the
 * memory its isolates measure (`isolateMemoryMb`, isolate-pool.ts); a script
 * version's context is reused across its runs unless the script asks for
 * `freshContext`.
 *
 * @example
 * const executor = createExecutor({ host, maxLimits: { memoryMb: 128, cpuMs: 10_000, wallMs: 60_000 } });
 * const outcome = await executor.run({ script, event: { kind: "manual", payload: {} }, ctx });
 * if (outcome.status !== "ok") console.error(outcome.error?.message, outcome.error?.retry);
 */
export function createExecutor(options: ExecutorOptions): Executor {
  const config = resolveOptions(options);
  return config.threads === 0 ? createLocalExecutor(config) : createThreadedExecutor(config);
}
