/**
 * A blank isolate made ahead, between runs, for an app's first run: the
 * isolate (~1.5 ms of V8 work), the web runtime's loader and the SDK
 * bootstrap compiled in it from their code caches, and one context with the
 * loader run (~0.7 ms more). Only
 * our own code has run in it, the same for every app, so whichever app
 * takes it gets what a new isolate would have given it.
 */
import type ivm from "isolated-vm";
import { compileLoader } from "./runtime-script.ts";
import { compileSdk } from "./sdk-script.ts";
import { newIsolate } from "./app-isolate.ts";

/** See the file comment. */
export interface SpareIsolate {
  isolate: ivm.Isolate;
  loader: ivm.Script;
  sdk: ivm.Script;
  /** A context with the loader run in it, for the app's first script version. */
  context: ivm.Context;
  memoryMb: number;
}

/** Makes a spare with `memoryMb` as its limit. */
export function makeSpare(memoryMb: number, onCatastrophicError: ((message: string) => void) | undefined): SpareIsolate {
  const isolate = newIsolate(memoryMb, onCatastrophicError);
  try {
    const loader = compileLoader(isolate);
    const sdk = compileSdk(isolate);
    const context = isolate.createContextSync();
    loader.runSync(context);
    return { isolate, loader, sdk, context, memoryMb };
  } catch (error) {
    isolate.dispose();
    throw error;
  }
}
