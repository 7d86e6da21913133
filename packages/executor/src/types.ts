/**
 * The executor's contract. It knows nothing of the database: whoever runs a
 * script (the dispatcher, or the manual invoke path) hands it a compiled
 * script, the event, and a `Host` that backs the SDK.
 */

/** Per-run limits; each is capped by the operator's maximums. */
export interface ScriptLimits {
  /** Isolate heap limit in MB (isolated-vm `memoryLimit`). */
  memoryMb: number;
  /** CPU time the run may use, in ms (measured with `isolate.cpuTime`). */
  cpuMs: number;
  /** Wall-clock time from start to result, in ms, enforced on the host. */
  wallMs: number;
}

/** A deployed script version as the executor needs it. */
export interface CompiledScript {
  id: string;
  appId: string;
  /** Bumped on every deploy; contexts are never shared across versions. */
  version: number;
  /**
   * Output of `compileScript`: a classic script whose code declares
   * `var __switchyard_module = ...` with the handler as `.default`.
   */
  code: string;
  /** Source map of `code` back to the author's source (v3 JSON), for stack traces. */
  sourceMap: string | null;
  /** A new context for every run instead of one reused per script version. */
  freshContext: boolean;
  limits: ScriptLimits;
}

/** `ctx` as scripts see it (API.md). */
export interface RunContext {
  app: { id: string; name: string };
  trigger: { id: string; kind: string; name: string } | null;
  run: { id: string; attempt: number; event_id: string; replay?: boolean };
}

export interface RunRequest {
  script: CompiledScript;
  /** The event, JSON (API.md's shapes: `{ kind, ... }`). */
  event: unknown;
  ctx: RunContext;
}

export type RunStatus = "ok" | "error" | "timeout" | "oom";

export interface LogLine {
  level: "debug" | "info" | "log" | "warn" | "error";
  /** Redacted text of the arguments, as console would print them. */
  message: string;
  /** Milliseconds since the run started. */
  at: number;
}

/** How the dispatcher should treat a failed run. */
export type RetryDecision = { kind: "retry" } | { kind: "no_retry" } | { kind: "retry_after"; delayMs: number };

export interface RunError {
  name: string;
  /** Redacted. */
  message: string;
  /** Redacted, mapped back to the author's source where possible. */
  stack: string | null;
  /** An SDK error's `code` (`not_configured`, `invalid_address`, ...), when there is one. */
  code: string | null;
  retry: RetryDecision;
}

export interface RunOutcome {
  status: RunStatus;
  /** The handler's return value as JSON, redacted and size-capped; null when none or on failure. */
  result: unknown;
  resultTruncated: boolean;
  error: RunError | null;
  logs: LogLine[];
  logsTruncated: boolean;
  startedAt: Date;
  durationMs: number;
  cpuMs: number;
  /** Names of the secrets the run read (values are never reported). */
  secretsRead: string[];
  /** Every `fetch` the run made or tried, in order, masked like the rest of the outcome. */
  subrequests: Subrequest[];
}

/** One `fetch` of a run, as the run record lists it. */
export interface Subrequest {
  method: string;
  /** `scheme://host/path`: no credentials, query or fragment. */
  url: string;
  /** The response's status, or null when there was none. */
  status: number | null;
  duration_ms: number;
  /** Bytes of the response body. */
  bytes: number;
  /** `"ok"`, or the code the fetch failed with (`egress_denied`, `egress_timeout`, ..., `aborted` when the script aborted it). */
  outcome: string;
}

/** A script's `fetch` as the host performs it. */
export interface HostFetchRequest {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array | null;
  redirect: "follow" | "manual" | "error";
}

/** The host's answer to a `fetch`: the whole response. */
export interface HostFetchResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** The final URL, after any redirects followed. */
  url: string;
  redirected: boolean;
  body: Uint8Array;
}

/** An expected failure of a host capability, surfaced to the script as an error with `code`. */
export class HostError extends Error {
  override name = "HostError";
  constructor(
    readonly code: string,
    message: string,
    /** Whether a run that fails on it should be retried (a transient SMTP failure) or not (a rejected address). */
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * What `getSecret` answers for a host-bound secret: a string that stands for
 * the value in this run. The script gets the text; unlike a value it is not
 * masked in the run's output (it means nothing outside the run, and the host
 * audits where it turns up).
 */
export class SecretPlaceholder {
  constructor(readonly text: string) {}
}

/** The MACs `secrets.sign` computes. */
export type SignAlgorithm = "HMAC-SHA256" | "HMAC-SHA512";

/**
 * A change `Host.watchSecrets` announces: the secrets of one app (`appId`),
 * or (null) any app's: a workspace's or the global scope's, or everything
 * the host had cached.
 */
export interface SecretsChange {
  appId: string | null;
}

/** What the SDK calls back into. Every value crossing is plain JSON. */
export interface Host {
  /** The secret's JSON value, a SecretPlaceholder for a host-bound secret, or null when unset. */
  getSecret(ctx: RunContext, name: string): Promise<unknown>;
  /**
   * An HMAC of `data` keyed with the secret (its text: a string as UTF-8,
   * any other value as its JSON), in `encoding`; null when the secret is not
   * set. Without it `secrets.sign` fails with `not_configured`.
   */
  signWithSecret?(ctx: RunContext, name: string, data: Buffer, algorithm: SignAlgorithm, encoding: "hex" | "base64"): Promise<string | null>;
  listSecrets(ctx: RunContext): Promise<string[]>;
  /** Sends an email; throws HostError (`not_configured`, `invalid_address`, `too_large`, ...). */
  sendEmail(ctx: RunContext, kind: "text" | "html", message: unknown): Promise<unknown>;
  /**
   * Performs a script's `fetch` under the egress policy; `signal` aborts it
   * (the script aborted, the timeout passed, or the run ended). Failures
   * throw an Error with a string `code`: `egress_denied`, `egress_limit`,
   * `egress_timeout`, `egress_too_large`, `redirect_error`,
   * `egress_redirect_limit`, `egress_busy`, `dns_failed`, `connect_failed`,
   * `tls_failed`, `secret_host_mismatch` (the script sees a fixed message
   * per code, never the error's own). Without it every fetch is refused
   * with `egress_denied`.
   */
  fetch?(ctx: RunContext, request: HostFetchRequest, signal: AbortSignal): Promise<HostFetchResponse>;
  /**
   * Calls `listener` whenever what `getSecret` answers may have changed (a
   * secret written here, or another process's write heard of), synchronously
   * and before any later `getSecret` of this host can answer from the new
   * state; answers how to stop. With it, executor threads answer a run's
   * repeated `getSecret` of a name (and `signWithSecret` of a value the run
   * already holds) themselves, from what this host answered the run before,
   * until the run ends or a change touches its app. Without it every call
   * reaches the host.
   */
  watchSecrets?(listener: (change: SecretsChange) => void): () => void;
}
