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
 * progress (0 between entries), its timeout, and its owner: the app whose
 * isolate it is and the script version whose context it enters (so that only
 * that version's runs are blamed, and quarantined). The caller times each
 * entry number with its own monotonic clock, so a wall-clock step moves
 * nothing.
 */

const SEQ = 0;
const OWNER_LENGTH = 1;
const TIMEOUT_MS = 2;
/** Where the owner's bytes start, in bytes. */
const OWNER_AT = 12;
const MOST_OWNER_BYTES = 244;
/** Between an owner's app id and its script version (ids are ours: no tabs). */
const OWNER_SEPARATOR = "\t";
const MOST_TIMEOUT_MS = 0x7fffffff;
/** How big a watch's buffer is. */
export const ENTRY_WATCH_BYTES = OWNER_AT + MOST_OWNER_BYTES;

/** Who an entry is for: an app's isolate, and the script version whose context it enters (null: no script's). */
export interface EntryOwner {
  appId: string;
  /** The script version's key (app-isolate.ts `versionKey`). */
  script: string | null;
}

/** The owner string `entering` takes for an entry into a context of the script version `versionKey` (app-isolate.ts). */
export function scriptOwner(appId: string, versionKey: string): string {
  return `${appId}${OWNER_SEPARATOR}${versionKey}`;
}

/** Whether a run of the script version `versionKey` in app `appId` is the one `owner` names. */
export function ownsRun(owner: EntryOwner, appId: string, versionKey: string): boolean {
  return owner.appId === appId && (owner.script === null || owner.script === versionKey);
}

interface Watch {
  words: Int32Array;
  bytes: Uint8Array;
  /** The owner last written, so an owner entered again is not written again. */
  owner: string;
  depth: number;
  seq: number;
}

let watch: Watch | null = null;

/** Makes this thread publish its entries in `buffer`. */
export function watchEntries(buffer: SharedArrayBuffer): void {
  watch = { words: new Int32Array(buffer, 0, 3), bytes: new Uint8Array(buffer, OWNER_AT, MOST_OWNER_BYTES), owner: "", depth: 0, seq: 0 };
}

/**
 * This thread enters an isolate for `owner` (an app id, or `scriptOwner`),
 * for at most `timeoutMs` (whole ms) by isolated-vm's timeout.
 */
export function entering(owner: string, timeoutMs: number): void {
  const w = watch;
  if (w === null || w.depth++ > 0) return;
  if (w.owner !== owner) {
    // Ids are ours (ASCII, about 30 characters each); a longer owner is cut, which blames its whole app.
    const n = Math.min(owner.length, MOST_OWNER_BYTES);
    for (let i = 0; i < n; i++) w.bytes[i] = owner.charCodeAt(i) & 0x7f;
    w.words[OWNER_LENGTH] = n;
    w.owner = owner;
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

/** Who the thread's entry is for; read only once the thread is found stuck there. */
export function entryOwner(buffer: SharedArrayBuffer): EntryOwner {
  const n = Math.min(Math.max(0, new Int32Array(buffer, 0, 3)[OWNER_LENGTH] as number), MOST_OWNER_BYTES);
  const text = String.fromCharCode(...new Uint8Array(buffer, OWNER_AT, n));
  const at = text.indexOf(OWNER_SEPARATOR);
  // An owner that may have been cut names no script: the whole app is blamed.
  const script = at < 0 || n >= MOST_OWNER_BYTES ? null : text.slice(at + 1);
  return { appId: at < 0 ? text : text.slice(0, at), script };
}
