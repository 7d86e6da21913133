/**
 * The host side of a run's `fetch` (runtime/fetch.ts): checks what the
 * isolate sent, enforces the run's limits (how many subrequests, a timeout
 * within the run's remaining wall clock), hands the request to
 * `Host.fetch`, and records every subrequest for the run's outcome. A
 * failure reaches the script as a code with a fixed message: nothing from
 * the network or the host's internals (addresses, remote text).
 */
import { errReply, type HostReply } from "./run-session.ts";
import type { Host, HostFetchRequest, HostFetchResponse, RunContext, Subrequest } from "./types.ts";

/** The codes a refused or failed fetch rejects with, their fixed messages, and whether a run failing on one may be retried. */
export const FETCH_ERRORS: Readonly<Record<string, { message: string; retryable: boolean }>> = {
  egress_denied: { message: "fetch: the destination is not allowed by the egress policy", retryable: false },
  egress_limit: { message: "fetch: the run has made as many subrequests as it may", retryable: false },
  egress_timeout: { message: "fetch: the request did not complete in time", retryable: true },
  egress_too_large: { message: "fetch: the response is larger than the platform allows", retryable: false },
  dns_failed: { message: "fetch: the host name could not be resolved", retryable: true },
  connect_failed: { message: "fetch: the connection could not be made", retryable: true },
  tls_failed: { message: "fetch: the TLS connection could not be established", retryable: true },
  secret_host_mismatch: { message: "fetch: a host-bound secret was sent to a host it is not bound to", retryable: false },
  redirect_error: { message: 'fetch: the response was a redirect and the request\'s redirect mode is "error"', retryable: false },
  // Not egress_limit: that one counts the run's subrequests, and its message would mislead.
  egress_redirect_limit: { message: "fetch: the response redirected more times than the platform follows", retryable: false },
  // The host holds as many response bodies as it may right now; later the same fetch can succeed.
  egress_busy: { message: "fetch: the platform is holding too many responses right now; try again later", retryable: true },
};

const REDIRECT_MODES = new Set(["follow", "manual", "error"]);
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/** What a run's fetches are made with. */
export interface RunFetchOptions {
  host: Host;
  ctx: RunContext;
  maxSubrequests: number;
  fetchTimeoutMs: number;
  /** `performance.now()` at which the run's wall clock runs out. */
  deadline: number;
  onHostFailure: (error: unknown, info: { op: string; ctx: RunContext }) => void;
}

interface InFlight {
  controller: AbortController;
  abortedByScript: boolean;
  /** Records the fetch as aborted now: the host may answer after the run's outcome is built (on another thread). */
  markAborted: () => void;
}

const fail = (code: string): HostReply => {
  const known = FETCH_ERRORS[code] ?? { message: "fetch failed inside the platform; the run may be retried", retryable: true };
  return errReply(code, known.message, known.retryable);
};

/** One run's fetches; see the file comment. */
export class RunFetches {
  /** Every subrequest asked for, in order, unmasked (the executor masks them). */
  readonly subrequests: Subrequest[] = [];
  private started = 0;
  private finished = false;
  private readonly inFlight = new Map<number, InFlight>();

  constructor(private readonly options: RunFetchOptions) {}

  /** Performs one fetch from the isolate's JSON; never rejects. */
  async start(arg: unknown): Promise<HostReply> {
    const parsed = parseRequest(arg);
    if (!parsed.ok) return errReply("invalid_argument", parsed.error, false);
    const { id, request } = parsed.value;
    const record: Subrequest = { method: request.method, url: recordUrl(request.url), status: null, duration_ms: 0, bytes: 0, outcome: "ok" };
    if (this.finished) return errReply("run_finished", "the run this call belongs to has already finished", false);
    if (this.started >= this.options.maxSubrequests) {
      // The first refusal is recorded (it says why the run failed); a loop of them is not.
      if (this.started === this.options.maxSubrequests) this.subrequests.push({ ...record, outcome: "egress_limit" });
      this.started = this.options.maxSubrequests + 1;
      return fail("egress_limit");
    }
    this.started++;
    this.subrequests.push(record);
    const t0 = performance.now();
    const timeoutMs = Math.min(this.options.fetchTimeoutMs, this.options.deadline - t0);
    let timedOut = false;
    const flight: InFlight = { controller: new AbortController(), abortedByScript: false, markAborted: () => settle("aborted", null, 0) };
    this.inFlight.set(id, flight);
    const timer = setTimeout(
      () => {
        timedOut = true;
        flight.controller.abort();
      },
      Math.max(0, timeoutMs),
    );
    const settle = (outcome: string, status: number | null, bytes: number) => {
      record.outcome = outcome;
      record.status = status;
      record.bytes = bytes;
      record.duration_ms = Math.round((performance.now() - t0) * 1000) / 1000;
    };
    try {
      if (!this.options.host.fetch) throw Object.assign(new Error("this platform has no fetch"), { code: "egress_denied" });
      const response = checkResponse(await this.options.host.fetch(this.options.ctx, request, flight.controller.signal));
      if (timedOut) throw Object.assign(new Error("timed out"), { code: "egress_timeout" });
      if (request.redirect === "error" && REDIRECT_STATUS.has(response.status) && response.headers.some(([n]) => n.toLowerCase() === "location")) {
        settle("redirect_error", response.status, 0);
        return fail("redirect_error");
      }
      settle("ok", response.status, response.body.byteLength);
      return `o${JSON.stringify({ ...response, body: Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength).toString("base64") })}`;
    } catch (error) {
      const code = timedOut ? "egress_timeout" : flight.abortedByScript || this.finished ? "aborted" : codeOf(error);
      if (code === null) {
        this.options.onHostFailure(error, { op: "fetch", ctx: this.options.ctx });
        settle("internal_error", null, 0);
        return fail("internal_error");
      }
      settle(code, null, 0);
      return code === "aborted" ? errReply("aborted", "fetch: the request was aborted", false) : fail(code);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(id);
    }
  }

