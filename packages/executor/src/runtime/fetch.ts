/**
 * `fetch`, INSIDE the isolate: the request is made by the host (under the
 * egress policy, see run-fetch.ts), which answers the whole response as
 * copied data. The isolate never holds a socket. A refused or failed fetch
 * rejects with a TypeError carrying the host's `code`.
 */
import { bytesToBase64, base64ToBytes } from "./base64.ts";
import { decodeReply, host } from "./bridge.ts";
import { headerList } from "./headers.ts";
import { Request, requestParts, type RequestInit } from "./request.ts";
import { networkResponse, type Response } from "./response.ts";

/** The host's answer, as it crosses (body as base64). */
interface WireResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  url: string;
  redirected: boolean;
  body: string;
}

// Ids name a fetch in flight to the host, for aborting it.
let nextId = 1;

/** Makes an HTTP request through the host; see the file comment. */
export async function fetch(input: Request | string | URL, init?: RequestInit | null): Promise<Response> {
  if (arguments.length === 0) throw new TypeError("fetch: 1 argument required");
  const request = new Request(input, init);
  const parts = requestParts(request);
  const { signal } = parts;
  if (signal.aborted) throw signal.reason;
  const scheme = parts.url.slice(0, parts.url.indexOf(":"));
  if (scheme !== "http" && scheme !== "https") throw new TypeError(`fetch: the ${scheme}: scheme is not supported; use http or https`);
  const id = nextId++;
  const bridge = host();
  const wire = JSON.stringify({
    id,
    method: parts.method,
    url: parts.url,
    headers: headerList(parts.headers),
    body: parts.body === null ? null : bytesToBase64(parts.body),
    redirect: parts.redirect,
  });
  const answer = bridge.call("fetch", wire);
  const reply = await new Promise<string>((resolve, reject) => {
    const onAbort = () => {
      bridge.notify("fetch.abort", String(id));
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    answer.then(
      (text) => {
        signal.removeEventListener("abort", onAbort);
        resolve(text);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
  const decoded = decodeReply(reply);
  if (!decoded.ok) {
    const error = new TypeError(decoded.message);
    Object.defineProperty(error, "code", { value: decoded.code, writable: true, configurable: true, enumerable: true });
    bridge.tagError(error, decoded.code, decoded.retryable);
    throw error;
  }
  const value = decoded.value as WireResponse;
  return networkResponse({ ...value, body: base64ToBytes(value.body) ?? new Uint8Array(0) });
}
