/**
 * A script version's text (its compiled code and source map) crosses to an
 * executor thread once, not with every run. Structured clone copies the
 * text on both sides with each run, and the copies are garbage at once: a
 * 50 KB script's warm runs on one thread, 8 at once, cost 72–96 µs of CPU
 * each with it and 51–60 without it. For a script of a KB or two the
 * difference is within the noise; it grows with the text.
 *
 * The caller decides what the thread keeps: `SentTexts` (caller side, one
 * per thread) remembers what it sent, most recently used last, within a
 * byte budget, and names on the run that made it drop texts which ones
 * (`forget`), so `KeptTexts` (thread side) holds exactly the same entries
 * and never grows past the caller's budget. The thread applies a run's
 * forgets before the run, in the order the runs were made, and messages
 * arrive in order: a run sent as "kept" always finds its text. A new thread
 * gets a new `SentTexts`. Should the two sides ever disagree (a bug), the
 * thread throws on the run that finds no text, which ends the thread: its
 * runs end as collateral and a new thread takes its place, both sides
 * empty, rather than any run getting other code. The kept texts are not
 * released while idle: each side holds at most the budget a thread, the
 * caller's side as references to texts its caller may have dropped.
 */
import type { CompiledScript, RunRequest } from "../types.ts";

/**
 * One run as it crosses. `carries`: "keep" (the thread keeps the text it
 * carries), "kept" (it carries none: the thread has it), or absent (a text
 * too big to keep, carried with each run).
 */
export interface WireRun {
  id: number;
  request: RunRequest;
  carries?: "keep" | "kept";
  /** Texts the thread drops before this run. */
  forget?: string[];
}

interface Text {
  code: string;
  sourceMap: string | null;
}

type Script = Pick<CompiledScript, "appId" | "id" | "version" | "code" | "sourceMap">;

// Which app's version a text is for. Ids are made by the server (no NUL in
// them), but nothing rests on that: the caller compares the whole text, so
// two versions sharing a key only make the text cross again.
const textKey = (script: Script) => `${script.appId}\u0000${script.id}\u0000${script.version}`;

const textBytes = (text: Text) => 2 * (text.code.length + (text.sourceMap?.length ?? 0));

const textOf = (script: Script): Text => ({ code: script.code, sourceMap: script.sourceMap });

/**
 * Most bytes of script text a thread keeps, counted as UTF-16 (an upper
 * bound: V8 keeps ASCII text in one byte a character). Source is at most
 * 1 MiB a version, so this keeps a few dozen large versions or thousands
 * of small ones.
 */
export const KEPT_TEXT_BYTES = 32 * 1024 * 1024;

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
      return { id, request: { ...request, script: { ...script, code: "", sourceMap: null } }, carries: "kept" };
    }
    const forget: string[] = [];
    if (known !== undefined) {
      // The thread drops the old text before this run, whether or not it keeps the new one.
      this.drop(key, known);
      forget.push(key);
    }
    const text = textOf(script);
    // A text bigger than the whole budget crosses with each run, never kept.
    const run: WireRun = { id, request };
    if (textBytes(text) <= this.budget) {
      run.carries = "keep";
      this.sent.set(key, text);
      this.bytes += textBytes(text);
      for (const [oldest, old] of this.sent) {
        if (this.bytes <= this.budget) break;
        this.drop(oldest, old);
        forget.push(oldest);
      }
    }
    if (forget.length > 0) run.forget = forget;
    return run;
  }

  private drop(key: string, text: Text): void {
    this.sent.delete(key);
    this.bytes -= textBytes(text);
  }
}

/** The thread's copy of what its caller sent; see the file comment. */
export class KeptTexts {
  private readonly kept = new Map<string, Text>();

  /** Bytes of text held, counted as `SentTexts` counts them. */
  get bytes(): number {
    let sum = 0;
    for (const text of this.kept.values()) sum += textBytes(text);
    return sum;
  }

  /** The request as the executor takes it: a "kept" run gets its text back; a "keep" run's text is kept. Called in the order the runs were sent. */
  restore(run: WireRun): RunRequest {
    if (run.forget) for (const key of run.forget) this.kept.delete(key);
    const { script } = run.request;
    const key = textKey(script);
    if (run.carries !== "kept") {
      if (run.carries === "keep") this.kept.set(key, textOf(script));
      return run.request;
    }
    const text = this.kept.get(key);
    // Only a bug in this protocol gets here: end the thread (see the file comment) rather than run other code.
    if (text === undefined) throw new Error(`executor thread: no text kept for script ${script.id} version ${script.version}`);
    return { ...run.request, script: { ...script, code: text.code, sourceMap: text.sourceMap } };
  }
}
