import ivm from "isolated-vm";
import { expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import type { WithCache } from "./code-cache.ts";
import { sdkCacheBytes, sdkCacheIsCold } from "./sdk-script.ts";
import { SDK_FILENAME, sdkSource } from "./sdk-source.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

// The SDK bootstrap is the same text for every app: each new isolate
// compiles it from a code cache the thread's isolates share, taken warm
// after a first run so that it holds the functions a run calls.

/** Lets the pool's work between runs (later.ts: two setImmediate hops) happen. */
const betweenRuns = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));

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

test("after a first run the shared cache is warm: it holds the bootstrap's functions, and later apps' isolates run from it", async () => {
  const executor = createExecutor({ host: memoryHost(), threads: 0 });
  try {
    expect(sdkCacheIsCold()).toBe(true);
    const first = await executor.run(requestFor(compileForTest("export default () => 1", { appId: "app_first" })));
    expect(first).toMatchObject({ status: "ok", result: 1 });
    await betweenRuns();
    expect(sdkCacheIsCold()).toBe(false);
    const warm = sdkCacheBytes();
    // The warm cache holds code the cold one leaves to each isolate to compile on first call.
    expect(warm).toBeGreaterThan(coldCacheBytes() * 1.5);

    // Other apps (new isolates) run from it; V8 refusing it would have dropped it.
    for (const appId of ["app_second", "app_third"]) {
      const outcome = await executor.run(requestFor(compileForTest("export default async (event) => ({ kind: event.kind, has: typeof secrets.get })", { appId })));
      expect(outcome).toMatchObject({ status: "ok", result: { kind: "manual", has: "function" } });
    }
    await betweenRuns();
    expect(executor.stats().totals.isolatesCreated).toBeGreaterThanOrEqual(3);
    expect(sdkCacheIsCold()).toBe(false);
    expect(sdkCacheBytes()).toBe(warm);
  } finally {
    executor.dispose();
  }
});
