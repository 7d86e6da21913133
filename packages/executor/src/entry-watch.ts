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
 * One watch per thread (module state): the number of the entry in
 * progress (0 between entries), its timeout, and the app whose isolate it
 * is. The caller times each entry number with its own monotonic clock, so
 * a wall-clock step moves nothing.
 */

const SEQ = 0;
const APP_LENGTH = 1;
const TIMEOUT_MS = 2;
/** Where the app id's bytes start, in bytes. */
const APP_AT = 12;
const MOST_APP_BYTES = 116;
const MOST_TIMEOUT_MS = 0x7fffffff;
/** How big a watch's buffer is. */
export const ENTRY_WATCH_BYTES = APP_AT + MOST_APP_BYTES;

interface Watch {
  words: Int32Array;
  bytes: Uint8Array;
  /** The app last written, so an app entered again is not written again. */
  app: string;
  depth: number;
  seq: number;
}

let watch: Watch | null = null;

/** Makes this thread publish its entries in `buffer`. */
export function watchEntries(buffer: SharedArrayBuffer): void {
  watch = { words: new Int32Array(buffer, 0, 3), bytes: new Uint8Array(buffer, APP_AT, MOST_APP_BYTES), app: "", depth: 0, seq: 0 };
}

/** This thread enters `appId`'s isolate, for at most `timeoutMs` (whole ms) by isolated-vm's timeout. */
export function entering(appId: string, timeoutMs: number): void {
  const w = watch;
  if (w === null || w.depth++ > 0) return;
  if (w.app !== appId) {
    // App ids are ours (ASCII, about 30 characters); a longer one is cut, which only blurs the report.
    const n = Math.min(appId.length, MOST_APP_BYTES);
    for (let i = 0; i < n; i++) w.bytes[i] = appId.charCodeAt(i) & 0x7f;
    w.words[APP_LENGTH] = n;
    w.app = appId;
  }
  w.words[TIMEOUT_MS] = Math.min(timeoutMs, MOST_TIMEOUT_MS);
  w.seq = (w.seq % MOST_TIMEOUT_MS) + 1;
  // Last, and atomically: a caller that sees the number sees the rest.
  Atomics.store(w.words, SEQ, w.seq);
}

/** This thread is out of the isolate again. */
export function left(): void {
  const w = watch;
  if (w === null || --w.depth > 0) return;
  Atomics.store(w.words, SEQ, 0);
}

/** The caller's view of a thread: the entry it is in (its number and timeout), or null between entries. */
export function readEntry(buffer: SharedArrayBuffer): { seq: number; timeoutMs: number } | null {
  const words = new Int32Array(buffer, 0, 3);
  const seq = Atomics.load(words, SEQ);
  return seq === 0 ? null : { seq, timeoutMs: words[TIMEOUT_MS] as number };
}

/** The app whose isolate the thread's entry is in; read only once the thread is found stuck there. */
export function entryApp(buffer: SharedArrayBuffer): string {
  const n = Math.min(Math.max(0, new Int32Array(buffer, 0, 3)[APP_LENGTH] as number), MOST_APP_BYTES);
  return String.fromCharCode(...new Uint8Array(buffer, APP_AT, n));
}
