import ivm from "isolated-vm";
import { expect, test, vi } from "vitest";
import { createExecutor } from "./executor.ts";
import type { WithCache } from "./code-cache.ts";
import { compileSdk, sdkCacheBytes, sdkCacheIsCold } from "./sdk-script.ts";
import { SDK_FILENAME, sdkSource } from "./sdk-source.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

// The SDK bootstrap is the same text for every app: each new isolate
// compiles it from a code cache the thread's isolates share, made warm by a
// run of our own in a throwaway isolate (sdk-warmup.ts), never by an app's.

/** The cache V8 makes right after compiling the bootstrap: its top level only. */
function coldCacheBytes(): number {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  try {
    const script: WithCache = isolate.compileScriptSync(sdkSource(), { filename: SDK_FILENAME, produceCachedData: true });
    return script.cachedData?.copy().byteLength ?? 0;
  } finally {
    isolate.dispose();
  }
}

test("the executor's warm-up makes the shared cache warm; apps' runs use it and never change it; V8 takes it", async () => {
  // Vitest gives each file its own modules: this file's is the only test, so no executor has warmed it yet.
  expect(sdkCacheIsCold()).toBe(true);
  const executor = createExecutor({ host: memoryHost(), threads: 0 });
  try {
    // The executor starts it between turns, with nothing asked of it here.
    await vi.waitFor(() => expect(sdkCacheIsCold()).toBe(false), { timeout: 10_000 });
    const warm = sdkCacheBytes();
    // The warm cache holds code the cold one leaves to each isolate to compile on first call.
    expect(warm).toBeGreaterThan(coldCacheBytes() * 1.5);

    // Apps (each a new isolate) run from it, whatever SDK paths they take.
    const scripts = [
      "export default () => 1",
      "export default async (event) => ({ kind: event.kind, names: await secrets.list(), has: typeof email.send })",
      "export default async () => { try { await secrets.get('MISSING'); } catch (e) { return e.name; } }",
    ];
    for (const [i, source] of scripts.entries()) {
      const outcome = await executor.run(requestFor(compileForTest(source, { appId: `app_${i}` })));
      expect(outcome.status).toBe("ok");
    }
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));
    expect(executor.stats().totals.isolatesCreated).toBe(scripts.length);
    expect(sdkCacheBytes()).toBe(warm);

    // Taken by V8: a refused cache would have been replaced by a cold one.
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const script = compileSdk(isolate) as WithCache;
      expect(script.cachedDataRejected).toBe(false);
      script.release();
    } finally {
      isolate.dispose();
    }
    expect(sdkCacheIsCold()).toBe(false);
    expect(sdkCacheBytes()).toBe(warm);
  } finally {
    executor.dispose();
  }
});
