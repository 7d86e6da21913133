/**
 * The host's HTTP client for a script's `fetch`: one undici Agent per
 * policy, shared by every fetch so keep-alive connections are reused, whose
 * every connection is opened by the policy-checked connector. Redirects are
 * followed here, hop by hop, so each hop is checked again; request and
 * response bodies are capped; one timer covers the whole fetch (connecting,
 * every hop, the body), and the caller's signal (the script's abort, the
 * run's wall clock) ends it at any point. Every failure is a FetchError
 * with a stable code.
 *
 * @example
 * const client = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1:8080"] }) });
 * const response = await client.fetch(
 *   { method: "POST", url: "https://api.example.com/v1/items", headers: [["content-type", "application/json"]], body: new TextEncoder().encode("{}"), redirect: "follow" },
 *   { signal: run.signal },
 * );
 * await client.close();
 */
import { Agent } from "undici";
import type { EgressPolicy } from "../policy.ts";
import type { EgressRule } from "../rules.ts";
import { isAllowedHost, isBoundHost } from "./allowed-hosts.ts";
import { createBodyBudget } from "./body-budget.ts";
import { discard, readCappedBody } from "./body-cap.ts";
import { checkedConnector } from "./connector.ts";
import { abortCode, FetchError, fetchFailure, reachCode, type FetchPlace } from "./errors.ts";
import { isFetchableScheme, isRedirectStatus, nextHop, type Hop } from "./redirects.ts";
import { outgoingHeaders } from "./request-headers.ts";
import type { HostFetchRequest, HostFetchResponse } from "./types.ts";

export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** 25 responses at the 10 MiB cap at once. */
export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

export interface FetchClientOptions {
  policy: EgressPolicy;
  /** PEM certificate authorities trusted besides the system's (SWITCHYARD_EGRESS_CA_FILE). TLS always verifies. */
  ca?: readonly (string | Buffer)[];
  /** Bytes of one response body, after decoding (default 10 MiB). */
  maxResponseBytes?: number;
  /** Bytes of one request body (default 10 MiB). */
  maxRequestBodyBytes?: number;
  /**
   * Bytes of response bodies this client holds at once, across every fetch
   * of every run (default 256 MiB). A response that would go past it fails
   * with `egress_busy`, which is retryable: the process is busy, the
   * response is not too large (that is `egress_too_large`, which is not).
   * Failing rather than waiting: bodies that wait for each other's budget
   * while holding their own could all wait until their timeouts.
   */
  maxBufferedBytes?: number;
  /** One fetch, redirects and body included (default 30 s). */
  timeoutMs?: number;
  /** Opening one connection, TLS handshake included (default 10 s). */
  connectTimeoutMs?: number;
}

export interface FetchCallOptions {
  /** Ends the fetch; its reason's `code`, when it has one of the fetch codes, is the failure's code. */
  signal?: AbortSignal;
  /** This fetch's timeout, when shorter or longer than the client's. */
  timeoutMs?: number;
  /** The app's narrowing (EGRESS_ALLOWED_HOSTS, see allowed-hosts.ts): when given, every hop's URL must match one; absent, the policy alone decides. */
  allowedHosts?: readonly EgressRule[];
  /**
   * The bindings of the host-bound secrets put into this request: every
   * hop's URL (the first and each redirect) must match every list, or the
   * fetch fails with `secret_host_mismatch` before that hop is sent.
   */
  boundHosts?: readonly (readonly EgressRule[])[];
}

export interface FetchClient {
  /** Performs the request; rejects with FetchError. */
  fetch(request: HostFetchRequest, options?: FetchCallOptions): Promise<HostFetchResponse>;
  /** Bytes of response bodies held now (see `maxBufferedBytes`), for a gauge. */
  bufferedBytes(): number;
  /** Closes the kept-alive connections; fetches after it fail. */
  close(): Promise<void>;
}

