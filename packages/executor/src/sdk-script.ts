/**
 * The SDK bootstrap (`sdkSource`) compiled in an isolate: once per isolate,
 * from a V8 code cache this thread's isolates share, since every app runs
 * the same bootstrap. While each script version's text carried the
 * bootstrap, an app seen for the first time compiled it from source and
 * then compiled its functions one by one on their first call (V8's
 * function events: ~20 lazy compiles in each new app isolate, 9 now).
 * Measured with one executor thread, 500 new apps of 20 runs each, runs
 * taken in turn with the version before: 9.5–12.7 ms of the process's CPU
 * an app (median 11.0) against 11.0–12.5 (median 12.1), four runs each.
 *
 * Like the runtime's cache (runtime-script.ts) the cache is taken warm,
 * after a run of our own in a throwaway isolate (sdk-warmup.ts): compiled
 * again there, V8 answers from that isolate's compilation cache with the
 * functions the run compiled. A cache is code only (V8's bytecode of that
 * exact text), never an object of the isolate's heap, and V8 refuses one
 * that does not match.
 */
import type ivm from "isolated-vm";
import { compileWithCache, type WithCache } from "./code-cache.ts";
import { SDK_FILENAME, sdkSource } from "./sdk-source.ts";

let cache: ivm.ExternalCopy<ArrayBuffer> | null = null;
let warm = false;

/** The bootstrap compiled in `isolate`, from the shared cache when there is one; the first compile makes a cold one. */
export function compileSdk(isolate: ivm.Isolate): ivm.Script {
  const { script, made } = compileWithCache(isolate, sdkSource(), SDK_FILENAME, cache);
  if (made) {
    // No cache yet, or V8 refused this one: the new cold one replaces it.
    cache?.release();
    cache = made;
    warm = false;
  }
  return script;
}

/** Whether the shared cache is still the cold one (no warm-up has given one yet). */
export function sdkCacheIsCold(): boolean {
  return !warm;
}

/**
 * Takes the warm cache from `isolate`, which compiled the bootstrap and ran
 * our own warm-up through it (sdk-warmup.ts; never an app's isolate). Kept
 * only when larger than the cold one: it then holds the functions the run
 * compiled.
 */
export function takeWarmSdkCache(isolate: ivm.Isolate): void {
  const again: WithCache = isolate.compileScriptSync(sdkSource(), { filename: SDK_FILENAME, produceCachedData: true });
  try {
    const data = again.cachedData;
    if (data && data.copy().byteLength > sdkCacheBytes()) {
      cache?.release();
      cache = data;
      warm = true;
    } else {
      data?.release();
    }
  } finally {
    again.release();
  }
}

/** The shared cache's size in bytes, 0 without one: a warm cache holds the functions a run compiled, so it is the larger. */
export function sdkCacheBytes(): number {
  return cache === null ? 0 : cache.copy().byteLength;
}
