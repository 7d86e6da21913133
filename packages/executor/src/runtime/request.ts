/**
 * `Request` (the Fetch Standard's, as a script builds one for `fetch`),
 * INSIDE the isolate.
 */
import { AbortController, AbortSignal } from "./abort.ts";
import { Body, bodyUsed, extractBody, peekBody, setBody, type BodyInit } from "./body.ts";
import { Headers, copyHeaders, type HeadersInit } from "./headers.ts";
import { parseUrl } from "./url.ts";

/** `new Request(input, init)` options. */
export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  redirect?: string;
  signal?: AbortSignal | null;
}

const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"]);
const FORBIDDEN = new Set(["CONNECT", "TRACE", "TRACK"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECTS = new Set(["follow", "manual", "error"]);

interface RequestState {
  method: string;
  url: string;
  headers: Headers;
  redirect: "follow" | "manual" | "error";
  signal: AbortSignal;
}

const requests = new WeakMap<object, RequestState>();

function stateOf(request: unknown): RequestState {
  const state = requests.get(request as object);
  if (!state) throw new TypeError("Illegal invocation: not a Request");
  return state;
}

function normalizeMethod(method: unknown): string {
  const text = String(method);
  if (!TOKEN.test(text)) throw new TypeError(`Request: ${JSON.stringify(text)} is not a valid method`);
  const upper = text.toUpperCase();
  if (FORBIDDEN.has(upper)) throw new TypeError(`Request: the method ${upper} is forbidden`);
  return NORMALIZED.has(upper) ? upper : text;
}

/** An HTTP request. */
export class Request extends Body {
  constructor(input: Request | string | URL, init?: RequestInit | null) {
    super();
    if (arguments.length === 0) throw new TypeError("Request: 1 argument required");
    const from = input instanceof Request ? stateOf(input) : null;
    let url: string;
    if (from) url = from.url;
    else {
      let parsed: URL;
      try {
        parsed = parseUrl(String(input));
      } catch {
        throw new TypeError(`Request: ${JSON.stringify(String(input))} is not an absolute URL`);
      }
      // The Fetch standard's rule (and its wording in browsers); the URL is not echoed, it holds the credentials.
      // The host refuses such a URL too (run-fetch.ts): a script can patch URL.prototype's getters.
      if (parsed.username !== "" || parsed.password !== "") {
        throw new TypeError("Request cannot be constructed from a URL that includes credentials; send them in an Authorization header");
      }
      url = parsed.href;
    }
    const options = init ?? {};
    const method = options.method !== undefined ? normalizeMethod(options.method) : (from?.method ?? "GET");
    const redirect = options.redirect !== undefined ? String(options.redirect) : (from?.redirect ?? "follow");
    if (!REDIRECTS.has(redirect)) throw new TypeError(`Request: redirect must be "follow", "manual" or "error", not ${JSON.stringify(redirect)}`);
    const given = options.signal;
    if (given !== undefined && given !== null && !(given instanceof AbortSignal)) throw new TypeError("Request: signal must be an AbortSignal");
    const parent = given ?? from?.signal ?? null;
    const signal = parent ? AbortSignal.any([parent]) : new AbortController().signal;
    const headers = options.headers !== undefined ? new Headers(options.headers) : from ? copyHeaders(from.headers) : new Headers();
    let bytes: Uint8Array | null = null;
    if (options.body !== undefined && options.body !== null) {
      if (method === "GET" || method === "HEAD") throw new TypeError("Request: a GET or HEAD request cannot have a body");
      const extracted = extractBody(options.body);
      bytes = extracted.bytes;
      if (extracted.type !== null && !headers.has("content-type")) headers.set("content-type", extracted.type);
    } else if (input instanceof Request) {
      if (bodyUsed(input)) throw new TypeError("Request: the input request's body has already been read");
      bytes = peekBody(input);
    }
    requests.set(this, { method, url, headers, redirect: redirect as RequestState["redirect"], signal });
    setBody(this, bytes, headers);
  }
  get method(): string {
    return stateOf(this).method;
  }
  get url(): string {
    return stateOf(this).url;
  }
  get headers(): Headers {
    return stateOf(this).headers;
  }
  get redirect(): string {
    return stateOf(this).redirect;
  }
  get signal(): AbortSignal {
    return stateOf(this).signal;
  }
  get credentials(): string {
    return "same-origin";
  }
  get cache(): string {
    return "default";
  }
  get mode(): string {
    return "cors";
  }
  clone(): Request {
    if (bodyUsed(this)) throw new TypeError("Request.clone: the body has already been read");
    return new Request(this);
  }
  get [Symbol.toStringTag](): string {
    return "Request";
  }
}

/** What fetch sends to the host for `request`. */
export function requestParts(request: Request): RequestState & { body: Uint8Array | null } {
  return { ...stateOf(request), body: peekBody(request) };
}
