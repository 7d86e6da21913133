/**
 * One V8 context running one script version: its SDK bootstrap, the module's
 * state, and a host port that routes calls to whichever run holds the
 * context now. A context serves one run at a time.
 */
import ivm from "isolated-vm";
import type { SecretRead } from "./redact.ts";
import { releaseQuietly } from "./handles.ts";
import type { Launcher } from "./launcher.ts";
import { randomBytesText } from "./host-random.ts";
import { errReply, type HostReply, type RunSession } from "./run-session.ts";
import { runtimeInnerSource } from "./sdk-source.ts";

/** Per-run caps the bootstrap applies inside the isolate, in characters. */
export interface SandboxConfig {
  logMaxChars: number;
  resultMaxChars: number;
}

/** One context of one script version; see the file comment. */
export class SandboxContext {
  /** The run this context serves now; null between runs. */
  current: RunSession | null = null;
  /** Runs served so far. */
  runs = 0;
  /** Set when the context must not serve another run (its module failed to load). */
  broken = false;
  /**
   * Every secret value ever handed into this context. Module state survives
   * between runs, so a value read in one run can be printed in a later one;
   * each run's output is masked with all of them.
   */
  readonly delivered = new Map<string, SecretRead>();
  private installed = false;
  /** Settles the run in flight when its envelope arrives through the port. */
  private answer: ((envelope: unknown) => void) | null = null;
  private released = false;
  private readonly port: ivm.Reference<(op: unknown, a: unknown, b: unknown, c: unknown) => Promise<HostReply> | string | undefined>;

  private constructor(
    private readonly context: ivm.Context,
    private readonly entry: ivm.Reference<unknown>,
    private readonly config: string,
    private readonly launcher: Launcher,
  ) {
    // The port is created per context and reads `this.current` on every call:
    // a call is attributed by where it came from, never by what it claims.
    this.port = new ivm.Reference((op: unknown, a: unknown, b: unknown, c: unknown) => {
      const run = this.current;
      if (op === "done") {
        const answer = this.answer;
        this.answer = null;
        answer?.(a);
        return undefined;
      }
      if (op === "log") {
        run?.log(a, b, c);
        return undefined;
      }
      // Synchronous (crypto.getRandomValues, the runtime's first touch):
      // answered whether or not a run holds the context; neither entropy
      // nor the runtime's source is any run's business.
      if (op === "random") return randomBytesText(a);
      if (op === "runtime.source") return runtimeInnerSource();
      if (op === "timer.clear" || op === "fetch.abort") {
        run?.cancel(op, a);
        return undefined;
      }
      if (!run) return Promise.resolve(errReply("run_finished", "no run is active in this context", false));
      return run.call(op, a);
    });
  }

  /**
   * A new context in `isolate` with the web runtime (`runtime`, see
   * `runtimeSource`) and then `script` (a `wrapScript` output) evaluated in it.
   */
  static async create(isolate: ivm.Isolate, runtime: ivm.Script, script: ivm.Script, config: SandboxConfig, launcher: Launcher): Promise<SandboxContext> {
    const context = await isolate.createContext();
    try {
      // Queued in order on the isolate: the runtime runs first, then the
      // script's prologue takes it off the global. One wait for both.
      runtime.runIgnored(context);
      const entry = (await script.run(context, { reference: true })) as ivm.Reference<unknown>;
      return new SandboxContext(context, entry, JSON.stringify(config), launcher);
    } catch (error) {
      context.release();
      throw error;
    }
  }

  /** Remembers a secret value handed in, for masking this and later runs. */
  rememberSecret(key: string, secret: SecretRead): void {
    this.delivered.set(key, secret);
  }

  /**
   * Runs the handler once with `payload` (`{event, ctx}` as JSON) for `run`.
   * Settles with the bootstrap's envelope (a string; `outcome.ts` checks
   * it), which arrives through the port after the run's log lines. Never
   * settles if the isolate dies first: the caller races it with the limits.
   */
  invoke(run: RunSession, payload: string): Promise<unknown> {
    this.current = run;
    this.runs++;
    const first = !this.installed;
    this.installed = true;
    return new Promise((resolve, reject) => {
      this.answer = resolve;
      // The port and config go in once, straight to the entry; the bootstrap
      // keeps them in its closure. Later runs start through the launcher,
      // with the other runs of this event-loop turn. Either way an isolate
      // that is gone rejects this promise.
      if (first) this.entry.applyIgnored(undefined, [this.port, payload, this.config]);
      else this.launcher.launch(this.entry, payload, reject);
    });
  }

  /** Frees the context's V8 objects; safe to call twice and on a disposed isolate. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.current = null;
    releaseQuietly(this.entry, this.port, this.context);
  }
}
