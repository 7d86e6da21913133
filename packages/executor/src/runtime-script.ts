/**
 * Compiles the web runtime (see `runtimeSource`) in an isolate. V8's code
 * cache of it is made by the first compile in the process and handed to
 * every later one, so a new app's isolate deserializes the runtime's code
 * instead of parsing it again.
 */
import type ivm from "isolated-vm";
import { RUNTIME_FILENAME, runtimeSource } from "./sdk-source.ts";

let cache: ivm.ExternalCopy<ArrayBuffer> | null = null;

/** What isolated-vm adds to a compiled script when asked for cached data (its typings leave it out). */
type WithCache = ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean };

/** The runtime compiled in `isolate`; see the file comment. */
export async function compileRuntime(isolate: ivm.Isolate): Promise<ivm.Script> {
  const source = runtimeSource();
  if (cache !== null) {
    const script: WithCache = await isolate.compileScript(source, { filename: RUNTIME_FILENAME, cachedData: cache });
    if (script.cachedDataRejected !== true) return script;
    script.release();
  }
  const script: WithCache = await isolate.compileScript(source, { filename: RUNTIME_FILENAME, produceCachedData: true });
  if (script.cachedData) cache = script.cachedData;
  return script;
}
