/**
 * The web-standard runtime's loader (the WinterTC Minimum Common API), INSIDE
 * the isolate. `sdk-source.ts` bundles it into its own script, run in every
 * context before the script version's own; the SDK bootstrap takes
 * `__sy_runtime` off the global before any script code runs and calls
 * `install` with its bridge to the host.
 *
 * `install` only puts accessors on the global. The runtime itself
 * (`index.ts` and all it imports, whatwg-url included: ~360 KB) is fetched
 * from the host as source text and evaluated on the context's first touch of
 * any of its names. Compiled up front it made an app's cold first run twice
 * as slow, and running its top level cost a fresh context about as much
 * again as making it (measured: ~185 µs against ~35 µs for a context alone):
 * a script that uses none of it should pay for none of it. V8's eval cache
 * keeps the compiled code per isolate, so later contexts only run it.
 *
 * Rules for every file of the runtime: standard JavaScript builtins only (no
 * `Buffer`, `process`, node modules); the only way out is `bridge.ts`, whose
 * calls carry strings; no host object, function or promise is ever handed
 * to script code.
 */
import type { Bridge } from "./bridge.ts";
import type * as RuntimeModule from "./index.ts";

type Runtime = typeof RuntimeModule;

// Captured when the runtime script runs, before any script code exists.
const evaluate = eval;

/** Every global the runtime defines (executor.isolation.test.ts lists them too). */
export const GLOBAL_NAMES = [
  "AbortController", "AbortSignal", "Blob", "Crypto", "CryptoKey", "DOMException", "Event", "EventTarget", "File", "FormData",
  "Headers", "Performance", "Request", "Response", "SubtleCrypto", "TextDecoder", "TextEncoder", "URL", "URLSearchParams",
  "atob", "btoa", "clearInterval", "clearTimeout", "crypto", "fetch", "performance", "queueMicrotask", "self", "setInterval",
  "setTimeout", "structuredClone",
];

let loaded: Runtime | null = null;

/** Puts the runtime's names on `global`, each evaluating the runtime on first touch. */
export function install(global: object, bridge: Bridge): void {
  const getters = new Map<string, () => unknown>();
  const define = (name: string, value: unknown) => Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
  // Still our accessor: the script has not assigned the name a value of its own.
  const untouched = (name: string) => Object.getOwnPropertyDescriptor(global, name)?.get === getters.get(name);
  const load = () => {
    if (loaded === null) {
      // The source of a function expression answering index.ts's exports (sdk-source.ts).
      const source = bridge.callSync("runtime.source", "");
      if (typeof source !== "string" || source === "") throw new TypeError("the web runtime is not available");
      // Indirect eval: global scope, strict (the source says so), nothing of this closure in reach.
      loaded = (evaluate(source) as () => Runtime)();
      loaded.install(global, bridge, (name) => !untouched(name));
    }
  };
  for (const name of GLOBAL_NAMES) {
    const get = () => {
      load();
      return (global as Record<string, unknown>)[name];
    };
    getters.set(name, get);
    Object.defineProperty(global, name, { configurable: true, enumerable: false, get, set: (value: unknown) => define(name, value) });
  }
}

/** A run starts in this context: timers of an earlier run are forgotten (nothing to forget before the first touch). */
export function beginRun(): void {
  loaded?.beginRun();
}
