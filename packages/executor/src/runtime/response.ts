/**
 * `Response` (the Fetch Standard's), INSIDE the isolate: what `fetch`
 * answers, and what a script may build itself.
 */
import { Body, bodyUsed, extractBody, peekBody, setBody, type BodyInit } from "./body.ts";
import { Headers, copyHeaders, immutableHeaders, type HeadersInit } from "./headers.ts";
import { utf8Encode } from "./encoding.ts";
import { parseUrl } from "./url.ts";

/** `new Response(body, init)` options. */
export interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

interface ResponseState {
  status: number;
  statusText: string;
  headers: Headers;
  url: string;
  redirected: boolean;
  type: "default" | "basic" | "error";
}

const responses = new WeakMap<object, ResponseState>();
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

function stateOf(response: unknown): ResponseState {
  const state = responses.get(response as object);
  if (!state) throw new TypeError("Illegal invocation: not a Response");
  return state;
}

/** An HTTP response. */
export class Response extends Body {
  constructor(body?: BodyInit | null, init?: ResponseInit | null) {
    super();
    const status = init?.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`Response: status ${String(init?.status)} is not in the range 200 to 599`);
    const statusText = init?.statusText === undefined ? "" : String(init.statusText);
    if (/[^\t\u0020-\u007e\u0080-\u00ff]/.test(statusText)) throw new TypeError("Response: invalid statusText");
    const headers = new Headers(init?.headers);
    let bytes: Uint8Array | null = null;
    if (body !== undefined && body !== null) {
      if (NULL_BODY_STATUS.has(status)) throw new TypeError(`Response: a ${status} response cannot have a body`);
      const extracted = extractBody(body);
      bytes = extracted.bytes;
      if (extracted.type !== null && !headers.has("content-type")) headers.set("content-type", extracted.type);
    }
    responses.set(this, { status, statusText, headers, url: "", redirected: false, type: "default" });
    setBody(this, bytes, headers);
  }

  /** A network error response (status 0). */
  static error(): Response {
    const response = new Response(null);
    const state = stateOf(response);
    state.status = 0;
    state.type = "error";
    state.headers = immutableHeaders([]);
    setBody(response, null, state.headers);
    return response;
  }

  /** A redirect to `url` with `status` (301, 302, 303, 307 or 308). */
  static redirect(url: unknown, status = 302): Response {
    const location = parseUrl(String(url)).href;
    if (!REDIRECT_STATUS.has(status)) throw new RangeError(`Response.redirect: ${status} is not a redirect status`);
    const response = new Response(null, { status });
    response.headers.set("location", location);
    return response;
  }

  /** A response whose body is `data` as JSON. */
  static json(data: unknown, init?: ResponseInit | null): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Response.json: the value is not JSON-serializable");
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(utf8Encode(text), { ...init, headers });
  }

  get status(): number {
    return stateOf(this).status;
  }
  get ok(): boolean {
    const { status } = stateOf(this);
    return status >= 200 && status <= 299;
  }
  get statusText(): string {
    return stateOf(this).statusText;
  }
  get headers(): Headers {
    return stateOf(this).headers;
  }
  get url(): string {
    return stateOf(this).url;
  }
  get redirected(): boolean {
    return stateOf(this).redirected;
  }
  get type(): string {
    return stateOf(this).type;
  }
  clone(): Response {
    if (bodyUsed(this)) throw new TypeError("Response.clone: the body has already been read");
    const state = stateOf(this);
    const copy = new Response(null);
    const headers = state.type === "basic" ? immutableHeaders(state.headers) : copyHeaders(state.headers);
    responses.set(copy, { ...state, headers });
    setBody(copy, peekBody(this), headers);
    return copy;
  }
  get [Symbol.toStringTag](): string {
    return "Response";
  }
}

/** What the host answered for a fetch, as a Response whose headers the script cannot change. */
export function networkResponse(parts: { status: number; statusText: string; headers: Array<[string, string]>; url: string; redirected: boolean; body: Uint8Array }): Response {
  const response = new Response(null);
  const headers = immutableHeaders(parts.headers);
  responses.set(response, { status: parts.status, statusText: parts.statusText, headers, url: parts.url, redirected: parts.redirected, type: "basic" });
  setBody(response, NULL_BODY_STATUS.has(parts.status) ? null : parts.body, headers);
  return response;
}
