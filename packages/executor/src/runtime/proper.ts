/**
 * The runtime proper's entry (sdk-source.ts `runtimeProperSource`): its
 * exports, handed to the loader as a plain object literal. esbuild's own
 * export object would be built with `Object.defineProperty` as it is when
 * the runtime is evaluated, after script code has had its chance to
 * replace it, and the loader hands `connect` the bridge. `makeUrlLibrary`
 * is called in the isolate's URL library context only (runtime-script.ts).
 */
import { beginRun, connect, install, make } from "./index.ts";
import { makeUrlLibrary } from "./url-library.ts";

/** Declared by the function sdk-source.ts wraps this bundle in, which answers it. */
declare let __sy_rt_exports: unknown;

// Assigned once, here; `declare let` because the binding is the wrapper's.
// eslint-disable-next-line prefer-const
__sy_rt_exports = { beginRun, connect, install, make, makeUrlLibrary };
