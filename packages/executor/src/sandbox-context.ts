/**
 * One V8 context running one script version: its SDK bootstrap, the module's
 * state, and a host port that routes calls to whichever run holds the
 * context now. A context serves one run at a time.
 *
 * Every way into the context is a synchronous call from the thread that
 * owns the isolate (`Enter`): a run's start, and the answer to a host call
 * that took longer than the call itself (a "settle"). The port is a
 * synchronous callback, so a call the host answers at once (a log line,
 * entropy) costs about a microsecond, and an awaited one (a secret, a
 * timer, a fetch) a few more: no other thread is woken either way.
 */
import ivm from "isolated-vm";
import type { SecretRead } from "./redact.ts";
import { releaseQuietly } from "./handles.ts";
import { randomBytesText } from "./host-random.ts";
import { GLOBAL_NAMES } from "./runtime/loader.ts";
import { errReply, type RunSession } from "./run-session.ts";

// Only the runtime's own names are kept of what a context says it touched:
// script code can make the runtime's install report others (it runs on a
// first touch, after script code, with the builtins the script left).
const RUNTIME_NAMES: ReadonlySet<string> = new Set(GLOBAL_NAMES);

/** Per-run caps the bootstrap applies inside the isolate, in characters. */
export interface SandboxConfig {
  logMaxChars: number;
  resultMaxChars: number;
}

/** What a context is made of: scripts compiled in its isolate, shared by the isolate's contexts (code only). */
export interface ContextParts {
  /** The web runtime's loader (`runtimeSource`), run first. */
  loader: ivm.Script;
  /** The SDK bootstrap (`sdkSource`), run next: its value is `setupSandbox`. */
  sdk: ivm.Script;
  /** The script version (`wrapScript`), run last: its value is the author's module as a function, which `setupSandbox` takes. */
  script: ivm.Script;
  /** The runtime proper (`runtimeProperSource`), compiled on first call and run when the context first needs it. */
  runtimeProper: () => ivm.Script;
  /** The isolate's URL library (runtime/url-library.ts), made on first call; null when the isolate has none. */
  urlLibrary: () => ivm.Reference<unknown> | null;
}

/**
 * Enters the isolate synchronously under the limits of the runs in it (see
 * app-isolate.ts): calls `ref` with `args` and answers whether the isolate
 * took the call (false when it is gone or the call overran a limit).
 */
export type Enter = (ref: ivm.Reference<unknown>, args: unknown[]) => boolean;

/** One context of one script version; see the file comment. */
export class SandboxContext {
  /** The run this context serves now; null between runs. */
  current: RunSession | null = null;
  /** Runs served so far. */
  runs = 0;
  /** Set when the context must not serve another run (its module failed to load, or a part of the web runtime did). */
  broken = false;
  /** The web runtime was evaluated in this context (a script touched it, or `prepare` loaded it). */
  usedRuntime = false;
  /** The runtime's globals made in this context so far (runtime/index.ts tells, on each one's first touch). */
  readonly touched = new Set<string>();
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
  /** Tickets of host calls answered later, per context (sdk-runtime.ts `HostPort`). */
  private tickets = 0;
  /** Host calls not yet answered: the context's handles stay until they are. */
  private unsettled = 0;
  private freed = false;
  private readonly port: ivm.Callback<(op: unknown, a: unknown, b: unknown, c: unknown) => unknown>;

  private constructor(
    private readonly context: ivm.Context,
    private readonly entry: ivm.Reference<unknown>,
    private readonly config: string,
    private readonly enter: Enter,
    private readonly runtimeProper: () => ivm.Script,
    private readonly urlLibrary: () => ivm.Reference<unknown> | null,
  ) {
    // The port is created per context and reads `this.current` on every call:
    // a call is attributed by where it came from, never by what it claims.
    this.port = new ivm.Callback((op: unknown, a: unknown, b: unknown, c: unknown): unknown => {
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
      // Synchronous (crypto.getRandomValues): answered whether or not a run
      // holds the context; entropy is no run's business.
      if (op === "random") return randomBytesText(a);
      if (op === "runtime.load") return this.loadRuntime();
      // The library itself, into this context (only its functions are ever called here: runtime/url-parser.ts).
      if (op === "runtime.url") return this.urlLibrary()?.derefInto() ?? "";
      // Only ever makes this context serve no further run.
      if (op === "runtime.broken") {
        this.broken = true;
        return undefined;
      }
      if (op === "runtime.touch") {
        if (typeof a === "string" && RUNTIME_NAMES.has(a)) this.touched.add(a);
        return undefined;
      }
      if (op === "timer.clear" || op === "fetch.abort") {
        run?.cancel(op, a);
        return undefined;
      }
      if (!run) return errReply("run_finished", "no run is active in this context", false);
      // Answered in a later entry: whatever the run's end or the isolate's
      // disposal, the context stops waiting for nothing but its own ticket.
      // Delivered even after the context left service (its run ended
      // with the call unanswered): what the script does with the answer
      // then is charged to no run, and the isolate goes if it runs away.
      const ticket = ++this.tickets;
      this.unsettled++;
      void run.call(op, a).then((reply) => {
        this.unsettled--;
        if (!this.freed) this.enter(this.entry, ["settle", ticket, reply]);
        if (this.released) this.free();
      });
      return `p${ticket}`;
    }, { sync: true });
  }

