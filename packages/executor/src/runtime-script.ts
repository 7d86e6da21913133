/**
 * Compiles the web runtime's two scripts in an isolate (see sdk-source.ts):
 * the loader, which every context runs, and the runtime proper, compiled the
 * first time a context of the isolate needs it. Both come from V8 code
 * caches made once per process, so an app's new isolate deserializes code
 * instead of parsing it again.
 *
 * The runtime proper's cache is made warm: in a throwaway isolate the
 * runtime is run and its common paths used (warmup-script.ts), then compiled
 * again, which V8 answers from that isolate's compilation cache with the
 * functions compiled by then, and only then serialized. A cache taken
 * straight after a compile holds the top level only: every app would compile
 * URL parsing, Headers and the rest again on its first use of them
 * (measured: ~5 ms, against ~1.2 ms to deserialize the warm cache). Only
 * code leaves the throwaway isolate, never an object of its heap.
 */
import ivm from "isolated-vm";
import { compileWithCache, type WithCache } from "./code-cache.ts";
import { releaseQuietly } from "./handles.ts";
import { settledWithin } from "./later.ts";
import { RUNTIME_FILENAME, RUNTIME_RECEIVER, runtimeProperSource, runtimeSource } from "./sdk-source.ts";
import { WARMUP_RECEIVER, WARMUP_SCRIPT } from "./warmup-script.ts";


let loaderCache: ivm.ExternalCopy<ArrayBuffer> | null = null;
let properCache: ivm.ExternalCopy<ArrayBuffer> | null = null;
let warming: Promise<void> | null = null;

/** The loader compiled in `isolate`, synchronously; the first compile in the process (or thread) makes its code cache, until the warm one is ready. */
export function compileLoader(isolate: ivm.Isolate): ivm.Script {
  const { script, made } = compileWithCache(isolate, runtimeSource(), RUNTIME_FILENAME, loaderCache);
  if (made) loaderCache = made;
  return script;
}

/**
 * The runtime proper compiled in `isolate`, synchronously: a context asks
 * for it from inside a synchronous call. Without the warm cache (not made
 * yet, or refused) V8 compiles from source, which is slower, never wrong.
 */
export function compileRuntimeProperSync(isolate: ivm.Isolate): ivm.Script {
  const source = runtimeProperSource();
  if (properCache !== null) {
    const script: WithCache = isolate.compileScriptSync(source, { filename: RUNTIME_FILENAME, cachedData: properCache });
    if (script.cachedDataRejected !== true) return script;
    script.release();
  }
  prepareRuntimeCache();
  return isolate.compileScriptSync(source, { filename: RUNTIME_FILENAME });
}

/** An isolate's URL library (runtime/url-library.ts): its context, and a reference to the library in it. */
export interface UrlLibraryHandles {
  context: ivm.Context;
  library: ivm.Reference<unknown>;
}

/**
 * Makes `isolate`'s URL library: a context of its own in which the runtime
 * proper (`proper`, compiled in that isolate) is evaluated and the library
 * made, which locks the context (runtime/url-library.ts). No script code
 * ever runs there. Synchronous: a context asks for it from inside a
 * synchronous call. Null when it cannot be made (the isolate is at its
 * memory limit, or going): the context asking parses with its own copy.
 */
export function makeUrlLibrary(isolate: ivm.Isolate, proper: ivm.Script): UrlLibraryHandles | null {
  let context: ivm.Context | null = null;
  try {
    context = isolate.createContextSync();
    // The proper's top level is one call of the receiver: its value is the script's.
    context.evalSync(`globalThis.${RUNTIME_RECEIVER}=(evaluate)=>evaluate().makeUrlLibrary();`);
    const library = proper.runSync(context, { reference: true }) as ivm.Reference<unknown>;
    if (library.typeof !== "object") {
      library.release();
      throw new Error("no library");
    }
    return { context, library };
  } catch {
    releaseQuietly(context);
    return null;
  }
}

/**
 * Starts making the warm code caches, once per process, off the event loop
 * (isolated-vm compiles and runs on its own threads). The executor calls it
 * when it is made, so the first app that needs the runtime finds the cache
 * ready. The loader's warm cache replaces the one its first compile made.
 */
export function prepareRuntimeCache(): Promise<void> {
  warming ??= warmCaches(runtimeSource(), runtimeProperSource()).then(
    (caches) => {
      if (caches.loader) loaderCache = caches.loader;
      properCache = caches.proper;
    },
    // Only making the throwaway isolate can fail here (each warm-up's own
    // failure answers null). Without a cache every isolate compiles the
    // runtime from source; a runtime that fails to run here fails in the
    // first run that uses it, which reports the error.
    () => {},
  );
  return warming;
}

/**
 * Settles once the warm-ups started by prepareRuntimeCache are over (at
 * once when none was started), or after `waitMs` at most. An executor
 * thread waits for it before it lets itself be terminated: a thread ended
 * while isolated-vm still works for it in the background takes the whole
 * process down (isolated-vm asserts it has an environment).
 */
export function runtimeCacheSettled(waitMs: number): Promise<void> {
  return settledWithin(warming, waitMs);
}

/**
 * The code caches of the loader and the runtime proper, each taken after a
 * warm-up run (see the file comment), in one throwaway isolate, each run in
 * a context of its own. The loader's top level is small, but a cache taken
 * before it ran made every new isolate compile it again (measured: 0.31 ms
 * to run it in a new isolate, against 0.10 from the warm cache).
 */
async function warmCaches(loaderSource: string, properSource: string): Promise<{ loader: ivm.ExternalCopy<ArrayBuffer> | null; proper: ivm.ExternalCopy<ArrayBuffer> | null }> {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  try {
    // Each apart: a loader that fails here still leaves the runtime's cache, and the other way round.
    const loader = await warmLoader(isolate, loaderSource).catch(() => null);
    const proper = await warmProper(isolate, properSource).catch(() => null);
    return { loader, proper };
  } finally {
    isolate.dispose();
  }
}

async function warmLoader(isolate: ivm.Isolate, source: string): Promise<ivm.ExternalCopy<ArrayBuffer> | null> {
  const first = await isolate.compileScript(source, { filename: RUNTIME_FILENAME });
  await first.run(await isolate.createContext());
  return cacheOfCompiled(isolate, source);
}

async function warmProper(isolate: ivm.Isolate, source: string): Promise<ivm.ExternalCopy<ArrayBuffer> | null> {
  const context = await isolate.createContext();
  const first = await isolate.compileScript(source, { filename: RUNTIME_FILENAME });
  await context.eval(WARMUP_RECEIVER);
  await first.run(context);
  await context.eval(WARMUP_SCRIPT, { timeout: 5_000 });
  return cacheOfCompiled(isolate, source);
}

/** `source` compiled again after it ran: V8 answers from the isolate's compilation cache, with what the run compiled (see the file comment). */
async function cacheOfCompiled(isolate: ivm.Isolate, source: string): Promise<ivm.ExternalCopy<ArrayBuffer> | null> {
  const again: WithCache = await isolate.compileScript(source, { filename: RUNTIME_FILENAME, produceCachedData: true });
  return again.cachedData ?? null;
}
