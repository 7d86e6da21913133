import { describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS, effectiveLimits } from "./options.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { CompiledScript } from "./types.ts";

const host = memoryHost();
const TRIVIAL = `export default () => 1;`;

describe("the isolate pool", () => {
  test("keeps at most poolSize isolates; a cold app waits in the window, where its runs find it, and displaces a warm one only once it was used more", async () => {
    // A window of one place (a sixteenth of 2, at least one) and one warm place.
    const executor = createExecutor({ host, poolSize: 2 });
    const run = async (appId: string) => expect((await executor.run(requestFor(compileForTest(TRIVIAL, { appId })))).status).toBe("ok");
    try {
      await run("app_1");
      await run("app_2");
      expect(executor.stats()).toMatchObject({ isolates: 2, totals: { isolatesCreated: 2 } });
      // app_3 pushes app_2 out of the window; used once, as app_1 (warm) was, app_2 goes.
      await run("app_3");
      expect(executor.stats()).toMatchObject({ isolates: 2, totals: { isolatesCreated: 3, isolatesDisposed: { not_admitted: 1, evicted: 0 } } });
      // Its next run finds it in the window: no cold start.
      await run("app_3");
      expect(executor.stats()).toMatchObject({ isolates: 2, totals: { isolatesCreated: 3 } });
      // app_4 pushes it out of the window; used twice against app_1's once, it takes app_1's warm place.
      await run("app_4");
      expect(executor.stats()).toMatchObject({ isolates: 2, totals: { isolatesCreated: 4, isolatesDisposed: { not_admitted: 1, evicted: 1 } } });
      await run("app_3");
      expect(executor.stats().totals.isolatesCreated).toBe(4);
      // app_5 pushes app_4 (used once) out of the window: app_3, warm, was used more, so app_4 goes.
      await run("app_5");
      expect(executor.stats()).toMatchObject({ isolates: 2, totals: { isolatesCreated: 5, isolatesDisposed: { not_admitted: 2, evicted: 1 } } });
    } finally {
      executor.dispose();
    }
  });

  test("apps run twice each in passing do not push out apps used more: the window keeps its place, the warm ones keep theirs", async () => {
    // Two warm places and one in the window.
    const executor = createExecutor({ host, poolSize: 3 });
    const run = async (appId: string) => expect((await executor.run(requestFor(compileForTest(TRIVIAL, { appId })))).status).toBe("ok");
    try {
      for (let i = 0; i < 5; i++) {
        await run("app_a");
        await run("app_b");
      }
      for (const appId of ["app_x1", "app_x2", "app_x3"]) {
        await run(appId);
        await run(appId);
      }
      expect(executor.stats()).toMatchObject({ isolates: 3, totals: { isolatesCreated: 5, isolatesDisposed: { not_admitted: 2, evicted: 0 } } });
      // The apps used most are still warm.
      await run("app_a");
      await run("app_b");
      expect(executor.stats().totals.isolatesCreated).toBe(5);
    } finally {
      executor.dispose();
    }
  });

  test("apps taking turns, three times as many as fit in its memory, still hit warm isolates about as often as fit", async () => {
    // About 1.1 MB each: a handful fit.
    const executor = createExecutor({ host, isolateMemoryMb: 8 });
    try {
      const scripts = new Map(Array.from({ length: 50 }, (_, i) => [`app_${i}`, compileForTest(TRIVIAL, { appId: `app_${i}` })]));
      const runApp = async (appId: string) => expect((await executor.run(requestFor(scripts.get(appId) as CompiledScript))).status).toBe("ok");
      for (let i = 0; i < 50; i++) await runApp(`app_${i}`);
      const fit = executor.stats().isolates;
      expect(fit).toBeGreaterThanOrEqual(3);
      expect(executor.stats().isolateBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
      const apps = Array.from({ length: 3 * fit }, (_, i) => `app_${i}`);
      const before = executor.stats().totals;
      const rounds = 6;
      for (let round = 0; round < rounds; round++) for (const appId of apps) await runApp(appId);
      const after = executor.stats();
      const runs = after.totals.runs - before.runs;
      const hits = runs - (after.totals.isolatesCreated - before.isolatesCreated);
      // Plain LRU hits 0 here. The ideal is fit / (3 × fit): a third.
      expect(hits / runs).toBeGreaterThan(0.25);
      expect(after.isolateBytes).toBeLessThanOrEqual(after.isolateBudgetBytes);
    } finally {
      executor.dispose();
    }
  });

  test("an app's first run with the default memory limit takes the spare made ahead, and another is made between runs", async () => {
    const executor = createExecutor({ host, defaultLimits: { memoryMb: 64 } });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 30));
    try {
      await settle();
      expect(executor.stats().spareIsolates).toBe(1);
      const spareBytes = executor.stats().isolateBytes;
      const outcome = await executor.run(requestFor(compileForTest(`export default () => typeof URL`, { limits: { memoryMb: 64 } })));
      expect(outcome).toMatchObject({ status: "ok", result: "function" });
      expect(executor.stats()).toMatchObject({ isolates: 1, spareIsolates: 0 });
      await settle();
      expect(executor.stats().spareIsolates).toBe(1);
      expect(executor.stats().isolateBytes).toBeGreaterThan(spareBytes);
      // Another memory limit gets an isolate of its own making.
      await executor.run(requestFor(compileForTest(TRIVIAL, { appId: "app_small", limits: { memoryMb: 16 } })));
      expect(executor.stats()).toMatchObject({ isolates: 2, spareIsolates: 1 });
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
