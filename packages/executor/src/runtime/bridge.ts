/**
 * The runtime's one way to the host, INSIDE the isolate. The SDK bootstrap
 * (`sdk-runtime.ts`) hands it over when it installs the runtime; the port
 * itself stays in the bootstrap's closure. Every argument and answer is a
 * string: copied data, never a host object.
 */

/** What the bootstrap gives the runtime; see the file comment. */
export interface Bridge {
  /** An async host call; answers the host's reply (`"o" + json` or `"e" + JSON of [code, message, retryable]`). */
  call(op: string, arg: string): Promise<string>;
  /** A synchronous host call (entropy); answers the host's string. */
  callSync(op: string, arg: string): string;
  /** Fire and forget (cancelling a timer or a fetch). */
  notify(op: string, arg: string): void;
  /** Marks `error` as carrying a host `code`, so an uncaught one reports it on the run. */
  tagError(error: Error, code: string, retryable: boolean): void;
}

let bridge: Bridge | null = null;

/** Called once per context by `installRuntime`. */
export function connect(given: Bridge): void {
  bridge = given;
}

/** The bridge; throws outside a context whose runtime is installed (never the case for script code). */
export function host(): Bridge {
  if (bridge === null) throw new TypeError("the runtime is not connected to its host");
  return bridge;
}

/** A decoded host reply: the JSON value, or the error the host described. */
export type Reply = { ok: true; value: unknown } | { ok: false; code: string; message: string; retryable: boolean };

const jsonParse = JSON.parse;

/** Decodes a reply string from `Bridge.call`. */
export function decodeReply(reply: string): Reply {
  const body = reply.slice(1);
  if (reply[0] === "o") return { ok: true, value: jsonParse(body) };
  const [code, message, retryable] = jsonParse(body) as [string, string, boolean];
  return { ok: false, code: String(code), message: String(message), retryable: retryable === true };
}