// Methods fetch never sends (the Fetch standard's forbidden methods).
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// The reason the client's own timer aborts with: abortCode reads its code.
const TIMED_OUT = Object.freeze({ code: "egress_timeout" });
const NO_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export function createFetchClient(options: FetchClientOptions): FetchClient {
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const maxRequestBodyBytes = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  const budget = createBodyBudget(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
  const agent = new Agent({
    connect: checkedConnector(options.policy, { ...(options.ca ? { ca: options.ca } : {}), connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS }),
  });

  async function fetch(request: HostFetchRequest, call: FetchCallOptions = {}): Promise<HostFetchResponse> {
    const first = firstHop(request, maxRequestBodyBytes);
    const place: FetchPlace = { origin: first.url.origin, redirects: 0 };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMED_OUT), call.timeoutMs ?? options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS);
    const forward = () => controller.abort(call.signal?.reason);
    if (call.signal?.aborted) forward();
    else call.signal?.addEventListener("abort", forward, { once: true });
    try {
      return await follow(first, request.redirect, place, controller.signal, call);
    } catch (error) {
      if (error instanceof FetchError) throw error;
      if (controller.signal.aborted) throw fetchFailure(abortCode(controller.signal.reason), place, { cause: error });
      throw fetchFailure(reachCode(error), place, { cause: error });
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener("abort", forward);
    }
  }

  async function follow(first: Hop, mode: HostFetchRequest["redirect"], place: FetchPlace, signal: AbortSignal, call: FetchCallOptions): Promise<HostFetchResponse> {
    const { allowedHosts, boundHosts } = call;
    let hop = first;
    for (;;) {
      signal.throwIfAborted();
      if (allowedHosts && !isAllowedHost(allowedHosts, hop.url)) throw fetchFailure("egress_denied", place, { detail: "was refused: the app's allowed hosts do not include that destination" });
      if (boundHosts?.some((rules) => !isBoundHost(rules, hop.url))) {
        throw fetchFailure("secret_host_mismatch", place, { detail: "was refused: it carries a host-bound secret and that destination is not one of the secret's hosts" });
      }
      const headers = outgoingHeaders(hop.headers);
      if (!headers) throw fetchFailure("egress_denied", place, { detail: "was refused: a header name or value is not valid" });
      const response = await agent.request({
        origin: hop.url.origin,
        path: hop.url.pathname + hop.url.search,
        method: hop.method,
        headers,
        body: hop.body,
        signal,
        responseHeaders: "raw",
      });
      const raw = response.headers as unknown as string[];
      if (isRedirectStatus(response.statusCode) && mode !== "manual") {
        if (mode === "error") {
          discard(response.body);
          throw fetchFailure("redirect_error", place, { detail: 'failed: the response is a redirect and the request\'s redirect mode is "error"' });
        }
        const location = headerValue(raw, "location");
        // A redirect status without a Location is delivered as it is.
        if (location !== null) {
          // Read (up to undici's small limit) so the connection can serve the next request.
          await response.body.dump({ limit: 64 * 1024, signal });
          const next = nextHop(hop, response.statusCode, location, place.redirects);
          if (!next.ok) throw fetchFailure(next.code, place, { detail: next.detail });
          hop = next.value;
          place.redirects++;
          continue;
        }
      }
      const decoded = hop.method !== "HEAD" && !NO_BODY_STATUSES.has(response.statusCode);
      const length = headerValue(raw, "content-length");
      const body = await readCappedBody(response.body, {
        contentEncoding: decoded ? headerValue(raw, "content-encoding") : null,
        contentLength: length !== null && /^\d+$/.test(length) ? Number(length) : null,
        maxBytes: maxResponseBytes,
        budget,
      });
      if (!body.ok && body.reason === "busy") {
        throw fetchFailure("egress_busy", place, { detail: `failed: response bodies in flight would pass this process's budget of ${budget.limit} bytes; try again later` });
      }
      if (!body.ok) throw fetchFailure("egress_too_large", place, { detail: `failed: the response body is larger than ${maxResponseBytes} bytes` });
      const url = new URL(hop.url);
      url.hash = "";
      return { status: response.statusCode, statusText: response.statusText ?? "", headers: pairs(raw), url: url.href, redirected: place.redirects > 0, body: body.value };
    }
  }

  // Closing twice is harmless, as for the service's other parts (undici's
  // Agent throws ClientDestroyedError on a second close).
  let closing: Promise<void> | null = null;
  return { fetch, bufferedBytes: () => budget.held(), close: () => (closing ??= agent.close()) };
}

/** The script's request as the first hop, or the FetchError that refuses it before anything is opened. */
function firstHop(request: HostFetchRequest, maxRequestBodyBytes: number): Hop {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch (error) {
    throw new FetchError("egress_denied", "fetch was refused: the URL is not valid", { cause: error });
  }
  if (!isFetchableScheme(url)) throw new FetchError("egress_denied", `fetch to a ${url.protocol} URL was refused: only http: and https: are allowed`);
  const place: FetchPlace = { origin: url.origin, redirects: 0 };
  if (!METHOD.test(request.method) || FORBIDDEN_METHODS.has(request.method.toUpperCase())) {
    throw fetchFailure("egress_denied", place, { detail: "was refused: the method is not one fetch may send" });
  }
  if (request.body && request.body.byteLength > maxRequestBodyBytes) {
    throw fetchFailure("egress_too_large", place, { detail: `was refused: the request body is larger than ${maxRequestBodyBytes} bytes` });
  }
  return { method: request.method, url, headers: request.headers, body: request.body };
}

/** All values of `name` in raw header pairs, comma-joined as fetch's Headers.get does; null when absent. */
function headerValue(raw: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) value = value === null ? (raw[i + 1] as string) : `${value}, ${raw[i + 1] as string}`;
  }
  return value;
}

/** Raw header pairs as the response's [name, value] list, names lowercased as fetch's Headers keeps them. */
function pairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([(raw[i] as string).toLowerCase(), raw[i + 1] as string]);
  return out;
}
