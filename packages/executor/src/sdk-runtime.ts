/**
 * The script SDK as it runs INSIDE the isolate (API.md "Script SDK").
 *
 * The host never imports this module: `sdk-source.ts` bundles it (with
 * `sdk-format.ts`) with esbuild into the sandbox's `sdk.js`, which every
 * context runs before the script version. So it may import only other
 * in-isolate modules and use only standard JavaScript builtins (no
 * `Buffer`, `process`, timers).
 *
 * What it guards: the host port (an isolated-vm `Callback`: a plain function
 * here, called synchronously on the thread that entered the isolate) lives
 * only in this closure, which is strict mode, so neither `fn.caller` nor a stack-trace
 * hook's `getFunction()` can walk back into it, and the script's own code is
 * compiled outside this lexical scope. Everything the port carries is a
 * string or a flat array of strings, booleans and numbers: copied JSON.
 *
 * What it does not guard: a script can replace builtins in its own context and
 * so lie about its own results. That changes nothing the host trusts: the
 * host routes every call by the context it came from, not by anything the
 * script says.
 */

import type { Bridge } from "./runtime/bridge.ts";
import { formatValue } from "./sdk-format.ts";

/**
 * The port as the bootstrap sees it: a synchronous call into the host
 * thread that entered the isolate. An SDK call answers its reply at once, or
 * `"p" + ticket` when the host's work takes longer: the host then enters the
 * isolate again with `entry("settle", ticket, reply)`.
 */
type HostPort = (op: string, a?: unknown, b?: unknown, c?: unknown) => string | undefined;

/** The web runtime's script leaves this on the global (see runtime/loader.ts); the bootstrap takes it. */
interface WebRuntime {
  install(global: object, bridge: Bridge): void;
  load(names: string): void;
  beginRun(): void;
}

/** Limits the host passes in on the first run of a context. */
interface SandboxConfig {
  /** Characters of log text one run may send before lines are cut. */
  logMaxChars: number;
  /** Characters of result JSON above which the result is not sent at all. */
  resultMaxChars: number;
}

/**
 * What one run answers, as one string (a string crosses the boundary without
 * a structured copy): `"o" + resultJson`, `"n"` (no result), `"t"` (result
 * over the size cap, not sent) or `"e" + errorJson` (see `ThrownError`).
 */
type Envelope = string;

/** A thrown value, described for the host (outcome.ts reads it back). */
export interface ThrownError {
  name: string;
  message: string;
  stack: string | null;
  /** How the script asked to be treated: by the class it threw. */
  kind: "error" | "no_retry" | "retry_after" | "host";
  delayMs: number | null;
  /** For `kind: "host"`: the SDK error's code and whether it may be retried. */
  code: string | null;
  retryable: boolean;
  /** The context cannot serve another run (its module failed to load). */
  discard: boolean;
}

/**
 * The host's one way in: `("run", payload, port?, config?)` runs the handler
 * once (the envelope comes back through the port as `("done", envelope)`);
 * `("settle", ticket, reply)` answers a host call that took longer than the
 * call itself; `("prepare", port, config, names)`, before any run, installs the
 * globals, evaluates the web runtime and makes the runtime's globals named
 * in `names` (comma-separated), for a context made ahead of a run whose
 * script version uses them (app-isolate.ts).
 */
type Entry = (op: "run" | "settle" | "prepare", a: unknown, b?: unknown, c?: unknown) => void;

/** Host replies to SDK calls: `"o" + json`, or `"e" + JSON of [code, message, retryable]`. */
type HostReply = string;

/**
 * Builds the context's entry point around `factory`, the compiled script
 * wrapped in a function (so its `var __switchyard_module` stays local). The
 * first call installs the SDK globals and evaluates the module; every call
 * runs the handler once.
 */
