/**
 * What the server does when isolated-vm reports that V8 lost control of an
 * isolate. isolated-vm's advice is to stop serving, finish outstanding
 * work and end the process. The stop is asked of whoever runs the server
 * (`serve` stops as on SIGTERM: the claim loop stops, runs in flight finish
 * and are recorded). The end must be a kill: the executor thread V8 gave
 * up in is stuck for good (executor's entry-watch.ts), and Node joins
 * every worker thread when it exits, so a plain exit would wait on it
 * forever, leaving a process that serves nothing and is never restarted.
 * SIGKILL rather than `process.abort()`: an abort may write a core dump,
 * and a tenant could make one per event until the disk is full.
 */
import type { Logger } from "@switchyard/core";

let ending = false;

/** Logs the catastrophe, makes the process's exit a SIGKILL, and asks for a stop (`requestStop`, once). */
export function endAfterCatastrophe(logger: Logger, message: string, requestStop: (() => void) | undefined): void {
  logger.error({ message }, "isolated-vm reported a catastrophic error; stopping, then ending the process by SIGKILL");
  if (ending) return;
  ending = true;
  process.once("exit", () => process.kill(process.pid, "SIGKILL"));
  requestStop?.();
}
