/**
 * What an executor thread's bundle gets for `esbuild`: a thread never
 * compiles (the caller's thread builds the sandbox texts and hands them
 * over, sdk-source.ts `sandboxSources`), and loading esbuild there would
 * only slow the thread's start.
 */
function unavailable(): never {
  throw new Error("executor: esbuild is not available on an executor thread");
}

export const buildSync = unavailable;
export const transform = unavailable;
export const transformSync = unavailable;
export const build = unavailable;