export function setupSandbox(factory: () => unknown): Entry {
  // Captured before any script code runs: a script that later replaces
  // `JSON` or `Reflect` only changes what its own code sees.
  const jsonParse = JSON.parse;
  const jsonStringify = JSON.stringify;
  const reflectApply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const isArray = Array.isArray;
  const stringOf = String;
  const weakMapGet = WeakMap.prototype.get;
  const weakMapSet = WeakMap.prototype.set;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const isView = ArrayBuffer.isView;
  const Uint8ArrayCtor = Uint8Array;
  const ArrayBufferCtor = ArrayBuffer;
  const fromCharCode = String.fromCharCode;

  // The web runtime ran in this context just before this bootstrap; taken
  // off the global here, before any script code exists to see it.
  const runtimeHolder = globalThis as { __sy_runtime?: WebRuntime };
  const webRuntime = runtimeHolder.__sy_runtime;
  delete runtimeHolder.__sy_runtime;

  // Arguments and answers are strings, which cross as they are (no copy).
  const stringSlice = String.prototype.slice;
  const mapGet = Map.prototype.get;
  const mapSet = Map.prototype.set;
  const mapDelete = Map.prototype.delete;
  const PromiseCtor = Promise;
  const promiseResolve = Promise.resolve.bind(Promise);
  const numberOf = Number;
  // Host calls waiting for their answer, by ticket.
  const waiting = new Map<number, (reply: HostReply) => void>();

  // SDK errors this bootstrap created, with what the host said about them,
  // so an uncaught one reports its code and retry advice.
  const sdkErrors = new WeakMap<object, { code: string; retryable: boolean }>();

  let port: HostPort | undefined;
  let config: SandboxConfig = { logMaxChars: 65_536, resultMaxChars: 262_144 };
  let loaded: { module: unknown } | undefined;
  // Characters of log text the current run has sent.
  let logChars = 0;

  function sdkError(code: string, message: string, retryable: boolean, Ctor: ErrorConstructor = ErrorCtor): Error {
    const error = new Ctor(message);
    defineProperty(error, "code", { value: code, writable: true, configurable: true, enumerable: true });
    reflectApply(weakMapSet, sdkErrors, [error, { code, retryable }]);
    return error;
  }

  /** One host call: its reply now, or a promise of it when the host answers later (see `HostPort`). */
  function ask(given: HostPort, op: string, arg: string): Promise<HostReply> {
    const first = given(op, arg) as HostReply;
    if (first[0] !== "p") return promiseResolve(first);
    const ticket = numberOf(reflectApply(stringSlice, first, [1]));
    return new PromiseCtor<HostReply>((resolve) => {
      reflectApply(mapSet, waiting, [ticket, resolve]);
    });
  }

  /** The host's late answer to a call; a ticket nobody waits for is ignored. */
  function settle(ticket: unknown, reply: unknown): void {
    const resolve = reflectApply(mapGet, waiting, [ticket]) as ((reply: HostReply) => void) | undefined;
    if (resolve === undefined) return;
    reflectApply(mapDelete, waiting, [ticket]);
    resolve(stringOf(reply));
  }

  async function call(op: string, arg: string): Promise<unknown> {
    if (!port) throw sdkError("not_ready", "the SDK is not available outside a run", false);
    const reply = await ask(port, op, arg);
    const body = reflectApply(stringSlice, reply, [1]) as string;
    if (reply[0] === "o") return jsonParse(body);
    const [code, message, retryable] = jsonParse(body) as [string, string, boolean];
    throw sdkError(code, message, retryable);
  }

  function requireName(name: unknown, method = "secrets.get"): string {
    if (typeof name !== "string" || name.length === 0) {
      throw sdkError("invalid_argument", method + "(name): name must be a non-empty string", false, TypeErrorCtor);
    }
    return name;
  }

  function messageJson(method: string, message: unknown): string {
    if (message === null || typeof message !== "object" || isArray(message)) {
      throw sdkError("invalid_argument", method + "(message): message must be an object", false, TypeErrorCtor);
    }
    return jsonStringify(message);
  }

  /**
   * What `secrets.sign` signs, as `[text, encoding]`: a string as UTF-8, the
   * bytes of an ArrayBuffer or a view as one character per byte (latin1).
   */
  function signedData(data: unknown): [string, "utf8" | "latin1"] {
    if (typeof data === "string") return [data, "utf8"];
    let bytes: Uint8Array | null = null;
    if (data instanceof ArrayBufferCtor) bytes = new Uint8ArrayCtor(data);
    else if (isView(data)) bytes = new Uint8ArrayCtor(data.buffer, data.byteOffset, data.byteLength);
    if (bytes === null) throw sdkError("invalid_argument", "secrets.sign(name, data): data must be a string, an ArrayBuffer or a typed array", false, TypeErrorCtor);
    let text = "";
    // In chunks: one argument per byte would overflow the stack on a large body.
    for (let i = 0; i < bytes.length; i += 8192) text += reflectApply(fromCharCode, null, bytes.subarray(i, i + 8192)) as string;
    return [text, "latin1"];
  }

  const secrets = freeze({
    /** The secret's JSON value, or null when it is not set; a host-bound secret answers its placeholder (`sy_bound_...`). */
    get: async (name: string): Promise<unknown> => call("secrets.get", requireName(name)),
    /** Names of the secrets this app can read. */
    list: async (): Promise<unknown> => call("secrets.list", ""),
    /** An HMAC of `data` keyed with the secret, computed on the host: `{algorithm: "HMAC-SHA256" | "HMAC-SHA512", encoding: "hex" | "base64"}`. */
    sign: async (name: string, data: unknown, options?: unknown): Promise<unknown> => {
      const [text, dataEncoding] = signedData(data);
      const given = (options ?? {}) as { algorithm?: unknown; encoding?: unknown };
      if (typeof given !== "object") throw sdkError("invalid_argument", "secrets.sign(name, data, options): options must be an object", false, TypeErrorCtor);
      return call("secrets.sign", jsonStringify({ name: requireName(name, "secrets.sign"), data: text, data_encoding: dataEncoding, algorithm: given.algorithm ?? "HMAC-SHA256", encoding: given.encoding ?? "hex" }));
    },
  });

  const email = freeze({
    /** Sends a text email: `{to, cc?, bcc?, from?, reply_to?, subject, text}`. */
    send: async (message: unknown): Promise<unknown> => call("email.send", messageJson("email.send", message)),
    /** Sends multipart/alternative: needs `html`, `text` recommended. */
    sendHtml: async (message: unknown): Promise<unknown> => call("email.sendHtml", messageJson("email.sendHtml", message)),
  });

  /** Thrown by a script to fail the run without retries. */
  class NonRetryableError extends ErrorCtor {
    constructor(message?: string, options?: ErrorOptions) {
      super(message, options);
    }
  }
  defineProperty(NonRetryableError.prototype, "name", { value: "NonRetryableError", writable: true, configurable: true });

  /** Thrown by a script to be retried no sooner than `delayMs` from now. */
  class RetryAfterError extends ErrorCtor {
    readonly delayMs: number;
    constructor(message: string | undefined, delayMs: number, options?: ErrorOptions) {
      super(message, options);
      if (typeof delayMs !== "number" || !(delayMs >= 0) || delayMs === Infinity) {
        throw new TypeErrorCtor("RetryAfterError(message, delayMs): delayMs must be a finite number >= 0");
      }
      this.delayMs = delayMs;
    }
  }
  defineProperty(RetryAfterError.prototype, "name", { value: "RetryAfterError", writable: true, configurable: true });

  function emit(level: string, args: readonly unknown[]): void {
    if (!port || logChars >= config.logMaxChars) return;
    let text = "";
    for (let i = 0; i < args.length; i++) text += (i === 0 ? "" : " ") + formatValue(args[i]);
    const room = config.logMaxChars - logChars;
    const cut = text.length > room;
    if (cut) text = text.slice(0, room);
    logChars += text.length;
    // Synchronous, so the host has every line before the run's result.
    port("log", level, text, cut);
  }

  const sandboxConsole = {
    log: (...args: unknown[]): void => emit("log", args),
    info: (...args: unknown[]): void => emit("info", args),
    warn: (...args: unknown[]): void => emit("warn", args),
    error: (...args: unknown[]): void => emit("error", args),
    debug: (...args: unknown[]): void => emit("debug", args),
  };

  // The runtime's way to the host: the port's calls, never the port.
  const bridge: Bridge = {
    call: (op, arg) => {
      if (!port) return Promise.reject(sdkError("not_ready", "the runtime is not available outside a run", false));
      return ask(port, op, arg);
    },
    callSync: (op, arg) => {
      if (!port) throw sdkError("not_ready", "the runtime is not available outside a run", false);
      return port(op, arg) as string;
    },
    notify: (op, arg) => {
      if (port) port(op, arg);
    },
    tagError: (error, code, retryable) => {
      reflectApply(weakMapSet, sdkErrors, [error, { code, retryable }]);
    },
  };

  function connect(given: HostPort, configText: unknown): void {
    port = given;
    if (configText !== undefined) config = jsonParse(stringOf(configText)) as SandboxConfig;
    install();
  }

  function install(): void {
    const g = globalThis as Record<string, unknown>;
    webRuntime?.install(g, bridge);
    // isolated-vm 5 adds no global of its own to a context; should a future
    // version add its module handle, it must not outlive the bootstrap.
    for (const name of ["ivm", "_ivm"]) delete g[name];
    // Same attributes as the builtins (writable, configurable, not enumerable).
    const put = (name: string, value: unknown) => defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
    put("secrets", secrets);
    put("email", email);
    put("console", sandboxConsole);
    put("NonRetryableError", NonRetryableError);
    put("RetryAfterError", RetryAfterError);
  }

  function describe(thrown: unknown, discard: boolean): ThrownError {
    const out: ThrownError = { name: "Error", message: "", stack: null, kind: "error", delayMs: null, code: null, retryable: true, discard };
    if (thrown === null || (typeof thrown !== "object" && typeof thrown !== "function")) {
      out.message = formatValue(thrown);
      return out;
    }
    // Each read may run a getter of the script's; one failing read must not lose the others.
    try {
      out.name = stringOf((thrown as Error).name);
    } catch {
      out.name = "Error";
    }
    try {
      out.message = stringOf((thrown as Error).message);
    } catch {
      out.message = "";
    }
    try {
      const stack = (thrown as Error).stack;
      out.stack = typeof stack === "string" ? stack : null;
    } catch {
      out.stack = null;
    }
    try {
      const sdk = reflectApply(weakMapGet, sdkErrors, [thrown]) as { code: string; retryable: boolean } | undefined;
      if (sdk) {
        out.kind = "host";
        out.code = sdk.code;
        out.retryable = sdk.retryable;
      } else if (thrown instanceof NonRetryableError) {
        out.kind = "no_retry";
      } else if (thrown instanceof RetryAfterError) {
        out.kind = "retry_after";
        out.delayMs = thrown.delayMs;
      }
    } catch {
      out.kind = "error";
    }
    return out;
  }

  function fail(thrown: unknown, discard: boolean): Envelope {
    return "e" + jsonStringify(describe(thrown, discard));
  }

  // The answer goes back through the port ("done"), in order behind the
  // run's log lines, whether the handler finished inside this entry or in
  // a later one (a settle that resumed it).
  return function entry(op, a, b, c): void {
    if (op === "settle") {
      settle(a, b);
      return;
    }
    if (op === "prepare") {
      // Only before the first run: no script code has run in the context.
      if (port) return;
      connect(a as HostPort, b);
      // A runtime that cannot load now fails the run that first touches it, with the loader's own error.
      try {
        webRuntime?.load(stringOf(c));
      } catch {
        // (see above)
      }
      return;
    }
    const payload = stringOf(a);
    if (!port) connect(b as HostPort, c);
    logChars = 0;
    // Timers an earlier run of this context left never fire in this one.
    webRuntime?.beginRun();
    const answering = port;
    void (async () => {
      let envelope: Envelope;
      try {
        envelope = await runOnce(payload);
      } catch (error) {
        envelope = fail(error, false);
      }
      if (answering) answering("done", envelope);
    })();
  };

  async function runOnce(payload: string): Promise<Envelope> {
    let handler: unknown;
    try {
      if (!loaded) loaded = { module: factory() };
      handler = (loaded.module as { default?: unknown } | null | undefined)?.default;
    } catch (error) {
      // The module's top-level code threw: this context holds a half-made module.
      return fail(error, true);
    }
    if (typeof handler !== "function") {
      return fail(new NonRetryableError("the script's default export is not a function (it is " + typeof handler + ")"), true);
    }
    let value: unknown;
    try {
      const { event, ctx } = jsonParse(payload) as { event: unknown; ctx: unknown };
      value = await (handler as (event: unknown, ctx: unknown) => unknown)(event, ctx);
    } catch (error) {
      return fail(error, false);
    }
    let json: string | undefined;
    try {
      json = jsonStringify(value);
    } catch (error) {
      return fail(new NonRetryableError("the handler's return value is not JSON: " + describe(error, false).message), false);
    }
    if (json === undefined) return "n";
    // Characters never outnumber UTF-8 bytes, so past the cap in characters
    // is past it in bytes: not worth copying out.
    if (json.length > config.resultMaxChars) return "t";
    return "o" + json;
  }
}
