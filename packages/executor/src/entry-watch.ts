/**
 * What an executor thread shows its caller of the isolate entry it is in,
 * through shared memory, because the caller cannot ask a thread that never
 * comes back. V8 gives up on an isolate in ways isolated-vm cannot unwind:
 * a regular expression compiled with the stack nearly full ends in V8's
 * fatal out-of-memory path ("RegExpCompiler Allocation failed"), which a
 * script reaches by recursing to its stack limit and matching in the
 * `catch`. isolated-vm then parks the thread for good, and queues its
 * `onCatastrophicError` report to that same thread, so the report is never
 * made. The caller sees the entry outlive its deadline and replaces the
 * thread (threads/threaded-executor.ts).
 *
 * One watch per thread (module state): the entry's deadline in whole
 * seconds since the caller's epoch (0: not in an entry), and the app whose
 * isolate it is. Whole seconds, in an Int32 that Atomics can store, last 68
 * years; the caller's grace is several seconds, so the rounding is no loss.
 */

const DEADLINE = 0;
const APP_LENGTH = 1;
/** Where the app id's bytes start, in bytes. */
const APP_AT = 8;
const MOST_APP_BYTES = 120;
/** How big a watch's buffer is. */
export const ENTRY_WATCH_BYTES = APP_AT + MOST_APP_BYTES;

interface Watch {
  words: Int32Array;
  bytes: Uint8Array;
  epochMs: number;
  /** The app last written, so an app entered again is not written again. */
  app: string;
  depth: number;
}

let watch: Watch | null = null;

/** Makes this thread publish its entries in `buffer`, with deadlines counted from `epochMs` (the caller's `Date.now()`). */
export function watchEntries(buffer: SharedArrayBuffer, epochMs: number): void {
  watch = { words: new Int32Array(buffer, 0, 2), bytes: new Uint8Array(buffer, APP_AT, MOST_APP_BYTES), epochMs, app: "", depth: 0 };
}

/** This thread enters `appId`'s isolate, for at most `timeoutMs` by isolated-vm's timeout. */
export function entering(appId: string, timeoutMs: number): void {
  const w = watch;
  if (w === null || w.depth++ > 0) return;
  if (w.app !== appId) {
    // App ids are ours (ASCII); anything longer is cut, which only blurs the report.
    const n = Math.min(appId.length, MOST_APP_BYTES);
    for (let i = 0; i < n; i++) w.bytes[i] = appId.charCodeAt(i) & 0x7f;
    w.words[APP_LENGTH] = n;
    w.app = appId;
  }
  Atomics.store(w.words, DEADLINE, Math.max(1, Math.ceil((Date.now() - w.epochMs + timeoutMs) / 1000)));
}

/** This thread is out of the isolate again. */
export function left(): void {
  const w = watch;
  if (w === null || --w.depth > 0) return;
  Atomics.store(w.words, DEADLINE, 0);
}

/** The caller's view: the entry a thread is in, as `Date.now()` of its deadline and the app, or null between entries. */
export function readEntry(buffer: SharedArrayBuffer, epochMs: number): { deadlineMs: number; appId: string } | null {
  const words = new Int32Array(buffer, 0, 2);
  const deadline = Atomics.load(words, DEADLINE);
  if (deadline === 0) return null;
  const n = Math.min(Math.max(0, words[APP_LENGTH] as number), MOST_APP_BYTES);
  const appId = String.fromCharCode(...new Uint8Array(buffer, APP_AT, n));
  return { deadlineMs: epochMs + deadline * 1000, appId };
}
