/**
 * A thread-host module for the threads' tests (threads.start.test.ts): it
 * counts its starts in shared memory the test reads, fails to start when
 * told to, and otherwise forwards to the caller's Host, except the secret
 * `CRASH`, which ends the executor thread as an uncaught bug in it would.
 */
import type { Host } from "../types.ts";

interface FixtureData {
  /** `[0]`: starts so far, across every thread of the executor. */
  starts: Int32Array;
  fail: boolean;
}

export async function createThreadHost({ main, data }: { main: Host; data: unknown }): Promise<Host> {
  const { starts, fail } = data as FixtureData;
  Atomics.add(starts, 0, 1);
  // Asynchronous, as a real one reading its key would be: a rejection, not a throw.
  await null;
  if (fail) throw new Error("thread host: the signing key could not be read");
  return {
    ...main,
    getSecret: (ctx, name) => {
      if (name !== "CRASH") return main.getSecret(ctx, name);
      // Outside the isolate's entry, as an uncaught bug in the thread's own code.
      setImmediate(() => {
        throw new Error("thread host: crashed");
      });
      return new Promise(() => {});
    },
  };
}
