import { describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { Host } from "./types.ts";

const FIXTURE = new URL("./threads/thread-host.fixture.ts", import.meta.url).href;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("executor threads that fail", () => {
  test("a thread whose thread-host fails to start fails its runs with a clear error, and is respawned with backoff, not in a loop", async () => {
    const starts = new Int32Array(new SharedArrayBuffer(4));
    const failures: Array<{ op: string; message: string }> = [];
    const executor = createExecutor({
      host: memoryHost(),
      threads: 1,
      threadHost: { module: FIXTURE, data: { starts, fail: true } },
      onHostFailure: (error, info) => failures.push({ op: info.op, message: (error as Error).message }),
    });
    try {
      const script = compileForTest(`export default () => 1`, { appId: "app_nostart" });
      const first = await executor.run(requestFor(script));
      expect(first).toMatchObject({ status: "error", result: null });
      expect(first.error).toMatchObject({ name: "ExecutorUnavailableError", code: "executor_unavailable", retry: { kind: "retry" } });
      expect(first.error?.message).toMatch(/executor thread could not start/);
      // The cause goes to the operator, not into the run's stored error.
      expect(first.error?.message).not.toMatch(/signing key/);
      expect(failures[0]).toEqual({ op: "executor.thread", message: "thread host: the signing key could not be read" });

      const before = Atomics.load(starts, 0);
      await sleep(1_000);
      // Backoff from 250 ms, doubling: at most 3 starts in a second (respawned at once: 9 to 12 here).
      expect(Atomics.load(starts, 0) - before).toBeLessThanOrEqual(3);
      // A run asked for while the thread waits to start again fails at once.
      const t0 = performance.now();
      const again = await executor.run(requestFor(script));
      expect(again.error?.code).toBe("executor_unavailable");
      expect(performance.now() - t0).toBeLessThan(1_000);
    } finally {
      await executor.dispose();
    }
  });

  test("a thread that dies has its host calls aborted, and is replaced at once", async () => {
    const starts = new Int32Array(new SharedArrayBuffer(4));
    const aborted: string[] = [];
    const host: Host = {
      ...memoryHost(),
      fetch: (_ctx, request, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            aborted.push(request.url);
            reject(Object.assign(new Error("aborted"), { code: "aborted" }));
          });
        }),
    };
    const executor = createExecutor({ host, threads: 1, threadHost: { module: FIXTURE, data: { starts, fail: false } }, onHostFailure: () => {} });
    try {
      const crash = compileForTest(
        `export default async () => {
          fetch("https://hang.example/held").catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, 100));
          await secrets.get("CRASH");
        };`,
        { appId: "app_crash", limits: { wallMs: 10_000 } },
      );
      const out = await executor.run(requestFor(crash));
      expect(out.error?.code).toBe("isolate_disposed");
      // The fetch the dead thread was waiting for is aborted on the caller's side.
      await sleep(100);
      expect(aborted).toEqual(["https://hang.example/held"]);
      // The thread had started: its replacement is made at once and runs.
      expect((await executor.run(requestFor(compileForTest(`export default () => 2`, { appId: "app_crash" })))).result).toBe(2);
      expect(Atomics.load(starts, 0)).toBe(2);
    } finally {
      await executor.dispose();
    }
  });
});
