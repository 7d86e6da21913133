/**
 * The web runtime's classes and functions: the loader's accessors make each
 * global with `make` on its first touch (`install` does the same where there
 * is no loader: the code cache's warm-up). This module is evaluated on a context's first touch of any runtime name
 * (see loader.ts); each group of names (URL, crypto, fetch...) on the first
 * touch of one of its own.
 */
import { connect, host } from "./bridge.ts";
import type * as Performance from "./performance.ts";
import type * as Timers from "./timers.ts";
import { urlClasses } from "./url.ts";

export { connect };

declare const require: (id: string) => unknown;

// Each module is `require`d where a name first needs it: esbuild makes a
// required module lazy, so a context pays only for the groups it touches
// (evaluating all of them cost a fresh context ~150 µs). The string given to
// `require` must stay a literal for esbuild to bundle it.
/* eslint-disable @typescript-eslint/consistent-type-imports -- types of the lazily required modules */
const abort = () => require("./abort.ts") as typeof import("./abort.ts");
const base64 = () => require("./base64.ts") as typeof import("./base64.ts");
const blob = () => require("./blob.ts") as typeof import("./blob.ts");
const crypto = () => require("./crypto.ts") as typeof import("./crypto.ts");
const domException = () => require("./dom-exception.ts") as typeof import("./dom-exception.ts");
const encoding = () => require("./encoding.ts") as typeof import("./encoding.ts");
const events = () => require("./events.ts") as typeof import("./events.ts");
const fetchModule = () => require("./fetch.ts") as typeof import("./fetch.ts");
const formData = () => require("./form-data.ts") as typeof import("./form-data.ts");
const headers = () => require("./headers.ts") as typeof import("./headers.ts");
const request = () => require("./request.ts") as typeof import("./request.ts");
const response = () => require("./response.ts") as typeof import("./response.ts");
const structuredCloneModule = () => require("./structured-clone.ts") as typeof import("./structured-clone.ts");
const subtle = () => require("./subtle.ts") as typeof import("./subtle.ts");
/* eslint-enable @typescript-eslint/consistent-type-imports */

let timersModule: typeof Timers | null = null;
const timers = () => {
  timersModule ??= require("./timers.ts") as typeof Timers;
  return timersModule;
};

let performanceModule: typeof Performance | null = null;
const performance = () => {
  performanceModule ??= require("./performance.ts") as typeof Performance;
  return performanceModule;
};

let runsBegun = 0;

/**
 * A run starts in this context: timers of an earlier run are forgotten (none
 * before the timers are first touched). At the context's first run, a clock
 * made before it (in a context made ahead, loader.ts `load`) starts again,
 * so `performance.now()` counts from the run, not from when the context
 * waited ready.
 */
export function beginRun(): void {
  runsBegun++;
  if (runsBegun === 1) performanceModule?.restartClock();
  timersModule?.beginRun();
}

/** Each global the runtime defines, and how to make its value. */
const GLOBALS: Record<string, () => unknown> = {
  AbortController: () => abort().AbortController,
  AbortSignal: () => abort().AbortSignal,
  Blob: () => blob().Blob,
  Crypto: () => crypto().Crypto,
  CryptoKey: () => subtle().CryptoKey,
  DOMException: () => domException().DOMException,
  Event: () => events().Event,
  EventTarget: () => events().EventTarget,
  File: () => blob().File,
  FormData: () => formData().FormData,
  Headers: () => headers().Headers,
  Performance: () => performance().Performance,
  Request: () => request().Request,
  Response: () => response().Response,
  SubtleCrypto: () => subtle().SubtleCrypto,
  TextDecoder: () => encoding().TextDecoder,
  TextEncoder: () => encoding().TextEncoder,
  URL: () => urlClasses().URL,
  URLSearchParams: () => urlClasses().URLSearchParams,
  atob: () => base64().atob,
  btoa: () => base64().btoa,
  clearInterval: () => timers().clearInterval,
  clearTimeout: () => timers().clearTimeout,
  crypto: () => crypto().createCrypto(),
  fetch: () => fetchModule().fetch,
  performance: () => performance().createPerformance(),
  queueMicrotask: () => timers().queueMicrotask,
  setInterval: () => timers().setInterval,
  setTimeout: () => timers().setTimeout,
  structuredClone: () => structuredCloneModule().structuredClone,
};

/**
 * The value of runtime global `name` in the context whose global is
 * `global`, made now (the loader's accessor calls it on the name's first
 * touch and keeps the value as an ordinary data property). The host is
 * told, to make the names a script version uses ahead in its next fresh
 * context (app-isolate.ts). Undefined for a name that is not the runtime's.
 */
export function make(name: string, global: object): unknown {
  if (name === "self") return global;
  const maker = Object.hasOwn(GLOBALS, name) ? GLOBALS[name] : undefined;
  if (maker === undefined) return undefined;
  const value = maker();
  host().notify("runtime.touch", name);
  return value;
}

/**
 * Puts the web globals on `global` as accessors that make each value on
 * first touch (`make`) and from then on (or once assigned) are ordinary
 * data properties. Only where no loader does it: the code cache's warm-up
 * (warmup-script.ts).
 */
export function install(global: object): void {
  // Same attributes as the builtins: writable, configurable, not enumerable.
  const define = (name: string, value: unknown) => Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
  for (const name of ["self", ...Object.keys(GLOBALS)]) {
    Object.defineProperty(global, name, {
      configurable: true,
      enumerable: false,
      get: () => {
        const value = make(name, global);
        define(name, value);
        return value;
      },
      set: (value: unknown) => define(name, value),
    });
  }
}
