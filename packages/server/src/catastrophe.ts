/**
 * What the server does when isolated-vm reports that V8 lost control of an
 * isolate. isolated-vm's advice is to stop serving, finish outstanding work
 * and end the process with `process.abort()`. The stop is SIGTERM's
 * graceful path (cli.ts): the claim loop stops, runs in flight finish and
 * are recorded. The end must be an abort: the executor thread V8 gave up in
 * is parked for good (executor's entry-watch.ts), and Node joins every
 * worker thread when it exits, so a plain exit would wait on it forever,
 * leaving a process that serves nothing and is never restarted.
 */
import type { Logger } from "@switchyard/core";

let ending = false;

export function endAfterCatastrophe(logger: Logger, message: string): void {
  logger.error({ message }, "isolated-vm reported a catastrophic error; stopping, then ending the process by abort");
  if (ending) return;
  ending = true;
  process.once("exit", () => process.abort());
  process.kill(process.pid, "SIGTERM");
}
