import { describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS, effectiveLimits } from "./options.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

const host = memoryHost();
const TRIVIAL = `export default () => 1;`;

describe("the isolate pool", () => {
  test("keeps at most poolSize warm isolates, evicting the least recently used", async () => {
    const executor = createExecutor({ host, poolSize: 2 });
    try {
      for (const appId of ["app_1", "app_2", "app_3"]) {
        expect((await executor.run(requestFor(compileForTest(TRIVIAL, { appId })))).status).toBe("ok");
      }
      const stats = executor.stats();
      expect(stats.isolates).toBe(2);
      expect(stats.totals.isolatesDisposed.evicted).toBe(1);
      expect(stats.totals.isolatesCreated).toBe(3);
    } finally {
      executor.dispose();
    }
  });

  test("disposes isolates idle for idleMs", async () => {
    const executor = createExecutor({ host, idleMs: 50 });
    try {
      await executor.run(requestFor(compileForTest(TRIVIAL)));
      expect(executor.stats().isolates).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(executor.stats()).toMatchObject({ isolates: 0, contexts: 0 });
      expect(executor.stats().totals.isolatesDisposed.idle).toBe(1);
    } finally {
      executor.dispose();
    }
  });

  test("keeps a few warm contexts per script version and one isolate per app and memory size", async () => {
    const executor = createExecutor({ host, contextsPerVersion: 2 });
    try {
      const script = compileForTest(`export default async () => { await secrets.list(); return 1; };`);
      await Promise.all(Array.from({ length: 4 }, () => executor.run(requestFor(script))));
      expect(executor.stats()).toMatchObject({ isolates: 1, contexts: 2, idleContexts: 2, activeRuns: 0 });
      await executor.run(requestFor(compileForTest(TRIVIAL, { limits: { memoryMb: 16 } })));
      expect(executor.stats().isolates).toBe(2);
    } finally {
      executor.dispose();
    }
  });

  test("a fresh-context script keeps one unused spare and never a used context", async () => {
    const executor = createExecutor({ host });
    try {
      const script = compileForTest(TRIVIAL, { freshContext: true });
      for (let i = 0; i < 3; i++) {
        await executor.run(requestFor(script));
        await new Promise((resolve) => setTimeout(resolve, 30));
        // The used context is freed; the one left is the spare made for the next run.
        expect(executor.stats()).toMatchObject({ contexts: 1, idleContexts: 1 });
      }
    } finally {
      executor.dispose();
    }
  });

  test("dispose ends runs in flight as executor_closed and refuses new ones", async () => {
    const executor = createExecutor({ host });
    const pending = executor.run(requestFor(compileForTest(`export default () => secrets.get("HANG");`)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    executor.dispose();
    expect((await pending).error).toMatchObject({ code: "executor_closed", retry: { kind: "retry" } });
    await expect(executor.run(requestFor(compileForTest(TRIVIAL)))).rejects.toThrow(/dispose/);
  });
});

describe("effectiveLimits", () => {
  test("fills missing or nonsense limits from the defaults and clamps to the maximums", () => {
    expect(effectiveLimits({ memoryMb: 4_096, cpuMs: 0, wallMs: 1_000 }, DEFAULT_LIMITS, DEFAULT_MAX_LIMITS)).toEqual({
      memoryMb: DEFAULT_MAX_LIMITS.memoryMb,
      cpuMs: DEFAULT_LIMITS.cpuMs,
      wallMs: 1_000,
    });
    expect(effectiveLimits({ memoryMb: 1 }, DEFAULT_LIMITS, DEFAULT_MAX_LIMITS).memoryMb).toBe(8);
    expect(effectiveLimits(null, DEFAULT_LIMITS, DEFAULT_MAX_LIMITS)).toEqual(DEFAULT_LIMITS);
  });
});