  /**
   * A new context in `isolate` with the web runtime's loader, the SDK
   * bootstrap and then the script version evaluated in it (see
   * `ContextParts`, `bootstrap`). `withLoader` is a context made ahead with
   * the loader already run in it (spare-isolate.ts).
   */
  static create(isolate: ivm.Isolate, parts: ContextParts, config: SandboxConfig, enter: Enter, withLoader?: ivm.Context): SandboxContext {
    const context = withLoader ?? isolate.createContextSync();
    try {
      // The loader runs first, then the SDK bootstrap takes it off the
      // global. Our code only: the author's module runs in the first run.
      if (!withLoader) parts.loader.runSync(context);
      const entry = bootstrap(context, parts);
      return new SandboxContext(context, entry, JSON.stringify(config), enter, parts.runtimeProper, parts.urlLibrary);
    } catch (error) {
      context.release();
      throw error;
    }
  }

  /**
   * Runs the runtime proper's script in this context, inside the loader's
   * synchronous call on a first touch: its top level only hands a function
   * to the loader's receiver. Only ever this context, whatever the call
   * says. A failure (the script took the receiver's name, the isolate is
   * going) is answered as such, and the loader throws its own TypeError: a
   * host error never crosses.
   */
  private loadRuntime(): string {
    this.usedRuntime = true;
    try {
      this.runtimeProper().runSync(this.context);
      return "ok";
    } catch {
      return "failed";
    }
  }

  /**
   * Before the context's first run: installs the globals, evaluates the web
   * runtime and makes the runtime globals in `names` (what earlier runs of
   * the version touched), so that a run of a `freshContext` version, whose
   * every run gets a new context, finds them ready. Only our code runs; the
   * script's module still runs in its first run. Answers whether the
   * isolate took the call.
   */
  prepare(names: Iterable<string>): boolean {
    if (this.installed) return false;
    this.installed = true;
    return this.enter(this.entry, ["prepare", this.port, this.config, [...names].join(",")]);
  }

  /** Remembers a secret value handed in, for masking this and later runs. */
  rememberSecret(key: string, secret: SecretRead): void {
    this.delivered.set(key, secret);
  }

  /**
   * Runs the handler once with `payload` (`{event, ctx}` as JSON) for `run`.
   * Settles with the bootstrap's envelope (a string; `outcome.ts` checks
   * it), which arrives through the port after the run's log lines: within
   * this call when the handler does not wait for the host, else in a later
   * settle. Never settles if the isolate dies first: the caller races it
   * with the limits.
   */
  invoke(run: RunSession, payload: string, onAnswer: () => void): Promise<unknown> {
    this.current = run;
    this.runs++;
    const first = !this.installed;
    this.installed = true;
    return new Promise((resolve) => {
      this.answer = (envelope) => {
        onAnswer();
        resolve(envelope);
      };
      // The port and config go in once; the bootstrap keeps them in its closure.
      this.enter(this.entry, first ? ["run", payload, this.port, this.config] : ["run", payload]);
    });
  }

  /** Frees the context's V8 objects; safe to call twice and on a disposed isolate. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.current = null;
    this.free();
  }

  private free(): void {
    if (this.freed || this.unsettled > 0) return;
    this.freed = true;
    releaseQuietly(this.entry, this.context);
  }
}

/**
 * The context's entry: `setupSandbox` (the SDK bootstrap's value) given the
 * author's module as a function, which nothing has called yet. Neither
 * value is ever on the context's global.
 */
function bootstrap(context: ivm.Context, parts: ContextParts): ivm.Reference<unknown> {
  const setup = parts.sdk.runSync(context, { reference: true }) as ivm.Reference<unknown>;
  let module: ivm.Reference<unknown> | null = null;
  try {
    module = parts.script.runSync(context, { reference: true }) as ivm.Reference<unknown>;
    return setup.applySync(undefined, [module.derefInto()], { result: { reference: true } }) as ivm.Reference<unknown>;
  } finally {
    setup.release();
    module?.release();
  }
}
