/**
 * V8 code caches of script versions, kept in memory on each executor thread
 * and keyed by a hash of the text compiled, so an app's new isolate
 * deserializes its script instead of parsing it again. Like the web
 * runtime's (runtime-script.ts) a cache is taken warm: after the version's
 * first run, from the isolate that ran it, so it holds the functions that
 * run compiled. A cache is code only (V8's
 * bytecode of that exact text), never an object of the isolate's heap, and
 * V8 refuses one that does not match the text; two apps share one only when
 * they run the very same text.
 *
 * Not persisted: each thread makes its own on the first cold run of a
 * version it sees after a start.
 */
import { createHash } from "node:crypto";
import type ivm from "isolated-vm";

/** What isolated-vm adds to a compiled script when asked for cached data (its typings leave it out). */
export type WithCache = ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean };

// A small script's cache is 1-2 KB (the SDK bootstrap has its own, shared
// by every app: sdk-script.ts), so this keeps well over ten thousand
// versions per thread. Measured on an executor thread when the bootstrap
// was still part of each version's text, a small script's compile and
// top-level run: 0.89 ms with no cache, 0.50 ms with a cache taken right
// after compiling, 0.23 ms with the warm one.
const MAX_BYTES = 32 * 1024 * 1024;

interface Entry {
  data: ivm.ExternalCopy<ArrayBuffer>;
  bytes: number;
}

/** Code caches by key, least recently used dropped past `MAX_BYTES`; see the file comment. */
export class CodeCache {
  private readonly entries = new Map<string, Entry>();
  private held = 0;

  /** The key of a script text: a hash, so the map does not keep every version's text alive. */
  static keyOf(source: string): string {
    return createHash("sha256").update(source).digest("base64");
  }

  get(key: string): ivm.ExternalCopy<ArrayBuffer> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.data;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, data: ivm.ExternalCopy<ArrayBuffer>): void {
    this.delete(key);
    const entry = { data, bytes: data.copy().byteLength };
    this.entries.set(key, entry);
    this.held += entry.bytes;
    for (const [oldKey] of this.entries) {
      if (this.held <= MAX_BYTES) break;
      this.delete(oldKey);
    }
  }

  /** Forgets a cache V8 refused. */
  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
    entry.data.release();
  }

  get bytes(): number {
    return this.held;
  }
}

/** The thread's code caches (each executor thread loads this module once). */
export const scriptCodeCache = new CodeCache();

/**
 * `source` compiled in `isolate` from `cache` when V8 takes it; else
 * compiled afresh and asked for a cache, answered as `made` (null when the
 * given cache was taken, or V8 made none). A refused cache only costs the
 * compile it failed to save.
 */
export function compileWithCache(isolate: ivm.Isolate, source: string, filename: string, cache: ivm.ExternalCopy<ArrayBuffer> | null): { script: ivm.Script; made: ivm.ExternalCopy<ArrayBuffer> | null } {
  if (cache !== null) {
    const script: WithCache = isolate.compileScriptSync(source, { filename, cachedData: cache });
    if (script.cachedDataRejected !== true) return { script, made: null };
    script.release();
  }
  const script: WithCache = isolate.compileScriptSync(source, { filename, produceCachedData: true });
  return { script, made: script.cachedData ?? null };
}
