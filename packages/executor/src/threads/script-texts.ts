/**
 * A script version's text (its compiled code and source map) crosses to an
 * executor thread once, not with every run. Copying them with each run cost
 * about 17 µs of CPU a run (structured clone on both sides, and the garbage
 * of the copies), more than the rest of the hand-off: measured with a
 * 1.2 KB script, a warm run on a thread cost 61 µs of CPU in all against
 * 11 for a bare batched hand-off with an isolate entry.
 *
 * The caller decides what the thread keeps: `SentTexts` (caller side, one
 * per thread) remembers what it sent, most recently used last, within a
 * byte budget, and names on the run that made it drop texts which ones
 * (`forget`), so `KeptTexts` (thread side) holds exactly the same entries
 * and never grows past the caller's budget. The thread applies a run's
 * forgets before the run, in the order the runs were made, and messages
 * arrive in order: a run sent as "kept" always finds its text. A new thread
 * gets a new `SentTexts`.
 */
import type { CompiledScript, RunRequest } from "../types.ts";

/**
 * One run as it crosses. `text`: "keep" (the thread keeps the text it
 * carries), "kept" (it carries none: the thread has it), or absent (a text
 * too big to keep, carried with each run).
 */
export interface WireRun {
  id: number;
  request: RunRequest;
  text?: "keep" | "kept";
  /** Texts the thread drops before this run. */
  forget?: string[];
}

interface Text {
  code: string;
  sourceMap: string | null;
}

type Script = Pick<CompiledScript, "appId" | "id" | "version" | "code" | "sourceMap">;


// Apps' ids and scripts' ids hold no NUL: a key names one app's version.
const textKey = (script: Script) => `${script.appId}\u0000${script.id}\u0000${script.version}`;

const textBytes = (text: Text) => 2 * (text.code.length + (text.sourceMap?.length ?? 0));

const textOf = (script: Script): Text => ({ code: script.code, sourceMap: script.sourceMap });

/** Most bytes of script text a thread keeps (UTF-16, as V8 may hold them). */
export const KEPT_TEXT_BYTES = 64 * 1024 * 1024;

/** The caller's record of what one thread keeps; see the file comment. */
export class SentTexts {
  private readonly sent = new Map<string, Text>();
  private bytes = 0;

  constructor(private readonly budget = KEPT_TEXT_BYTES) {}

  /** The run as it should cross: without its text when the thread has this very text. Called in the order the runs are sent. */
  wire(id: number, request: RunRequest): WireRun {
    const script = request.script;
    const key = textKey(script);
    const known = this.sent.get(key);
    // The same id and version with other text is another script (a test's, or a redeploy's): sent again.
    if (known !== undefined && known.code === script.code && known.sourceMap === script.sourceMap) {
      this.sent.delete(key);
      this.sent.set(key, known);
      return { id, request: { ...request, script: { ...script, code: "", sourceMap: null } }, text: "kept" };
    }
    const forget: string[] = [];
    if (known !== undefined) {
      // The thread drops the old text before this run, whether or not it keeps the new one.
      this.drop(key, known);
      forget.push(key);
    }
    const text = textOf(script);
    // A text bigger than the whole budget crosses with each run, never kept.
    if (textBytes(text) > this.budget) return forget.length > 0 ? { id, request, forget } : { id, request };
    this.sent.set(key, text);
    this.bytes += textBytes(text);
    for (const [oldest, old] of this.sent) {
      if (this.bytes <= this.budget) break;
      this.drop(oldest, old);
      forget.push(oldest);
    }
    return forget.length > 0 ? { id, request, text: "keep", forget } : { id, request, text: "keep" };
  }

  private drop(key: string, text: Text): void {
    this.sent.delete(key);
    this.bytes -= textBytes(text);
  }
}

/** The thread's copy of what its caller sent; see the file comment. */
export class KeptTexts {
  private readonly kept = new Map<string, Text>();

  /** The request as the executor takes it: a "kept" run gets its text back; a "keep" run's text is kept. */
  request(run: WireRun): RunRequest {
    if (run.forget) for (const key of run.forget) this.kept.delete(key);
    const { script } = run.request;
    const key = textKey(script);
    if (run.text !== "kept") {
      if (run.text === "keep") this.kept.set(key, textOf(script));
      return run.request;
    }
    const text = this.kept.get(key);
    // Only a bug in this protocol gets here: fail the run loudly rather than run other code.
    if (text === undefined) throw new Error(`executor thread: no text kept for script ${script.id} version ${script.version}`);
    return { ...run.request, script: { ...script, code: text.code, sourceMap: text.sourceMap } };
  }
}
