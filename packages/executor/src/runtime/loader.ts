/**
 * The web-standard runtime's loader (the WinterTC Minimum Common API), INSIDE
 * the isolate. `sdk-source.ts` bundles it into its own script, run in every
 * context before the script version's own; the SDK bootstrap takes
 * `__sy_runtime` (what `connect` answers) off the global before any script
 * code runs and calls `install` with its bridge to the host.
 *
 * `install` only puts accessors on the global. The runtime proper
 * (`index.ts` and all it imports, whatwg-url included: ~360 KB) is a script
 * of its own, compiled once per isolate by the host (from a code cache) and
 * run in a context on the context's first touch of a runtime name: the
 * accessor asks the host, in a synchronous call, to run it in this context.
 * Its top level only calls `__sy_runtime_receive` with a function that
 * evaluates the runtime; each call of that makes the runtime's objects
 * afresh, so no two contexts share any. Running the runtime's top level
 * costs a fresh context about half as much again as making it: a script
 * that uses none of it pays for none of it.
 *
 * Script code has run by then and may have replaced any builtin or planted
 * any global, and the runtime is handed the bridge: so the receiver is an
 * own data property of the global, defined just before the host call and
 * deleted right after (no script code runs in between), and the function
 * it receives is the one written in the runtime's script, found by its
 * identifier. Script code cannot declare a global lexical binding that
 * would shadow the receiver: it runs inside a function, and a `let` in an
 * indirect `eval` (isolated-vm leaves code generation from strings on)
 * stays in that eval; a global `var` made by eval is a configurable
 * property, which the receiver's definition replaces.
 *
 * Rules for every file of the runtime: standard JavaScript builtins only (no
 * `Buffer`, `process`, node modules); the only way out is `bridge.ts`, whose
 * calls carry strings; no host object, function or promise is ever handed
 * to script code.
 */
import type { Bridge } from "./bridge.ts";
import type * as RuntimeModule from "./index.ts";

type Runtime = typeof RuntimeModule;

/** What the bootstrap gets (sdk-runtime.ts `WebRuntime`). */
export interface WebRuntime {
  install(global: object, bridge: Bridge): void;
  /**
   * Evaluates the runtime now, as a first touch would, then makes the
   * globals named in `names` (comma-separated; other names are ignored) as
   * their first touch would. Nothing before `install`.
   */
  load(names: string): void;
  beginRun(): void;
}

/** Every global the runtime defines (executor.isolation.test.ts lists them too). */
export const GLOBAL_NAMES = [
  "AbortController", "AbortSignal", "Blob", "Crypto", "CryptoKey", "DOMException", "Event", "EventTarget", "File", "FormData",
  "Headers", "Performance", "Request", "Response", "SubtleCrypto", "TextDecoder", "TextEncoder", "URL", "URLSearchParams",
  "atob", "btoa", "clearInterval", "clearTimeout", "crypto", "fetch", "performance", "queueMicrotask", "self", "setInterval",
  "setTimeout", "structuredClone",
];

/** sdk-source.ts `RUNTIME_RECEIVER`. */
const RECEIVER = "__sy_runtime_receive";

// Captured when the loader runs, before any script code exists.
const defineProperty = Reflect.defineProperty;
const deleteProperty = Reflect.deleteProperty;

/**
 * Asks the host to run the runtime proper's script in this context and
 * answers the function it hands over, or undefined when that did not happen
 * (the script froze the global or made the receiver's name its own).
 */
function receiveRuntime(global: object, bridge: Bridge): (() => Runtime) | undefined {
  let received: (() => Runtime) | undefined;
  const receiver = (evaluate: unknown) => {
    if (received === undefined && typeof evaluate === "function") received = evaluate as () => Runtime;
  };
  if (!defineProperty(global, RECEIVER, { value: receiver, writable: false, enumerable: false, configurable: true })) return undefined;
  try {
    if (bridge.callSync("runtime.load", "") !== "ok") return undefined;
  } finally {
    deleteProperty(global, RECEIVER);
  }
  return received;
}

/** The loader of this context; see the file comment. */
export function connect(): WebRuntime {
  let loaded: Runtime | null = null;
  let loadNow: (() => void) | null = null;
  let installedOn: object | null = null;
  return {
    install(global, bridge) {
      installedOn = global;
      loadNow = installOnTouch(global, bridge, (runtime) => {
        loaded = runtime;
      });
    },
    // Called before any script code has run in the context (sdk-runtime.ts "prepare").
    load(names) {
      if (loadNow === null || installedOn === null) return;
      loadNow();
      for (const name of names.split(",")) if (GLOBAL_NAMES.includes(name)) Reflect.get(installedOn, name);
    },
    // A run starts in this context: timers of an earlier run are forgotten (nothing to forget before the first touch).
    beginRun() {
      loaded?.beginRun();
    },
  };
}

/** Puts the runtime's names on `global`, each loading the runtime on first touch; answers the loading itself. */
function installOnTouch(global: object, bridge: Bridge, onLoad: (runtime: Runtime) => void): () => void {
  const getters = new Map<string, () => unknown>();
  const define = (name: string, value: unknown) => Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
  // Still our accessor: the script has not assigned the name a value of its own.
  const untouched = (name: string) => Object.getOwnPropertyDescriptor(global, name)?.get === getters.get(name);
  let runtime: Runtime | null = null;
  const load = (): Runtime => {
    if (runtime !== null) return runtime;
    const evaluate = receiveRuntime(global, bridge);
    if (evaluate === undefined) throw new TypeError("the web runtime is not available");
    const loaded = evaluate();
    loaded.connect(bridge);
    runtime = loaded;
    onLoad(loaded);
    return loaded;
  };
  for (const name of GLOBAL_NAMES) {
    // The value is made here and kept as a data property: the runtime's
    // other accessors stay ours, never defined twice. A getter called when
    // the name is no longer ours (kept by script code, and the name since
    // assigned) answers what is there.
    const get = (): unknown => {
      const loaded = load();
      if (!untouched(name)) return (global as Record<string, unknown>)[name];
      let value: unknown;
      try {
        value = loaded.make(name, global);
      } catch (error) {
        // A module whose first evaluation threw (the stack ran out, say)
        // throws the same error on every later use (as ES modules do): this
        // context's runtime stays broken, so the host makes the next run a
        // new context.
        bridge.notify("runtime.broken", "");
        throw error;
      }
      define(name, value);
      return value;
    };
    getters.set(name, get);
    Object.defineProperty(global, name, { configurable: true, enumerable: false, get, set: (value: unknown) => define(name, value) });
  }
  return load;
}