  /** The script aborted fetch `id` (its promise rejected already inside the isolate). */
  abort(id: unknown): void {
    const flight = this.inFlight.get(Number(id));
    if (!flight) return;
    flight.abortedByScript = true;
    flight.markAborted();
    flight.controller.abort();
  }

  /** The run ended: fetches still in flight are aborted. */
  finish(): void {
    this.finished = true;
    for (const flight of this.inFlight.values()) {
      flight.markAborted();
      flight.controller.abort();
    }
  }
}

function codeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code in FETCH_ERRORS ? code : null;
}

/** `scheme://host/path` of a URL: no credentials, query or fragment. */
export function recordUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "";
  }
}

type Parsed = { ok: true; value: { id: number; request: HostFetchRequest } } | { ok: false; error: string };

// Checked, not trusted: a script can tamper with its own context's runtime.
function parseRequest(arg: unknown): Parsed {
  let wire: Record<string, unknown>;
  try {
    wire = typeof arg === "string" ? (JSON.parse(arg) as Record<string, unknown>) : {};
  } catch {
    return { ok: false, error: "fetch: malformed request" };
  }
  const { id, method, url, headers, body, redirect } = wire ?? {};
  if (typeof id !== "number" || !Number.isSafeInteger(id)) return { ok: false, error: "fetch: malformed request" };
  if (typeof method !== "string" || !METHOD.test(method)) return { ok: false, error: "fetch: invalid method" };
  if (typeof url !== "string" || !/^https?:$/.test(safeProtocol(url))) return { ok: false, error: "fetch: the URL must be absolute http or https" };
  // Refused, not dropped (the Fetch standard's rule; runtime/request.ts says so first, but the isolate is the script's).
  if (hasCredentials(url)) return { ok: false, error: "fetch: a URL that includes credentials is not allowed; send them in an Authorization header" };
  if (!Array.isArray(headers) || !headers.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === "string" && typeof h[1] === "string")) {
    return { ok: false, error: "fetch: invalid headers" };
  }
  if (body !== null && typeof body !== "string") return { ok: false, error: "fetch: invalid body" };
  if (typeof redirect !== "string" || !REDIRECT_MODES.has(redirect)) return { ok: false, error: "fetch: invalid redirect mode" };
  const bytes = body === null ? null : new Uint8Array(Buffer.from(body, "base64"));
  return {
    ok: true,
    value: { id, request: { method, url: new URL(url).href, headers: headers as Array<[string, string]>, body: bytes, redirect: redirect as HostFetchRequest["redirect"] } },
  };
}

function hasCredentials(url: string): boolean {
  const parsed = new URL(url);
  return parsed.username !== "" || parsed.password !== "";
}

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return "";
  }
}

// The host is ours, but what it answers crosses into the isolate: shape checked.
function checkResponse(response: HostFetchResponse): HostFetchResponse {
  const ok =
    response !== null &&
    typeof response === "object" &&
    Number.isInteger(response.status) &&
    typeof response.statusText === "string" &&
    Array.isArray(response.headers) &&
    typeof response.url === "string" &&
    typeof response.redirected === "boolean" &&
    response.body instanceof Uint8Array;
  if (!ok) throw new TypeError("Host.fetch answered in an unexpected shape");
  return {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers.map(([n, v]) => [String(n), String(v)]),
    url: response.url,
    redirected: response.redirected,
    body: response.body,
  };
}
